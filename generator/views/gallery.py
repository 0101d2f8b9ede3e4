"""The team gallery's pages: one keyset page of cards under the filters, the next page for the
"load more" sentinel, and the answer that puts new cards at the top of the grid. The live poller
is in poll.py, one image's view and actions in images.py."""

from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from ..access import team_access, team_context
from ..cursors import LIVE_OVERLAP, make_cursor, make_live_token, read_cursor
from ..forms import GalleryFilters
from ..models import Job

PAGE_SIZE = 24
POLL_SECONDS = 2
EXAMPLE_PROMPTS = (
    "A lighthouse on a cliff at dawn, watercolour",
    "Isometric cutaway of a tiny coffee shop, soft light",
    "Product photo of a ceramic mug on linen, 50 mm",
)


def _recent(jobs, now):
    return {job.code for job in jobs if job.created_at >= now - LIVE_OVERLAP}


def gallery_context(request, cursor_token=None):
    """What the gallery partial needs: one page of cards under the request's filters."""
    membership = request.membership
    team, user = membership.team, request.user
    now = timezone.now()
    filters = GalleryFilters(request.GET)
    cursor = read_cursor(cursor_token)
    page = filters.apply(Job.objects.gallery(team, user), user).keyset_page(cursor, PAGE_SIZE)
    jobs, next_cursor = page[0], (make_cursor(page[0][-1]) if page[1] else None)
    # The last card of the page before, so a batch that page ended in can continue.
    previous = (
        Job.objects.filter(team=team, pk=cursor[1]).only("generation", "parent", "button").first()
        if cursor and jobs
        else None
    )
    # "Nothing yet" (explain the next step) differs from "nothing matches" (clear the filters).
    empty_team = (
        not jobs
        and not cursor
        and (
            not filters.active or not Job.objects.kept().filter(team=team, dismissed=False).exists()
        )
    )
    query = filters.query
    return team_context(
        request,
        filters=filters,
        filter_query=f"?{query}" if query else "",
        filters_param=query,
        jobs=jobs,
        previous=previous,
        cursor=cursor,
        next_cursor=next_cursor,
        next_query=urlencode([*filters.items(), ("before", next_cursor)]) if next_cursor else "",
        polling=any(job.is_pending for job in jobs),
        # A page of older images stays as it is; the newest page takes in new cards.
        live_since=None if cursor else make_live_token(now, _recent(jobs, now)),
        empty_team=empty_team,
        poll_seconds=POLL_SECONDS,
        slow_poll_seconds=settings.GALLERY_SLOW_POLL_SECONDS,
        can_generate=membership.can_edit and team.has_credentials,
        example_prompts=EXAMPLE_PROMPTS,
        studio_url=reverse("studio", args=[team.code]),
    )


def filters_of(request):
    """GET requests carry the filters in the querystring; POST forms carry that querystring
    in a hidden `filters` field, so the page they return to keeps them."""
    if request.method == "GET":
        return GalleryFilters(request.GET)
    return GalleryFilters(QueryDict(request.POST.get("filters", "")))


def team_job(team, code, **extra):
    return get_object_or_404(
        Job.objects.kept().select_related("generation", "author"),
        team=team,
        code=code,
        **extra,
    )


def _studio_url(team, request):
    """The studio, with the filters the posting page had (re-validated, never echoed raw)."""
    url = reverse("studio", args=[team.code])
    query = filters_of(request).query
    return f"{url}?{query}" if query else url


# --- gallery pages ---------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@require_GET
@login_required
def gallery_page(request, team_code):
    """The next page of cards (the "load more" sentinel asks for it when scrolled into view)."""
    membership = team_access(request, team_code)
    if not request.htmx:
        # The sentinel's href is the full studio page at that cursor; this is its htmx twin.
        url = reverse("studio", args=[membership.team.code])
        return redirect(f"{url}?{request.GET.urlencode()}")
    context = gallery_context(request, request.GET.get("before"))
    # A page that starts inside the last batch on screen adds its cards to that batch.
    context["appending"] = True
    response = render(request, "generator/studio.html#page", context)
    if context["polling"]:
        # The poller follows this page's pending cards too, from its next answer on.
        trigger_client_event(response, "poll-now", after="settle")
    return response


def new_cards_response(request, new_jobs, main="", gone=()):
    """An htmx answer that puts `new_jobs` at the top of the grid and removes the cards
    `gone`; `main` is the swap of the element that made the request. The page's poller is
    asked to poll at once, so it follows the new pending cards from now on."""
    # The cards' links keep the filters of the page they land on.
    page = urlsplit(request.htmx.current_url_abs_path or "")
    query = GalleryFilters(QueryDict(page.query)).query
    context = team_context(
        request,
        gone=gone,
        new_jobs=new_jobs,
        filter_query=f"?{query}" if query else "",
        filters_param=query,
    )
    extra = render_to_string("generator/studio.html#new-cards", context, request=request)
    response = HttpResponse(main + extra)
    trigger_client_event(response, "poll-now", after="settle")
    return response
