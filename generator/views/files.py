"""A team's stored image files: originals, previews and thumbnails (1x and 2x), to its members only.

Storage-agnostic (local, X-Accel-Redirect, or an S3 presigned redirect): see lib/storage.py."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from ..access import team_access
from ..lib import imaging
from ..lib.storage import file_response
from ..models import Job, State

FILE_KINDS = {
    "original": "original",
    "preview": "preview",
    "thumb": "thumbnail",
    "thumb2x": "thumbnail_2x",
}


def download_name(job):
    words = " ".join(job.generation.prompt.split()[:6])
    slug = slugify(words)[:48].strip("-") or "image"
    ext = imaging.extension(job.format) if job.format in imaging.FORMATS else "png"
    return f"akool-{slug}-{job.code.hex[:8]}.{ext}"


@require_GET
@login_required
def image_file(request, team_code, job_code, kind):
    """An image's original, preview or thumbnails, to members of its team only."""
    membership = team_access(request, team_code)
    job = get_object_or_404(
        Job.objects.select_related("generation"),
        team=membership.team,
        code=job_code,
        state=State.DONE,
    )
    if kind == "original":
        # The format derive() validated when the image was stored.
        if job.format not in imaging.FORMATS:
            raise Http404
        content_type = imaging.content_type(job.format)
        download = request.GET.get("download") == "1"
        return file_response(
            job.original, content_type, download_name(job), download, redirect=True
        )
    field = getattr(job, FILE_KINDS[kind])
    webp = imaging.content_type("WEBP")
    return file_response(field, webp, f"{job.code.hex[:8]}-{kind}.webp")
