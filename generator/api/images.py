"""The team's images: the gallery's list (its filters, search and keyset cursor), one image,
its original, its U/V buttons and deleting it, each through the code the pages use."""

from uuid import UUID

from django.db import transaction
from django.http import Http404
from ninja import Router
from ninja.responses import Status

from ..cursors import make_cursor, read_cursor
from ..forms import GalleryFilters
from ..models import BUTTONS, Job, Role, Scope, State
from ..starters import start_button
from ..trash import CHANGED_MEANWHILE, STILL_PENDING, move_to_trash
from ..views.files import original_response
from .generations import JOB_FIELDS, start_refusals
from .problems import Problem
from .schemas import ImageOut, ImagePage, image_out

router = Router(tags=["images"])

PAGE_SIZE_MAX = 100


def _job(caller, code, **extra):
    job = (
        Job.objects.kept()
        .select_related(*JOB_FIELDS)
        .filter(team=caller.team, code=code, dismissed=False, **extra)
        .first()
    )
    if job is None:
        raise Problem(404, "No such image in this token's team.")
    return job


@router.get("/images", response=ImagePage, url_name="images")
def list_images(request, cursor: str = "", limit: int = 24):
    """Newest first. Filters as in the gallery: `q` (search prompts), `who=mine`,
    `status` (done, pending, failed), `mode`, `resolution`, `fav=1`, `board`, `tag`.
    Pass `next_cursor` back as `cursor` for the next page."""
    caller = request.auth
    caller.require(Scope.READ)
    if not 1 <= limit <= PAGE_SIZE_MAX:
        raise Problem(422, f"limit is between 1 and {PAGE_SIZE_MAX}.")
    position = read_cursor(cursor)
    if cursor and position is None:
        raise Problem(422, "This cursor is not one this API gave out.")
    filters = GalleryFilters(request.GET)
    jobs = Job.objects.gallery(caller.team, caller.user).select_related("api_token", "parent")
    page, more = filters.apply(jobs, caller.user).keyset_page(position, limit)
    return {
        "items": [image_out(job) for job in page],
        "next_cursor": make_cursor(page[-1]) if more else None,
    }


@router.get("/images/{uuid:code}", response=ImageOut, url_name="image")
def get_image(request, code: UUID):
    caller = request.auth
    caller.require(Scope.READ)
    return image_out(_job(caller, code))


@router.get(
    "/images/{uuid:code}/original",
    url_name="image_original",
    response={200: bytes},
    openapi_extra={"responses": {200: {"content": {"image/png": {}, "image/jpeg": {}}}}},
)
def get_original(request, code: UUID):
    """The stored original, byte for byte (on remote storage: a redirect to a short-lived
    link)."""
    caller = request.auth
    caller.require(Scope.READ)
    job = _job(caller, code, state=State.DONE)
    try:
        return original_response(job)
    except Http404:
        raise Problem(404, "This image's original is not available.") from None


@router.post("/images/{uuid:code}/buttons/{button}", response={201: ImageOut}, url_name="button")
def press_button(request, code: UUID, button: str):
    """U1–U4 upscale, V1–V4 make a variation: a new image, linked to this one."""
    caller = request.auth
    caller.require(Scope.GENERATE, Role.MEMBER)
    if button not in BUTTONS:
        raise Problem(404, f"{button} is not a button; use one of {', '.join(BUTTONS)}.")
    job = _job(caller, code)
    problem = caller.team.credentials_problem()
    if problem:
        raise Problem(409, problem)
    with start_refusals(), transaction.atomic():
        # Locked as the page locks it: two presses at once make one child.
        locked = Job.objects.select_for_update().get(pk=job.pk)
        child = start_button(locked, button, caller.user, caller.token)
    child = Job.objects.select_related(*JOB_FIELDS).get(pk=child.pk)
    return Status(201, image_out(child))


@router.delete("/images/{uuid:code}", response={204: None}, url_name="image_delete")
def delete_image(request, code: UUID):
    caller = request.auth
    caller.require(Scope.MANAGE, Role.MEMBER)
    job = _job(caller, code)
    if not caller.may_delete(job):
        raise Problem(403, "Only its author or a team admin can delete this image.")
    if job.is_pending:
        raise Problem(409, STILL_PENDING)
    with transaction.atomic():
        deleted = move_to_trash(caller.user, caller.team, [job], via=caller.via)
    if not deleted:
        raise Problem(409, CHANGED_MEANWHILE)
    return Status(204, None)
