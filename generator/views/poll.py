"""The gallery's live poller: one request a page for everything that changed in the team's
gallery since the page's last answer."""

import uuid

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRefresh

from ..access import team_access, team_context
from ..cursors import LIVE_OVERLAP, make_live_token, read_live_token
from ..forms import GalleryFilters
from ..models import CardRemoval, Job
from .gallery import PAGE_SIZE, POLL_SECONDS

# A poll names the pending cards it shows; more than a few pages of them is not a real page.
MAX_POLLED = 200


@never_cache
@require_GET
@login_required
def poll(request, team_code):
    """One request a page, for everything that changed in the team's gallery.

    The page sends `pending=<code>.<state>` for each card it shows as pending, its filters,
    and `since`, the signed cursor of its last answer. The answer is out-of-band swaps: the
    cards whose state moved (or that are gone), the team's new cards that match the filters,
    and a fresh poller that carries the next cursor, the codes removed since the last one
    (CardRemoval), and its interval: every 2 s while anything on the page is pending, else
    a slow check. With nothing new that check costs two indexed queries after the team's.
    """
    membership = team_access(request, team_code)
    team, user = membership.team, request.user
    now = timezone.now()
    live = read_live_token(request.GET.get("since"))
    if live and live[0] < now - CardRemoval.KEEP:
        # Removals that old are pruned: the page cannot be brought up to date, only reloaded.
        return HttpResponseClientRefresh()
    known = {}
    for token in request.GET.getlist("pending")[:MAX_POLLED]:
        code, _, state = token.partition(".")
        try:
            known[uuid.UUID(code)] = state
        except ValueError:
            continue
    filters = GalleryFilters(request.GET)
    jobs = {}
    if known:
        # Found by code alone (its unique index), the team checked here: with the team in the
        # WHERE clause, SQLite without ANALYZE statistics walks the team's whole gallery index
        # instead (tests/benchmarks/gallery.py measures it). Another team's job is "gone".
        found = Job.objects.filter(code__in=known).for_cards(request.user)
        jobs = {
            job.code: job
            for job in found
            if job.team_id == team.pk and not job.dismissed and job.trashed_at is None
        }
    changed = [job for code, job in jobs.items() if job.state != known[code]]
    gone = [code for code in known if code not in jobs]
    new_jobs, removed, live_since = [], [], None
    if live:
        stamp, seen = live
        start = stamp - LIVE_OVERLAP
        recent = list(
            filters.apply(Job.objects.kept().filter(team=team, dismissed=False), user)
            .filter(created_at__gte=start)
            .order_by("-created_at", "-id")
            .values_list("code", "created_at")[:MAX_POLLED]
        )
        fresh = [code for code, _ in recent if code not in seen and code not in known]
        if fresh:
            new_jobs = list(
                Job.objects.gallery(team, user)
                .filter(code__in=fresh[:PAGE_SIZE])
                .order_by("-created_at", "-id")
            )
        removed = [code for code in CardRemoval.objects.since(team, start) if code not in gone]
        live_since = make_live_token(
            now, {code for code, created in recent if created >= now - LIVE_OVERLAP}
        )
    query = filters.query
    context = team_context(
        request,
        changed=changed,
        gone=gone,
        new_jobs=new_jobs,
        removed=removed,
        live_since=live_since,
        polling=any(job.is_pending for job in [*jobs.values(), *new_jobs]),
        filter_query=f"?{query}" if query else "",
        filters_param=query,
        poll_seconds=POLL_SECONDS,
        slow_poll_seconds=settings.GALLERY_SLOW_POLL_SECONDS,
    )
    return render(request, "generator/studio.html#poll-response", context)
