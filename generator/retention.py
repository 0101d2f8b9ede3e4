"""A team's retention policy: finished images older than `retention_days` go to the trash,
unless someone starred them or they are on a board. Off while `retention_days` is empty.

Retention moves images to the trash rather than deleting them: a policy set too short by
mistake can then be undone for `trash_days`, and the files go by the one purge path (trash.py).
The preview an admin sees and the daily run read the same `candidates` query, so the dry run
always names what the run would do.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from . import audit
from .models import BoardImage, Favourite, Job, State, Team
from .trash import AUDIT_CODES, move_to_trash, plural


@dataclass
class Preview:
    images: int
    bytes: int


def candidates(team, now=None):
    """The team's images the policy would move to the trash now (none while it is off)."""
    if not team.retention_days:
        return Job.objects.none()
    cutoff = (now or timezone.now()) - timedelta(days=team.retention_days)
    return (
        Job.objects.kept()
        .filter(team=team, state=State.DONE, created_at__lt=cutoff)
        .exclude(models.Exists(Favourite.objects.filter(job=models.OuterRef("pk"))))
        .exclude(models.Exists(BoardImage.objects.filter(job=models.OuterRef("pk"))))
    )


def preview(team, now=None):
    """How many images, and how many stored bytes, the policy would move now (the dry run)."""
    totals = candidates(team, now).aggregate(
        images=models.Count("pk"), bytes=models.Sum("stored_bytes", default=0)
    )
    return Preview(totals["images"], totals["bytes"])


def apply(team, now=None):
    """Move the policy's candidates to the trash, with one summary audit entry. Returns a
    Preview of what was moved."""
    with transaction.atomic():
        jobs = list(candidates(team, now).select_related("generation", "author"))
        moved = move_to_trash(None, team, jobs, audited=False)
        done = Preview(len(moved), sum(job.stored_bytes or 0 for job in moved))
        if moved:
            audit.record(
                None,
                team,
                audit.AuditAction.RETENTION_APPLIED,
                target=plural(done.images),
                bytes=done.bytes,
                retention_days=team.retention_days,
                images=[str(job.code) for job in moved[:AUDIT_CODES]],
            )
    return done


def apply_all(now=None):
    """Apply every team's policy (the daily schedule). Returns the images moved."""
    teams = Team.objects.filter(retention_days__isnull=False)
    return sum(apply(team, now).images for team in teams)
