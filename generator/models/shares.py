"""Share links: a team's image, or a set of images, shown to anyone holding an unguessable link.

Only a hash of the token is stored, so the link is shown once, when it is made (a copy of the
database does not open anyone's links). A link is found by that hash, which leaks nothing about
the token through timing. A link shows its images (`shared_jobs`): a fixed set of jobs, or a
board's images as they are at each visit (added later: shown; taken off or deleted: gone).
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .boards import Board
from .jobs import Job
from .states import State
from .teams import Team


class ShareKind(models.TextChoices):
    IMAGE = "image", "One image"
    IMAGES = "images", "A set of images"
    BOARD = "board", "A board"


# How long a new link lives, as the form offers it; None never ends (if the team allows).
EXPIRY_CHOICES = [
    ("30m", "30 minutes"),
    ("1h", "1 hour"),
    ("6h", "6 hours"),
    ("1d", "1 day"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("3mo", "3 months"),
    ("1y", "1 year"),
    ("never", "Never"),
]
EXPIRY_DELTAS = {
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "3mo": timedelta(days=91),
    "1y": timedelta(days=365),
    "never": None,
}
DEFAULT_EXPIRY = "30d"
NEVER = "never"


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class ShareLinkQuerySet(models.QuerySet):
    def visible_to(self, membership):
        """The links a member may list and manage: their own; an admin, the whole team's."""
        links = self.filter(team=membership.team)
        return links if membership.is_admin else links.filter(created_by=membership.user)

    def by_token(self, token):
        return self.filter(token_hash=hash_token(token)).select_related("team", "board").first()


class ShareLink(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=ShareKind.choices, default=ShareKind.IMAGE)
    jobs = models.ManyToManyField(Job, related_name="share_links", blank=True)
    # A board link shows the board's images at each visit; a deleted board leaves the link
    # (listed, audited) showing nothing.
    board = models.ForeignKey(
        Board, null=True, blank=True, on_delete=models.SET_NULL, related_name="share_links"
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    # A Django password hash; empty when the link has no password.
    password = models.CharField(max_length=128, blank=True, default="")
    allow_download = models.BooleanField(default=True, verbose_name="Allow downloading originals")
    show_prompt = models.BooleanField(default=False, verbose_name="Show the prompt and settings")
    views = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="share_team")]

    def __str__(self):
        return f"{self.get_kind_display()} shared from {self.team} ({self.state})"

    @classmethod
    def create(cls, team, user, jobs=(), board=None, expiry=DEFAULT_EXPIRY, password="", **toggles):
        """Make a link to `jobs`, or to `board`; returns (link, token). The token exists only
        in this answer."""
        token = secrets.token_urlsafe(24)
        if board is not None:
            kind = ShareKind.BOARD
        else:
            kind = ShareKind.IMAGE if len(jobs) == 1 else ShareKind.IMAGES
        link = cls(
            created_at=timezone.now(),
            team=team,
            created_by=user,
            kind=kind,
            board=board,
            token_hash=hash_token(token),
            **toggles,
        )
        link.set_expiry(expiry, start=link.created_at)
        link.set_password(password)
        link.save()
        if jobs:
            link.jobs.set(jobs)
        return link, token

    def set_expiry(self, choice, start=None):
        """Expire `choice` (a key of EXPIRY_DELTAS) after `start`, by default now."""
        delta = EXPIRY_DELTAS[choice]
        self.expires_at = None if delta is None else (start or timezone.now()) + delta

    def set_password(self, raw):
        self.password = make_password(raw) if raw else ""

    @property
    def has_password(self):
        return bool(self.password)

    def check_password(self, raw):
        return self.has_password and check_password(raw, self.password)

    def unlock_value(self):
        """What the signed cookie of a visitor who gave the password holds: it changes with
        the password, so a new password locks out everyone who knew the old one."""
        return salted_hmac("share-unlock", self.password).hexdigest()[:32]

    def may_be_managed_by(self, membership):
        """The one rule for editing or revoking a link: its maker, or an admin of its team."""
        return membership.team_id == self.team_id and (
            membership.is_admin
            or (membership.can_edit and self.created_by_id == membership.user_id)
        )

    @property
    def state(self):
        """ "revoked", "expired" or "active"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    @property
    def is_active(self):
        return self.state == "active"

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    @property
    def is_board(self):
        return self.kind == ShareKind.BOARD

    @property
    def board_gone(self):
        """A board link whose board was deleted: nothing left to show."""
        return self.is_board and self.board_id is None

    def shared_jobs(self):
        """The finished images the link shows, oldest first: its own, or its board's now."""
        if self.board_gone:
            # Never filter on a null board: that would match every image on no board at all.
            return Job.objects.none()
        if self.is_board:
            jobs = Job.objects.filter(board_entries__board_id=self.board_id, dismissed=False)
        else:
            jobs = self.jobs.all()
        return (
            jobs.kept()
            .filter(state=State.DONE)
            .select_related("generation")
            .order_by("created_at", "id")
        )

    def count_view(self):
        now = timezone.now()
        ShareLink.objects.filter(pk=self.pk).update(views=F("views") + 1, last_viewed_at=now)
        self.views += 1
        self.last_viewed_at = now
