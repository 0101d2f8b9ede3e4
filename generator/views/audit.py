"""The team's audit log, for owners and admins: filter by action, person and dates."""

import datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ..access import team_access, team_context
from ..forms import AuditFilterForm
from ..models import AuditEntry, Role

PAGE_SIZE = 50


def _day_start(day, zone):
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)


def _show(value):
    """A detail value as text; [old, new] pairs read as "old → new"."""
    if isinstance(value, list) and len(value) == 2:
        old, new = ("—" if v in (None, "") else v for v in value)
        return f"{old} → {new}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "—" if value in (None, "") else str(value)


@require_GET
@login_required
def audit_log(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    form = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.filter(team=team).select_related("actor")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["actor"]:
            entries = entries.filter(actor_email__icontains=data["actor"].strip())
        # Dates are the team's calendar days, like its budgets' months.
        if data["since"]:
            entries = entries.filter(created_at__gte=_day_start(data["since"], team.zone()))
        if data["until"]:
            next_day = data["until"] + datetime.timedelta(days=1)
            entries = entries.filter(created_at__lt=_day_start(next_day, team.zone()))
    elif form.is_bound:
        entries = entries.none()
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.detail_rows = [(k.replace("_", " "), _show(v)) for k, v in entry.details.items()]
    query = request.GET.copy()
    query.pop("page", None)
    context = team_context(
        request, form=form, page=page, filter_query=query.urlencode(), zone=team.zone()
    )
    return render(request, "generator/audit.html", context)
