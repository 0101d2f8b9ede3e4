"""A team's usage page and its CSV export.

Who sees what: every member of the team may open the page (viewers included: they see what
the team spends). Owners and admins see every member's row; members and viewers see the team's
totals (by day, mode and resolution, which name nobody) and their own member row only, so
one person's spending is not shown to their peers. The CSV holds exactly the rows the same
person sees on the page.
"""

import csv

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import team_access, team_context
from ..usage import MONTHS, akool_balance, build_report

# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _months_back(request):
    """(months_back, error): the ?month= choice, or an error sentence for a value we do not know."""
    value = request.GET.get("month", "current")
    if value in MONTHS:
        return MONTHS[value], ""
    return None, "Choose the current or the previous month."


def _report_for(request, months_back):
    """The month's report as the caller may see it (module docstring)."""
    membership = request.membership
    only = None if membership.is_admin else membership.user
    return build_report(membership.team, months_back, only_member=only)


def _safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@require_GET
@login_required
def usage(request, team_code):
    team = team_access(request, team_code).team
    months_back, error = _months_back(request)
    status = 200
    if error:
        # Show the current month with the reason, rather than a bare error page.
        months_back, status = 0, 400
    context = team_context(
        request,
        report=_report_for(request, months_back),
        month="previous" if months_back else "current",
        month_error=error,
        balance=akool_balance(team),
        storage=team.storage_used(),
    )
    return render(request, "generator/usage.html", context, status=status)


@require_GET
@login_required
def usage_csv(request, team_code):
    team_access(request, team_code)
    months_back, error = _months_back(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    report = _report_for(request, months_back)
    month = report.start.strftime("%Y-%m")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="usage-{month}.csv"'
    writer = csv.writer(response)
    for row in report.csv_rows():
        writer.writerow([_safe_cell(cell) for cell in row])
    return response
