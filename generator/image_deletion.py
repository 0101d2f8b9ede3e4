"""Deleting finished images: the one way the gallery, the bulk bar and the API delete."""

from django.db import transaction

from . import audit
from .models import PENDING_STATES, CardRemoval, Job

# The worker may be storing a pending image right now; deleting waits until it has settled.
STILL_PENDING = "This image is still being made; delete it once it is done."
CHANGED_MEANWHILE = "This image changed meanwhile; reload and try again."


def delete_images(user, team, jobs, **details):
    """Delete finished images (jobs with generation and author loaded) that the caller may
    delete: rows, tombstones for open galleries, one audit entry each, and their files once
    the transaction commits (a rollback keeps both). Jobs that are pending meanwhile stay.
    Call inside a transaction. `details` go into each audit entry (how it was asked for).
    Returns the jobs deleted."""
    jobs = {job.pk: job for job in jobs}
    ids = set(
        Job.objects.select_for_update()
        .filter(pk__in=jobs)
        .exclude(state__in=PENDING_STATES)
        .values_list("pk", flat=True)
    )
    gone = [job for pk, job in jobs.items() if pk in ids]
    if not gone:
        return []
    Job.objects.filter(pk__in=ids).delete()
    CardRemoval.record(team, *(job.code for job in gone))
    for job in gone:
        audit.record(
            user,
            team,
            audit.AuditAction.IMAGE_DELETED,
            target=f"image {job.code}",
            prompt=job.generation.prompt[:200],
            author=job.author.email if job.author else "",
            **details,
        )
    names = [f.name for job in gone for f in job.stored_files]
    storage = gone[0].original.storage
    transaction.on_commit(lambda: [storage.delete(name) for name in names])
    return gone
