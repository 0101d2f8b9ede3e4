"""Share links: the team's side (make, list, edit, revoke; sharing settings) and the public
pages under /s/<token>/ that anyone holding a link sees, without signing in.

The public pages show only what the link shows: its images, and their prompt and settings when
the link says so. No team name, no author, no other image's code: images are addressed by
their place in the link (1, 2, ...), not by their ids.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from .. import audit
from ..access import team_access, team_context
from ..lib import imaging
from ..lib.client_address import client_ip
from ..lib.login_throttle import record_share_failure, share_lockout_message, share_password_wait
from ..lib.storage import file_response
from ..models import AuditAction, Board, Job, Role, ShareLink, State
from ..notify.events import share_created
from ..share_forms import ShareLinkForm, SharingSettingsForm
from .files import original_download, rendition

SHARING_OFF = "Sharing is turned off for this team; an admin can turn it on in Share links."

# The public pages load nothing but their own stylesheet and images: no script at all.
PUBLIC_CSP = "; ".join(
    [
        "default-src 'none'",
        "img-src 'self'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
PUBLIC_HEADERS = {
    # The token is in the address: never send it on to another site, never keep the page.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
UNLOCK_COOKIE = "share_unlock"
UNLOCK_SALT = "share-unlock"
UNLOCK_MAX_AGE = 7 * 24 * 3600

GONE = {
    "revoked": "This link was revoked",
    "expired": "This link has expired",
    "deleted": "The shared image was deleted",
    "board-deleted": "The shared board was deleted",
    "off": "This link is not available",
}


# A board's Share form sits on the studio page, where an image's may open in the lightbox:
# its fields take other ids.
BOARD_FORM_IDS = "board-share-%s"


def _share_form(team, data=None, board=None):
    return ShareLinkForm(team, data, auto_id=BOARD_FORM_IDS if board else "id_%s")


def share_form_for(membership, job=None, board=None):
    """The Share form of an image's page (or of `board`'s), or None when this person may not
    share, or the image cannot be."""
    if not membership.can_edit or not membership.team.sharing_enabled:
        return None
    if job is not None and job.state != State.DONE:
        return None
    return _share_form(membership.team, board=board)


# --- the team's side -------------------------------------------------------------------------


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def share_url(request, token):
    return request.build_absolute_uri(reverse("share_page", args=[token]))


@vary_on_headers("HX-Request")
@require_POST
@login_required
def share_create(request, team_code):
    """Make a link to one image (or a set: several `codes`), or to a `board`, and show it,
    this once."""
    membership = team_access(request, team_code, Role.MEMBER)
    team = membership.team
    if not team.sharing_enabled:
        raise PermissionDenied(SHARING_OFF)
    board, jobs = None, []
    board_code = request.POST.get("board", "")
    if board_code:
        board = (
            Board.objects.filter(team=team, code=board_code).first()
            if _is_uuid(board_code)
            else None
        )
        if board is None:
            raise Http404("No such board")
        shown = {"board": board.name}
    else:
        codes = [code for code in request.POST.getlist("codes") if _is_uuid(code)]
        jobs = list(Job.objects.kept().filter(team=team, state=State.DONE, code__in=codes))
        if not jobs:
            raise Http404("No such image")
        shown = {"images": len(jobs)}
    form = _share_form(team, request.POST, board=board)
    template = "generator/share_created.html" + ("#share-box" if request.htmx else "")
    context = team_context(
        request, jobs=jobs, job=jobs[0] if jobs else None, share_board=board, share_form=form
    )
    if not form.is_valid():
        return render(request, template, context)
    data = form.cleaned_data
    with transaction.atomic():
        link, token = ShareLink.create(
            team,
            request.user,
            jobs,
            board=board,
            expiry=data["expiry"],
            password=data["password"],
            allow_download=data["allow_download"],
            show_prompt=data["show_prompt"],
        )
        audit.record(
            request.user,
            team,
            AuditAction.SHARE_CREATED,
            target=link.code,
            **shown,
            expiry=data["expiry"],
            protected=link.has_password,
            allow_download=link.allow_download,
            show_prompt=link.show_prompt,
        )
    share_created(link, request.user)
    context.update(link=link, link_url=share_url(request, token))
    return render(request, template, context)


def _list_page(request, forms=None, settings_form=None):
    membership = request.membership
    links = list(
        ShareLink.objects.visible_to(membership)
        .select_related("created_by", "board")
        .prefetch_related("jobs")
    )
    forms = forms or {}
    for link in links:
        link.edit_form = forms.get(link.pk) or ShareLinkForm(membership.team, link=link)
        link.first_job = next(iter(link.shared_jobs()), None)
    context = team_context(
        request,
        links=links,
        settings_form=settings_form
        or (SharingSettingsForm(instance=membership.team) if membership.is_admin else None),
    )
    return render(request, "generator/share_links.html", context)


@require_GET
@login_required
def share_list(request, team_code):
    """The team's links: your own; an admin sees everyone's and the sharing settings."""
    team_access(request, team_code, Role.MEMBER)
    return _list_page(request)


def _managed_link(request, team_code, link_code):
    membership = team_access(request, team_code, Role.MEMBER)
    link = get_object_or_404(ShareLink.objects.filter(team=membership.team), code=link_code)
    if not link.may_be_managed_by(membership):
        raise PermissionDenied("Only the person who made this link, or an admin, can change it.")
    return link


@require_POST
@login_required
def share_edit(request, team_code, link_code):
    link = _managed_link(request, team_code, link_code)
    team = request.membership.team
    form = ShareLinkForm(team, request.POST, link=link)
    if not form.is_valid():
        return _list_page(request, forms={link.pk: form})
    changed = form.apply(link)
    if changed:
        with transaction.atomic():
            link.save()
            audit.record(
                request.user, team, AuditAction.SHARE_EDITED, target=link.code, changed=changed
            )
    messages.success(request, "Saved the link." if changed else "Nothing changed.")
    return redirect(reverse("share_list", args=[team.code]) + f"#link-{link.code}")


@require_POST
@login_required
def share_revoke(request, team_code, link_code):
    link = _managed_link(request, team_code, link_code)
    team = request.membership.team
    if link.revoked_at is None:
        with transaction.atomic():
            link.revoke()
            audit.record(request.user, team, AuditAction.SHARE_REVOKED, target=link.code)
    messages.success(request, "Revoked the link: it no longer opens.")
    return redirect(reverse("share_list", args=[team.code]) + f"#link-{link.code}")


@require_POST
@login_required
def share_settings(request, team_code):
    membership = team_access(request, team_code, Role.ADMIN)
    form = SharingSettingsForm(request.POST, instance=membership.team)
    if not form.is_valid():
        return _list_page(request, settings_form=form)
    if form.has_changed():
        with transaction.atomic():
            form.save()
            audit.record(
                request.user,
                membership.team,
                AuditAction.SHARING_CHANGED,
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
    messages.success(request, "Saved the sharing settings.")
    return redirect("share_list", membership.team.code)


# --- the public side -------------------------------------------------------------------------


def _public(response):
    for header, value in PUBLIC_HEADERS.items():
        response[header] = value
    return response


def _public_page(request, context, status=200):
    response = render(request, "generator/share_public.html", context, status=status)
    response["Content-Security-Policy"] = PUBLIC_CSP
    return _public(response)


def _open_link(token):
    """(link, images) for a link that opens, or (None, reason) naming the page to show."""
    link = ShareLink.objects.by_token(token)
    if link is None:
        raise Http404("No such link")
    if not link.team.sharing_enabled:
        return None, "off"
    state = link.state
    if state != "active":
        return None, state
    if link.board_gone:
        return None, "board-deleted"
    images = list(link.shared_jobs())
    # A board may be empty for a while; a set of images whose last one was deleted is gone.
    if not images and not link.is_board:
        return None, "deleted"
    return link, images


def _unlocked(request, link):
    if not link.has_password:
        return True
    value = request.get_signed_cookie(
        UNLOCK_COOKIE, default=None, salt=UNLOCK_SALT, max_age=UNLOCK_MAX_AGE
    )
    return value == link.unlock_value()


def _gone_page(request, reason):
    # Turned off can be turned on again: not "gone" for good.
    status = 404 if reason == "off" else 410
    return _public_page(request, {"gone": GONE[reason], "reason": reason}, status=status)


# No CSRF token: under "Referrer-Policy: no-referrer" browsers post the form with "Origin:
# null", which Django's check refuses, and a forged post could only unlock, in the victim's
# browser, a link whose password the forger already knows. Visitors get no cookie but the
# unlock one.
@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def share_page(request, token):
    """The page a link opens: its images, or the password form first, or why it is gone."""
    link, images = _open_link(token)
    if link is None:
        return _gone_page(request, images)
    if not _unlocked(request, link):
        return _password_page(request, link, token)
    link.count_view()
    context = {
        "link": link,
        "token": token,
        "images": list(enumerate(images, start=1)),
        "first": images[0] if images else None,
        "og_image": request.build_absolute_uri(reverse("share_file", args=[token, 1, "preview"]))
        if images
        else "",
        "page_url": share_url(request, token),
    }
    return _public_page(request, context)


def _password_page(request, link, token):
    error = ""
    if request.method == "POST":
        ip = client_ip(request)
        wait = share_password_wait(link.code, ip)
        if wait:
            error = share_lockout_message(wait)
        elif link.check_password(request.POST.get("password", "")):
            response = redirect("share_page", token)
            response.set_signed_cookie(
                UNLOCK_COOKIE,
                link.unlock_value(),
                salt=UNLOCK_SALT,
                max_age=UNLOCK_MAX_AGE,
                path=reverse("share_page", args=[token]),
                secure=request.is_secure(),
                httponly=True,
                samesite="Lax",
            )
            return _public(response)
        else:
            record_share_failure(link.code, ip)
            error = "That is not the password."
    status = 403 if error else 200
    return _public_page(request, {"ask_password": True, "error": error}, status=status)


def public_original(job, with_metadata):
    """The original of `job` as a download for a share link's visitor. `with_metadata`: the
    link shows the prompt, so the file may carry it; without, the stored original (which holds
    no prompt) is served as it is."""
    if job.format not in imaging.FORMATS:
        raise Http404
    if with_metadata:
        return original_download(job, public=True)
    # Without the prompt, the file name must not spell it either.
    name = f"image.{imaging.extension(job.format)}"
    return file_response(
        job.original, imaging.content_type(job.format), name, as_attachment=True, redirect=True
    )


@require_GET
def share_file(request, token, number, kind):
    """One image of a link, by its place in the link: preview, thumbnail, or the original
    (only when the link allows downloads). Not counted as a view. A board's places follow the
    board at each request: right after a change a place may name its neighbour, which the
    link shows all the same."""
    link, images = _open_link(token)
    if link is None or not _unlocked(request, link) or not 1 <= number <= len(images):
        raise Http404
    job = images[number - 1]
    if kind == "original":
        if not link.allow_download:
            raise Http404
        response = public_original(job, with_metadata=link.show_prompt)
    else:
        field = rendition(job, kind)
        response = file_response(field, imaging.content_type("WEBP"), f"image-{number}-{kind}.webp")
    return _public(response)
