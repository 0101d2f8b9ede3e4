"""Monthly credit budgets (per team, per member) and the team's role rules.

A job counts against the month it was created in (the team's calendar month, see
`Team.month_window`): its real `deduction_credit` once Akool reported it, else the
`estimated_credit` reserved when it was made. A job that failed without Akool charging for it
counts nothing.

`reserve()` is the one check every costly start goes through. It locks the team's row, so two
submits racing for the last credits are serialised: the second one sees the first one's jobs
(committed by then) and is refused. The caller must create its jobs in the same transaction.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import IntegerField, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import ROLE_RANK, Job, Membership, Mode, Resolution, Role, State, Team

WARN_AT_PERCENT = 80


class BudgetExceeded(ValueError):
    """A start that would go over a budget; the message says which one and by how much."""


class RoleNotAllowed(ValueError):
    """A start that uses an option the person's role may not use."""


def _charged(jobs):
    """Credits the jobs count for: charged, or reserved while the charge is not known."""
    counted = jobs.exclude(state=State.FAILED, deduction_credit__isnull=True)
    charge = Coalesce("deduction_credit", "estimated_credit", output_field=IntegerField())
    total = counted.aggregate(total=Sum(charge))
    return total["total"] or 0


def spent(team, user=None, when=None, api_token=None):
    """Credits spent or reserved in `team` this month (by `user` only, or through `api_token`
    only, when given)."""
    start, end = team.month_window(when)
    jobs = Job.objects.filter(team=team, created_at__gte=start, created_at__lt=end)
    if user is not None:
        jobs = jobs.filter(author=user)
    if api_token is not None:
        jobs = jobs.filter(api_token=api_token)
    return _charged(jobs)


@dataclass
class Usage:
    used: int
    limit: int | None
    month: str

    @property
    def left(self):
        return None if self.limit is None else max(self.limit - self.used, 0)

    @property
    def percent(self):
        if not self.limit:
            return None if self.limit is None else 100
        return round(100 * self.used / self.limit)

    @property
    def warn(self):
        return self.limit is not None and self.percent >= WARN_AT_PERCENT


def _month_name(team, when=None):
    start, _ = team.month_window(when)
    return start.strftime("%B")


def team_usage(team, when=None):
    return Usage(spent(team, when=when), team.monthly_budget, _month_name(team, when))


def member_usage(membership, when=None):
    team = membership.team
    return Usage(
        spent(team, membership.user, when=when), membership.monthly_cap, _month_name(team, when)
    )


def reserve(team, author, cost, api_token=None):
    """Check that `cost` more credits fit this month's team budget, `author`'s cap and the cap
    of the `api_token` the request came through.

    Locks the team row until the surrounding transaction ends: the caller creates its jobs
    before committing, so they are counted by whoever takes the lock next. Returns the freshly
    read team; raises BudgetExceeded with a sentence for the person.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("reserve() must run inside the transaction that creates the jobs")
    # Fresh values from the locked row: an admin may have just changed the budget.
    team = Team.objects.select_for_update().get(pk=team.pk)
    now = timezone.now()
    month = _month_name(team, now)
    if team.monthly_budget is not None:
        used = spent(team, when=now)
        if used + cost > team.monthly_budget:
            raise BudgetExceeded(
                f"This needs {_credits(cost)} but the team's {month} budget has "
                f"{max(team.monthly_budget - used, 0)} left ({used} of {team.monthly_budget} "
                f"used). Ask an owner or admin to raise the budget, or wait for next month."
            )
    if api_token is not None and api_token.monthly_cap is not None:
        cap = api_token.monthly_cap
        used = spent(team, when=now, api_token=api_token)
        if used + cost > cap:
            raise BudgetExceeded(
                f"This needs {_credits(cost)} but the {month} cap of the API token "
                f"“{api_token.name}” has {max(cap - used, 0)} left ({used} of {cap} used). "
                f"Ask an owner or admin to raise the token's cap."
            )
    if author is None:
        return team
    cap = Membership.objects.filter(team=team, user=author).values_list("monthly_cap", flat=True)
    cap = cap.first()
    if cap is not None:
        used = spent(team, author, when=now)
        if used + cost > cap:
            raise BudgetExceeded(
                f"This needs {_credits(cost)} but your own {month} cap in this team has "
                f"{max(cap - used, 0)} left ({used} of {cap} used). Ask an owner or admin to "
                f"raise your cap."
            )
    return team


def _credits(value):
    return f"{value} credit{'' if value == 1 else 's'}"


# --- role rules ------------------------------------------------------------------------------

RULES = (
    # (team field, form field it concerns, what it allows)
    ("min_role_4k", "resolution", "4K images"),
    ("min_role_batch", "batch", "more than one image at a time"),
    ("min_role_i2i", "mode", "image to image"),
)


def allowed(team, role, rule):
    """Whether `role` may use what the team's `rule` field (e.g. "min_role_4k") guards."""
    needed = getattr(team, rule)
    return role is not None and ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]


def rule_message(team, rule, what):
    needed = Role(getattr(team, rule)).label.lower()
    return f"In {team.name}, {what} needs the {needed} role or higher."


def role_problems(team, role, resolution=None, batch=1, mode=None, button=""):
    """[(form field, sentence)] for each option the role may not use; empty when all is fine.

    A U button is a 4K upscale, so it falls under the 4K rule."""
    uses = {
        "min_role_4k": resolution == Resolution.UHD or button.startswith("U"),
        "min_role_batch": (batch or 1) > 1,
        "min_role_i2i": mode == Mode.IMAGE,
    }
    return [
        (field, rule_message(team, rule, what))
        for rule, field, what in RULES
        if uses[rule] and not allowed(team, role, rule)
    ]


def check_roles(team, author, api_token=None, **uses):
    """Defence in depth for starts outside the form. Rules left at their default (members and
    up) are already guaranteed by the views' role check, so only raised rules are looked at.
    A team service token acts with its own role; a personal token with its person's."""
    if all(getattr(team, rule) == Role.MEMBER for rule, _, _ in RULES):
        return
    if api_token is not None and not api_token.is_personal:
        role = api_token.role
    else:
        role = team.role_of(author) if author is not None else None
    problems = role_problems(team, role, **uses)
    if problems:
        raise RoleNotAllowed(problems[0][1])


def restricted_options(team, role):
    """{form field: sentence} for the options the role may not use, for marking the form."""
    return {
        field: rule_message(team, rule, what)
        for rule, field, what in RULES
        if not allowed(team, role, rule)
    }
