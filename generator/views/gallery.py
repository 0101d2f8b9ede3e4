"""The team gallery: keyset pages, the live poller, the image view and actions on an image."""

import uuid
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRefresh, reswap, trigger_client_event

from ..access import team_access, team_context
from ..forms import GalleryFilters
from ..models import (
    BUTTONS,
    SETTLED_UNWELL,
    Board,
    CardRemoval,
    Favourite,
    Job,
    Role,
    State,
    Tag,
)
from ..starters import retry, start_button
from ..trash import CHANGED_MEANWHILE, STILL_PENDING, move_to_trash
from .shares import share_form_for

PAGE_SIZE = 24
# A poll names the pending cards it shows; more than a few pages of them is not a real page.
MAX_POLLED = 200
POLL_SECONDS = 2
CURSOR_SALT = "generator.gallery-cursor"
LIVE_SALT = "generator.gallery-live"
# A job's created_at is stamped a moment before its row commits, so a poll looks back this far
# past its cursor; the cursor lists what it already sent from that stretch, and the page never
# inserts a card it shows already, so nothing arrives twice.
LIVE_OVERLAP = timedelta(seconds=30)
EXAMPLE_PROMPTS = (
    "A lighthouse on a cliff at dawn, watercolour",
    "Isometric cutaway of a tiny coffee shop, soft light",
    "Product photo of a ceramic mug on linen, 50 mm",
)


def make_cursor(job):
    return signing.dumps([job.created_at.isoformat(), job.pk], salt=CURSOR_SALT)


def read_cursor(token):
    """(created_at, id) from a cursor, or None when it is missing or not one of ours."""
    if not token:
        return None
    try:
        stamp, pk = signing.loads(token, salt=CURSOR_SALT)
        return datetime.fromisoformat(stamp), int(pk)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def make_live_token(stamp, seen=()):
    """The poller's "since" cursor: the moment it covers up to, and the codes it has sent
    from the overlap before that moment."""
    return signing.dumps([stamp.isoformat(), sorted(code.hex for code in seen)], salt=LIVE_SALT)


def read_live_token(token):
    """(stamp, set of codes) from a live cursor, or None when missing or not one of ours."""
    if not token:
        return None
    try:
        stamp, seen = signing.loads(token, salt=LIVE_SALT)
        stamp = datetime.fromisoformat(stamp)
        if timezone.is_naive(stamp):
            return None
        return stamp, {uuid.UUID(code) for code in seen}
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        return None


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


def _safe_next(request, fallback):
    target = request.POST.get("next") or ""
    # A path of ours only: redirect() would take a bare word ("0", "studio") for a view name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return fallback


# --- gallery pages and the poller ------------------------------------------------------------


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
        found = (
            Job.objects.filter(code__in=known)
            .select_related("generation", "author")
            .annotate(
                starred=Exists(Favourite.objects.filter(user=request.user, job=OuterRef("pk")))
            )
        )
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


# --- the image view --------------------------------------------------------------------------


def _button_rows(job):
    """U1–U4 and V1–V4 for a finished, non-upscale image: which can still be pressed."""
    if job.state != State.DONE or job.button.startswith("U") or not job.buttons:
        return []
    available = set(job.available_buttons)
    rows = []
    for prefix, label in (("U", "Upscale"), ("V", "Vary")):
        buttons = [
            {"name": name, "number": name[1], "used": name not in available}
            for name in BUTTONS
            if name.startswith(prefix) and name in job.buttons
        ]
        if buttons:
            rows.append({"label": label, "buttons": buttons})
    return rows


def can_use_as_source(team):
    return team.is_sandbox or bool(settings.PUBLIC_BASE_URL)


def detail_context(request, job, in_lightbox, error=""):
    membership = request.membership
    team = membership.team
    filters = filters_of(request)
    jobs = filters.apply(Job.objects.gallery(team, request.user), request.user)
    newer, older = jobs.neighbours(job)
    query = filters.query
    return team_context(
        request,
        job=job,
        generation=job.generation,
        can_delete=membership.may_delete(job) and not job.is_pending,
        filters=filters,
        filter_query=f"?{query}" if query else "",
        newer=newer,
        older=older,
        button_rows=_button_rows(job) if membership.can_edit else [],
        children=list(
            job.children.kept().select_related("generation").order_by("created_at", "id")
        ),
        in_lightbox=in_lightbox,
        use_as_source=job.state == State.DONE and can_use_as_source(team),
        error=error,
        took=_duration(job.created_at, job.stored_at),
        share_form=share_form_for(membership, job),
        job_tags=list(job.tags.all()),
        image_boards=list(Board.objects.for_image(team, job)),
        tag_names=Tag.objects.names(team),
    )


