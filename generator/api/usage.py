"""GET /usage: the usage page's figures for the token's team, as its caller may see them."""

from ninja import Router

from .. import budgets
from ..models import Scope
from ..usage import MONTHS, build_report
from .problems import Problem
from .schemas import UsageOut, usage_out

router = Router(tags=["usage"])


@router.get("/usage", response=UsageOut, url_name="usage")
def get_usage(request, month: str = "current"):
    """`month`: current or previous. Admins (and admin tokens) see every member's row; others
    see the team's totals and their own row, as on the page."""
    caller = request.auth
    caller.require(Scope.READ)
    if month not in MONTHS:
        raise Problem(422, "Choose the current or the previous month.")
    team = caller.team
    membership = caller.membership
    report = build_report(team, MONTHS[month], only_member=None)
    if not membership.is_admin:
        if caller.user is not None:
            report = build_report(team, MONTHS[month], only_member=caller.user)
        else:
            # A service token below admin names nobody: the per-person breakdowns go.
            report.sections = [s for s in report.sections if s.slug not in ("member", "token")]
    token_used = budgets.spent(team, api_token=caller.token)
    token_usage = budgets.Usage(token_used, caller.token.monthly_cap, report.month_label)
    return usage_out(report, budgets.team_usage(team), token_usage)
