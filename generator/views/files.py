"""A team's stored image files: originals, previews and thumbnails (1x and 2x), to its members only.

Storage-agnostic (local, X-Accel-Redirect, or an S3 presigned redirect): see lib/storage.py.
A download of an original (`?download=1`) carries its prompt and parameters inside the file,
so it streams through the app on every storage (see downloads.py)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from ..access import team_access
from ..downloads import MissingOriginal, download_name, prepare
from ..lib import imaging
from ..lib.storage import MEDIA_HEADERS, PRIVATE_IMMUTABLE, file_response
from ..models import Job, State
from ..previews import PreviewUnavailable, ensure_preview

FILE_KINDS = {
    "original": "original",
    "preview": "preview",
    "thumb": "thumbnail",
    "thumb2x": "thumbnail_2x",
}


@require_GET
@login_required
def image_file(request, team_code, job_code, kind):
    """An image's original, preview or thumbnails, to members of its team only."""
    membership = team_access(request, team_code)
    job = get_object_or_404(
        Job.objects.select_related("generation", "team", "author", "parent"),
        team=membership.team,
        code=job_code,
        state=State.DONE,
    )
    if kind == "original":
        if request.GET.get("download") == "1":
            return original_download(job)
        return original_response(job)
    webp = imaging.content_type("WEBP")
    return file_response(rendition(job, kind), webp, f"{job.code.hex[:8]}-{kind}.webp")


def rendition(job, kind):
    """The stored file of one of a job's renditions (FILE_KINDS but the original); the
    preview is made now if this is its first view."""
    if kind != "preview":
        return getattr(job, FILE_KINDS[kind])
    try:
        return ensure_preview(job)
    except PreviewUnavailable:
        raise Http404 from None


def original_response(job):
    """A finished job's stored original, exactly as stored (streamed, or a presigned redirect
    on remote storage); 404 when it cannot be served."""
    # The format derive() validated when the image was stored.
    if job.format not in imaging.FORMATS:
        raise Http404
    content_type = imaging.content_type(job.format)
    return file_response(job.original, content_type, download_name(job), redirect=True)


def original_download(job, public=False):
    """`job`'s original as an attachment with its metadata written in, streamed (`public`: for
    someone outside the team, see downloads.TEAM_ONLY)."""
    try:
        original = prepare(job, public)
    except MissingOriginal:
        raise Http404 from None
    response = StreamingHttpResponse(
        original.chunks(), content_type=imaging.content_type(job.format)
    )
    response["Content-Length"] = str(original.size)
    response["Content-Disposition"] = content_disposition_header(True, download_name(job))
    response["Cache-Control"] = PRIVATE_IMMUTABLE
    for header, value in MEDIA_HEADERS.items():
        response[header] = value
    return response
