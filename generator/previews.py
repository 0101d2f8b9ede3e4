"""The large preview of a stored image, made from its original on first view.

Storing an image makes only its thumbnails: the preview (what the lightbox, the image page,
a share link and its card for chat apps show) costs as much as both thumbnails and the
validation together, and most images are only ever seen in the gallery. The first request
for it makes it from the stored original and keeps it like the other files.
"""

import contextlib
import logging

import pyvips
from django.core.files.base import ContentFile
from django.db.models import F

from .lib import imaging, storage
from .models import Job

log = logging.getLogger(__name__)


class PreviewUnavailable(Exception):
    """The preview cannot be made now: the original is missing, unreadable, or storage is
    down (the caller answers 404; the next request tries again)."""


def ensure_preview(job):
    """`job.preview`, made and kept first when the job has none yet. When two requests make it
    at once, the first to record it wins and the other's file is removed."""
    if job.preview:
        return job.preview
    try:
        with job.original.open("rb") as original:
            data = imaging.preview_of(original, (job.width, job.height))
    except (ValueError, pyvips.Error, *storage.STORAGE_ERRORS) as error:
        # ValueError: no original recorded; a storage error: its file is gone or unreadable.
        log.warning("no preview for job %s: %s", job.pk, error)
        raise PreviewUnavailable from error
    try:
        storage.save_file(job.preview, f"{job.team.code}/{job.code}.webp", ContentFile(data))
    except storage.StorageUnavailable as error:
        raise PreviewUnavailable from error
    recorded = Job.objects.filter(pk=job.pk, preview="").update(
        preview=job.preview.name, stored_bytes=F("stored_bytes") + len(data)
    )
    if not recorded:
        # Made meanwhile by another request (or the image is gone): keep only that one.
        with contextlib.suppress(*storage.STORAGE_ERRORS):
            job.preview.storage.delete(job.preview.name)
        try:
            job.refresh_from_db(fields=["preview"])
        except Job.DoesNotExist as error:
            raise PreviewUnavailable from error
    return job.preview
