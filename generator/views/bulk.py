"""Actions on many images at once: the studio's selection (chosen cards, or every image the
gallery's filter matches) starred, tagged, put on a board or deleted, in one transaction."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from .. import audit
from ..access import team_access, team_context
from ..forms import GalleryFilters
from ..models import Board, Favourite, Job, State, Tag, clean_tag_name
from ..trash import move_to_trash
from .gallery import _studio_url, filters_of

# A selection of chosen cards is what a person loaded and ticked; more is "all matching".
MAX_CODES = 2000
# An audit entry lists at most this many of the images it speaks of (and counts them all).
AUDIT_CODES = 100
ACTIONS = {
    "star": "Favourite",
    "unstar": "Unfavourite",
    "tag": "Tag",
    "board": "Add to board",
    "delete": "Delete",
}
# Personal, so viewers may use them; the others change the team's images.
PERSONAL = {"star", "unstar"}


def parse_codes(values):
    """The valid UUIDs among posted `values` (at most MAX_CODES of them), as UUIDs."""
    codes = []
    for value in values[:MAX_CODES]:
        try:
            codes.append(uuid.UUID(value))
        except ValueError:
            continue
    return codes


def selected_images(request, team):
    """The finished images a bulk request names: `codes` (the cards ticked on the page), or,
    with `all=1`, every image the posted gallery filter (`filters`, a querystring) matches,
    loaded or not. A QuerySet of the team's done jobs."""
    jobs = Job.objects.kept().filter(team=team, dismissed=False, state=State.DONE)
    if request.POST.get("all") == "1":
        return filters_of(request).apply(jobs, request.user)
    return jobs.filter(code__in=parse_codes(request.POST.getlist("codes")))


def _audit_others(request, team, action, jobs, **details):
    """One entry for a bulk change, when it touched other people's images."""
    others = [job for job in jobs if job.author_id != request.user.pk]
    if others:
        audit.record(
            request.user,
            team,
            action,
            target=_plural(len(others)),
            images=[str(job.code) for job in others[:AUDIT_CODES]],
            **details,
        )


def _plural(count, word="image"):
    return f"{count} {word}{'' if count == 1 else 's'}"


@vary_on_headers("HX-Request")
@require_POST
@login_required
def bulk(request, team_code):
    """Apply `action` to the selection (see `selected_images`). Answers htmx with the bulk
    bar's status line and out-of-band updates of the cards on the page (stars, removed
    cards); without JavaScript, a redirect to the studio with the same filters."""
    membership = team_access(request, team_code)
    team, user = membership.team, request.user
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        return HttpResponse(
            "Choose what to do with the selection.", status=400, content_type="text/plain"
        )
    if action not in PERSONAL and not membership.can_edit:
        raise PermissionDenied("Viewers can star and download images, not change them.")
    error, message, starred, gone = "", "", None, []
    with transaction.atomic():
        jobs = list(selected_images(request, team).select_related("generation", "author"))
        if not jobs:
            error = "Nothing selected: no finished image matches."
        elif action in PERSONAL:
            starred = action == "star"
            if starred:
                Favourite.objects.bulk_create(
                    [Favourite(user=user, job=job) for job in jobs], ignore_conflicts=True
                )
            else:
                Favourite.objects.filter(user=user, job__in=jobs).delete()
            verb = "Added" if starred else "Removed"
            message = f"{verb} {_plural(len(jobs))} {'to' if starred else 'from'} your favourites."
        elif action == "tag":
            name = clean_tag_name(request.POST.get("tag"))
            if not name:
                error = "Type a tag to add."
            else:
                tag = Tag.objects.named(team, name)
                added = tag.add_jobs(jobs, user)
                _audit_others(request, team, audit.AuditAction.IMAGE_TAGS, added, added=tag.name)
                message = f"Tagged {_plural(len(added))} “{tag.name}”."
                if len(added) < len(jobs):
                    message += f" {_plural(len(jobs) - len(added))} had it already."
        elif action == "board":
            board = Board.objects.filter(team=team, code=_uuid(request.POST.get("board"))).first()
            if board is None:
                error = "Choose a board."
            else:
                added = board.add_jobs(jobs, user)
                _audit_others(
                    request, team, audit.AuditAction.BOARD_IMAGES, added, board=board.name
                )
                message = f"Put {_plural(len(added))} on “{board.name}”."
                if len(added) < len(jobs):
                    left = len(jobs) - len(added)
                    message += f" {_plural(left)} {'was' if left == 1 else 'were'} on it already."
        else:
            allowed = [job for job in jobs if membership.may_delete(job)]
            gone = move_to_trash(user, team, allowed)
            skipped = len(jobs) - len(gone)
            message = f"Moved {_plural(len(gone))} to the trash."
            if skipped:
                message += (
                    f" Skipped {_plural(skipped)}: only an image's author or a team admin "
                    "can delete it."
                )
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, message)
        return redirect(_studio_url(team, request))
    context = team_context(request, bulk_message=error or message, bulk_error=bool(error))
    html = render_to_string("generator/studio.html#bulk-status", context, request)
    shown = set(parse_codes(request.POST.getlist("codes")))
    if starred is not None:
        for job in jobs:
            if job.code in shown:
                job.starred = starred
                html += render_to_string(
                    "generator/_star.html",
                    {"team": team, "job": job, "place": "card", "oob": True},
                    request,
                )
    if gone:
        # Only cards this page shows: the rest are removed by teammates' pollers (tombstones).
        html += render_to_string(
            "generator/studio.html#removed",
            {"gone": [job.code for job in gone if job.code in shown]},
        )
    response = HttpResponse(html)
    if not error:
        trigger_client_event(response, "bulk:done")
    return response


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@require_GET
@login_required
def bulk_count(request, team_code):
    """How many finished images the page's filter (`filters`, a querystring) matches: "select
    all matching" then applies the action to all of them on the server."""
    membership = team_access(request, team_code)
    filters = GalleryFilters(QueryDict(request.GET.get("filters", "")))
    jobs = Job.objects.kept().filter(team=membership.team, dismissed=False, state=State.DONE)
    count = filters.apply(jobs, request.user).count()
    context = team_context(request, match_count=count, filters_param=filters.query)
    return render(request, "generator/studio.html#bulk-all", context)
