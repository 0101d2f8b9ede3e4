"""The team's trash: deleting an image moves it here; it can be restored for the team's
`trash_days`, then `purge` removes its files from storage and its row for good.

Everything that takes images out of the gallery or puts them back goes through this module,
so the tombstones open galleries read (CardRemoval), the audit entries and the file removal
happen the same way whoever asks: a person, the bulk bar, the retention schedule, an erasure.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import audit
from .lib.storage import STORAGE_ERRORS
from .models import PENDING_STATES, CardRemoval, Job, Team

log = logging.getLogger(__name__)

# An audit entry lists at most this many of the images it speaks of (and counts them all).
AUDIT_CODES = 100

# The worker may be storing a pending image right now; deleting waits until it has settled.
STILL_PENDING = "This image is still being made; delete it once it is done."
CHANGED_MEANWHILE = "This image changed meanwhile; reload and try again."


def move_to_trash(user, team, jobs, audited=True, **details):
    """Move finished images (jobs with generation and author loaded) to the trash: they leave
    every listing at once, open galleries drop their cards (tombstones), and each gets an
    audit entry as a deletion always had (`audited=False`: the caller writes a summary).
    Jobs pending or already trashed meanwhile stay as they are. Call inside a transaction.
    `details` go into each audit entry (how it was asked for). Returns the jobs moved."""
    jobs = {job.pk: job for job in jobs}
    ids = set(
        Job.objects.select_for_update()
        .kept()
        .filter(pk__in=jobs, team=team)
        .exclude(state__in=PENDING_STATES)
        .values_list("pk", flat=True)
    )
    moved = [job for pk, job in jobs.items() if pk in ids]
    if not moved:
        return []
    now = timezone.now()
    by = user if user is not None and user.is_authenticated else None
    Job.objects.filter(pk__in=ids).update(trashed_at=now, trashed_by=by)
    CardRemoval.record(team, *(job.code for job in moved))
    for job in moved:
        job.trashed_at, job.trashed_by = now, by
        if audited:
            audit.record(
                user,
                team,
                audit.AuditAction.IMAGE_DELETED,
                target=f"image {job.code}",
                prompt=job.generation.prompt[:200],
                author=job.author.email if job.author else "",
                trash_days=team.trash_days,
                **details,
            )
    return moved


def restore(user, team, jobs):
    """Put trashed `jobs` back in the gallery (the caller checked who may). One audit entry.
    Call inside a transaction. Returns the jobs restored."""
    codes = [job.code for job in jobs]
    restored = list(Job.objects.select_for_update().in_trash().filter(team=team, code__in=codes))
    if not restored:
        return []
    Job.objects.filter(pk__in=[job.pk for job in restored]).update(trashed_at=None, trashed_by=None)
    audit.record(
        user,
        team,
        audit.AuditAction.IMAGE_RESTORED,
        target=plural(len(restored)),
        images=[str(job.code) for job in restored[:AUDIT_CODES]],
    )
    return restored


def purge(jobs):
    """Remove `jobs` for good: rows now, their files once the transaction commits (a rollback
    keeps both). Call inside a transaction. Returns how many rows went."""
    jobs = list(jobs)
    if not jobs:
        return 0
    names = [f.name for job in jobs for f in job.stored_files]
    Job.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    transaction.on_commit(lambda: delete_files(names))
    return len(jobs)


def delete_files(names):
    """Remove stored files whose rows are gone. A file already missing is fine; one that
    cannot be removed is logged and skipped so the rest still go."""
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except (OSError, *STORAGE_ERRORS):
            log.warning("could not delete stored file %s", name)


def empty(user, team):
    """An admin's "empty trash": everything in it, purged now. One audit entry."""
    with transaction.atomic():
        jobs = list(Job.objects.select_for_update().in_trash().filter(team=team))
        count = purge(jobs)
        if count:
            audit.record(
                user,
                team,
                audit.AuditAction.TRASH_EMPTIED,
                target=plural(count),
                bytes=sum(job.stored_bytes or 0 for job in jobs),
            )
    return count


def expired(team, now=None):
    """The team's trashed images whose time to be restored has run out."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=team.trash_days)
    return Job.objects.in_trash().filter(team=team, trashed_at__lt=cutoff)


def purge_expired(now=None):
    """Purge every team's trash past its time; one summary audit entry per team. Returns the
    number of images purged."""
    total = 0
    teams = Team.objects.filter(pk__in=Job.objects.in_trash().values("team_id"))
    for team in teams:
        with transaction.atomic():
            jobs = list(expired(team, now).select_for_update())
            count = purge(jobs)
            if count:
                audit.record(
                    None,
                    team,
                    audit.AuditAction.TRASH_PURGED,
                    target=plural(count),
                    bytes=sum(job.stored_bytes or 0 for job in jobs),
                    trash_days=team.trash_days,
                )
        total += count
    return total


def plural(count, word="image"):
    return f"{count} {word}{'' if count == 1 else 's'}"
