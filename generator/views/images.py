"""One image of the gallery: its view (in the lightbox or as a page) and the actions on it:
star, delete, dismiss, retry, and the U/V buttons."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, trigger_client_event

from ..access import team_access, team_context
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
from .gallery import _studio_url, filters_of, new_cards_response, team_job
from .shares import share_form_for


def _safe_next(request, fallback):
    target = request.POST.get("next") or ""
    # A path of ours only: redirect() would take a bare word ("0", "studio") for a view name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return fallback


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
