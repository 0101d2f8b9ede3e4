"""The team's trash page: what was deleted, restoring it (one or many), and emptying it.

Who may restore follows who may delete (`membership.may_delete`): your own images as a
member, any as an admin. Emptying the trash is for admins, and asks for a confirmation.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .. import trash
from ..access import team_access, team_context
from ..models import Job, Role
from .bulk import parse_codes

# One page lists this many, the most recently deleted first; older ones wait their turn.
PAGE_SIZE = 200


@require_GET
@login_required
def trash_list(request, team_code):
    membership = team_access(request, team_code)
    team = membership.team
    jobs = list(
        Job.objects.in_trash()
        .filter(team=team)
        .select_related("generation", "author", "trashed_by")
        .order_by("-trashed_at", "-id")[: PAGE_SIZE + 1]
    )
    rows = [
        {
            "job": job,
            "may_restore": membership.may_delete(job),
            "purge_at": job.trashed_at + timedelta(days=team.trash_days),
        }
        for job in jobs[:PAGE_SIZE]
    ]
    context = team_context(
        request,
        rows=rows,
        more=len(jobs) > PAGE_SIZE,
        any_restorable=any(row["may_restore"] for row in rows),
        storage=team.storage_used(),
    )
    return render(request, "generator/trash.html", context)


@require_POST
@login_required
def trash_restore(request, team_code):
    """Restore the posted `codes` (one row's button, or the rows ticked)."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    codes = parse_codes(request.POST.getlist("codes"))
    with transaction.atomic():
        jobs = list(Job.objects.in_trash().filter(team=team, code__in=codes))
        allowed = [job for job in jobs if membership.may_delete(job)]
        restored = trash.restore(request.user, team, allowed)
    if not jobs:
        messages.error(request, "Nothing to restore: tick the images to bring back.")
    else:
        text = f"Restored {trash.plural(len(restored))} to the gallery."
        skipped = len(jobs) - len(restored)
        if skipped:
            text += (
                f" Skipped {trash.plural(skipped)}: only an image's author or a team admin "
                "can restore it."
            )
        messages.success(request, text)
    return redirect("trash_list", team.code)


@require_POST
@login_required
def trash_empty(request, team_code):
    """Purge everything in the trash now (admins), once confirmed."""
    membership = team_access(request, team_code, Role.ADMIN)
    team = membership.team
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the box to confirm that the images go for good.")
        return redirect("trash_list", team.code)
    count = trash.empty(request.user, team)
    if count:
        messages.success(request, f"Emptied the trash: {trash.plural(count)} removed for good.")
    else:
        messages.info(request, "The trash was already empty.")
    return redirect("trash_list", team.code)