def _duration(start, end):
    if not start or not end or end < start:
        return ""
    seconds = round((end - start).total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _detail_job(team, code, user):
    return get_object_or_404(Job.objects.gallery(team, user).select_related("parent"), code=code)


def _in_lightbox(request):
    return bool(request.htmx) and request.htmx.target in ("lightbox-body", "image-detail")


@vary_on_headers("HX-Request")
@require_GET
@login_required
def image_detail(request, team_code, job_code):
    membership = team_access(request, team_code)
    job = _detail_job(membership.team, job_code, request.user)
    in_lightbox = _in_lightbox(request)
    context = detail_context(request, job, in_lightbox)
    template = "generator/image_detail.html" + ("#detail" if in_lightbox else "")
    return render(request, template, context)


# --- actions on one image --------------------------------------------------------------------


def _studio_url(team, request):
    """The studio, with the filters the posting page had (re-validated, never echoed raw)."""
    url = reverse("studio", args=[team.code])
    query = filters_of(request).query
    return f"{url}?{query}" if query else url


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_star(request, team_code, job_code):
    """Star or unstar an image for yourself. Personal, so viewers may star too."""
    membership = team_access(request, team_code)
    job = team_job(membership.team, job_code)
    removed, _ = Favourite.objects.filter(user=request.user, job=job).delete()
    if not removed:
        Favourite.objects.get_or_create(user=request.user, job=job)
    job.starred = not removed
    if not request.htmx:
        return redirect(_safe_next(request, _studio_url(membership.team, request)))
    place = "detail" if request.POST.get("place") == "detail" else "card"
    other = "card" if place == "detail" else "detail"
    context = {"team": membership.team, "job": job}
    html = render_to_string("generator/_star.html", {**context, "place": place}, request)
    if request.POST.get("twin"):
        # The same image is on screen twice (its card and the open lightbox): keep both true.
        # The page says so (studio.js); an out-of-band swap without a target is an error.
        html += render_to_string(
            "generator/_star.html", {**context, "place": other, "oob": True}, request
        )
    return HttpResponse(html)


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_delete(request, team_code, job_code):
    """Move an image to the team's trash (trash.py). Your own as a member; any as an admin."""
    job = _removable_job(request, team_code, job_code, "delete this image")
    team = request.membership.team
    if job.is_pending:
        # The worker may be storing it right now; deleting waits until it has settled.
        return HttpResponse(STILL_PENDING, status=409, content_type="text/plain")
    with transaction.atomic():
        deleted = move_to_trash(request.user, team, [job])
    if not deleted:
        return HttpResponse(CHANGED_MEANWHILE, status=409, content_type="text/plain")
    if not request.htmx:
        messages.success(request, "Moved the image to the trash.")
        return redirect(_studio_url(team, request))
    response = _removed(request, job)
    if request.POST.get("place") == "detail":
        trigger_client_event(response, "studio:close-lightbox")
    return response


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_dismiss(request, team_code, job_code):
    """Hide a failed card for the whole team (the row stays for the usage records)."""
    job = _removable_job(request, team_code, job_code, "dismiss this card")
    with transaction.atomic():
        if Job.objects.filter(pk=job.pk, state__in=SETTLED_UNWELL).update(dismissed=True):
            CardRemoval.record(request.membership.team, job.code)
    if not request.htmx:
        return redirect(_studio_url(request.membership.team, request))
    return _removed(request, job)


def _removable_job(request, team_code, job_code, action):
    """The team's job `job_code`, if the caller may remove it (`may_delete`); 403 otherwise."""
    membership = team_access(request, team_code, Role.MEMBER)
    job = team_job(membership.team, job_code)
    if not membership.may_delete(job):
        raise PermissionDenied(f"Only its author or a team admin can {action}.")
    return job


def _removed(request, job):
    """Out-of-band removal of the job's card, wherever the request came from."""
    response = render(request, "generator/studio.html#removed", {"gone": [job.code]})
    reswap(response, "none")
    return response


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_retry(request, team_code, job_code):
    """Ask again for a failed, unknown or expired image: a fresh job; the old card goes."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    job = team_job(team, job_code)
    error = job.retry_refusal
    if not error and team.credentials_problem():
        error = team.credentials_problem()
    if not error:
        # Not in one transaction with the dismissal: a retry refused by moderation writes an
        # audit entry that a rollback would take with it. A refused retry stores nothing.
        try:
            new_jobs = retry(job, request.user)
        except ValueError as exc:
            error = str(exc)
        else:
            with transaction.atomic():
                Job.objects.filter(pk=job.pk).update(dismissed=True)
                CardRemoval.record(team, job.code)
    if error:
        if request.htmx:
            job = Job.objects.gallery(team, request.user).get(pk=job.pk)
            context = team_context(request, job=job, card_error=error)
            return render(request, "generator/studio.html#card", context)
        messages.error(request, error)
        return redirect(_studio_url(team, request))
    if not request.htmx:
        messages.success(request, "Trying again — the new image is at the top of the gallery.")
        return redirect(_studio_url(team, request))
    response = new_cards_response(request, new_jobs, gone=[job.code])
    reswap(response, "none")
    return response


@vary_on_headers("HX-Request")
@require_POST
@login_required
def image_button(request, team_code, job_code):
    """Press U1–U4 (upscale) or V1–V4 (variation) on a finished image: a linked child job."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    job = _detail_job(team, job_code, request.user)
    button = request.POST.get("button", "")
    error, child = "", None
    if team.credentials_problem():
        error = team.credentials_problem()
    else:
        try:
            with transaction.atomic():
                # Lock the parent so two people pressing U1 at once make one child, not two
                # (on SQLite the IMMEDIATE transaction already serialises this).
                locked = Job.objects.select_for_update().get(pk=job.pk)
                child = start_button(locked, button, request.user)
        except ValueError as exc:
            error = str(exc)
    label = f"{'Upscale' if button.startswith('U') else 'Variation'} {button[1:]}"
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{label} started; it appears in the gallery when ready.")
        url = reverse("image_detail", args=[team.code, job.code])
        query = filters_of(request).query
        return redirect(f"{url}?{query}" if query else url)
    context = detail_context(request, job, in_lightbox=True, error=error)
    if child:
        context["notice"] = f"{label} started — it appears at the top of the gallery."
    main = render_to_string("generator/image_detail.html#detail", context, request=request)
    if not child:
        return HttpResponse(main)
    child.generation = job.generation
    return new_cards_response(request, [child], main=main)
