"""Akool jobs (states in states.py, queries in job_queries.py), stars, the gallery's removal
tombstones, and the follower's lease."""

import contextlib
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models
from django.db.models import Q
from django.utils import timezone

from ..akool.results import STATUS_COMPLETED, STATUS_FAILED, STATUS_PROCESSING
from .failures import Failure, describe, retryable
from .generations import Generation, Scale
from .job_queries import JobQuerySet
from .states import FOLLOWED_STATES, PENDING_STATES, SETTLED, SETTLED_UNWELL, State
from .teams import Team

# The file fields a job's files live in, for deleting them all with the job.
FILE_FIELDS = ("original", "thumbnail", "thumbnail_2x", "preview")
# Width / height of each fixed ratio Akool offers ("Original" keeps the source's shape).
SCALE_ASPECTS = {
    scale: int(scale.split(":")[0]) / int(scale.split(":")[1])
    for scale in Scale.values
    if ":" in scale
}
BUTTONS = ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4")


class Job(models.Model):
    """One Akool job: one image of a generation, or a U/V child of a finished image."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="jobs")
    # Denormalised from the generation so the gallery filters on one table.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="jobs")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    index = models.PositiveSmallIntegerField(default=0)
    # A U/V child outlives its parent: it keeps its files and reads "made from a deleted
    # image", so `button` set with no parent is a valid row.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    button = models.CharField(max_length=2, blank=True, default="")
    # The API token that started this job (None: the web page); budgets can cap a token.
    api_token = models.ForeignKey(
        "generator.ApiToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )

    akool_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    akool_status = models.PositiveSmallIntegerField(null=True, blank=True)
    deduction_credit = models.IntegerField(null=True, blank=True)
    # What the budgets reserved for this job when it was made; counted until Akool reports
    # `deduction_credit`.
    estimated_credit = models.PositiveIntegerField(default=0)
    result_url = models.TextField(blank=True, default="")
    result_seen_at = models.DateTimeField(null=True, blank=True)
    # None until Akool has said which U/V buttons the image offers (a webhook never does).
    buttons = models.JSONField(default=list, blank=True, null=True)
    used_buttons = models.JSONField(default=list, blank=True)

    original = models.FileField(upload_to="originals/%Y/%m/", blank=True, default="")
    original_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    format = models.CharField(max_length=10, blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    thumbnail = models.FileField(upload_to="thumbs/%Y/%m/", blank=True, default="")
    thumb_width = models.PositiveIntegerField(null=True, blank=True)
    thumb_height = models.PositiveIntegerField(null=True, blank=True)
    # The thumbnail at twice the size, for high-density screens; empty on rows stored before
    # it existed (the gallery then offers the 1x alone).
    thumbnail_2x = models.FileField(upload_to="thumbs/%Y/%m/", blank=True, default="")
    preview = models.FileField(upload_to="previews/%Y/%m/", blank=True, default="")
    placeholder_color = models.CharField(max_length=7, blank=True, default="")

    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True, default="")
    # Why it ended without an image (failures.py); empty on rows failed before causes were
    # recorded, which keep the retry they always had.
    failure = models.CharField(max_length=12, choices=Failure.choices, blank=True, default="")
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # A failed card the team no longer wants to see (the row stays for the usage records).
    dismissed = models.BooleanField(default=False)
    # Deleted images wait in the team's trash (trash.py) until restored or purged; while
    # trashed, no listing shows them (`kept`).
    trashed_at = models.DateTimeField(null=True, blank=True)
    trashed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Bytes of all the job's stored files (original and renditions), written when they are
    # stored; the team's storage figures add these up. Empty until stored (or backfilled by
    # `manage.py backfill_file_sizes` for rows stored before it existed).
    stored_bytes = models.PositiveBigIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at", "-id"], name="job_gallery"),
            models.Index(fields=["state", "next_poll_at"], name="job_due"),
            models.Index(fields=["team", "trashed_at"], name="job_trash"),
        ]

    def __str__(self):
        return f"{self.generation.prompt[:40]} #{self.index + 1} ({self.state})"

    @property
    def stored_files(self):
        """The job's stored files that exist: original and renditions (deleted with it)."""
        return [getattr(self, name) for name in FILE_FIELDS if getattr(self, name)]

    @property
    def aspect(self):
        """Width / height as the gallery lays the card out: the thumbnail's real shape once
        stored, else the shape asked for (a square when that is the source's, still unknown)."""
        if self.thumb_width and self.thumb_height:
            return self.thumb_width / self.thumb_height
        return SCALE_ASPECTS.get(self.generation.scale, 1.0)

    @property
    def aspect_name(self):
        """The nearest of Akool's fixed ratios, as a CSS class suffix ("16-9")."""
        aspect = self.aspect
        scale = min(SCALE_ASPECTS, key=lambda name: abs(SCALE_ASPECTS[name] - aspect))
        return scale.replace(":", "-")

    @property
    def is_pending(self):
        return self.state in PENDING_STATES

    @property
    def available_buttons(self):
        if not self.buttons:
            return []
        taken = set(self.used_buttons or ()) | set(
            self.children.exclude(state__in=(State.FAILED, State.UNKNOWN)).values_list(
                "button", flat=True
            )
        )
        return [b for b in self.buttons if b not in taken]

    @property
    def retry_refusal(self):
        """Why asking again cannot succeed, as the sentence to show; "" when it can."""
        if self.state not in SETTLED_UNWELL:
            return "Only failed images can be retried."
        if self.button and self.parent_id is None:
            return describe(Failure.ORPHANED)
        if self.failure and not retryable(self.failure):
            return self.error_message or describe(self.failure)
        return ""

    @property
    def can_retry(self):
        return not self.retry_refusal

    def make_button_child(self, button, author, api_token=None):
        """Create the draft U/V child for `button`; raises ValueError with a human reason."""
        if self.state != State.DONE:
            raise ValueError("Upscale and variation work on finished images only.")
        if button not in BUTTONS:
            raise ValueError(f"{button} is not an Akool button.")
        if button.startswith("U") and self.button.startswith("U"):
            raise ValueError("This image is already an upscale.")
        if self.buttons is None:
            raise ValueError(
                "Akool has not yet said which upscales and variations this image offers; "
                "try again in a moment."
            )
        if button not in self.available_buttons:
            raise ValueError(f"{button} has already been used on this image.")
        from ..pricing import estimate_button_credits

        return Job.objects.create(
            estimated_credit=estimate_button_credits(button, self.generation.resolution),
            generation=self.generation,
            team=self.team,
            author=author,
            parent=self,
            button=button,
            api_token=api_token,
            index=self.index,
            next_poll_at=timezone.now() + timedelta(seconds=60),
        )

    def claim(self, from_states, to_state, **changes):
        """Move this job from one of `from_states` to `to_state` unless someone else did first.

        The conditional UPDATE is the lock: of two workers racing, exactly one sees a row count
        of 1 and goes on; the other returns quietly.
        """
        if isinstance(from_states, str):
            from_states = (from_states,)
        changes["updated_at"] = timezone.now()
        claimed = Job.objects.filter(pk=self.pk, state__in=from_states).update(
            state=to_state, **changes
        )
        if claimed:
            self.state = to_state
            for name, value in changes.items():
                setattr(self, name, value)
            if to_state in SETTLED and to_state not in from_states:
                self._settled()
        return bool(claimed)

    def _settled(self):
        """Tell whoever asked (channels, the author by email) that this job ended; a failure
        to tell is logged, never raised into the move it reports."""
        # Imported here: notifications read jobs, so this module cannot import them at load.
        from ..notify.events import job_settled

        job_settled(self)

    def next_poll_delay(self):
        """Seconds until the next status check: quick at first, then backing off.

        With webhooks on, polling is only the safety net, so it starts late and stays slow.
        """
        if self.team.webhook_url():
            return 60 if self.attempts == 0 else 30
        return min(2 * 1.5**self.attempts, 15)

    def apply_status(self, result):
        """Apply what Akool reported about this job (an `ImageResult`, from a poll or a
        webhook alike). True when the job is now ours to store: the caller must then queue
        the store task.

        Every move is a conditional update, so a webhook and a poll racing on one job apply
        it once; the loser changes nothing.
        """
        now = timezone.now()
        extra = {"akool_status": result.status}
        if result.deduction_credit is not None:
            extra["deduction_credit"] = result.deduction_credit
        if result.buttons is not None:
            extra["buttons"] = list(result.buttons)
            extra["used_buttons"] = list(result.used_buttons or ())
        if self.state == State.DONE:
            # Stored already; the poll was for the buttons a webhook could not tell.
            if result.buttons is None:
                return False
            self.claim(State.DONE, State.DONE, next_poll_at=None, **extra)
            return False
        if result.status == STATUS_COMPLETED and result.image_url:
            if result.buttons is None:
                # Unknown, not "none": the store task asks Akool once.
                extra["buttons"] = None
            return self.claim(
                FOLLOWED_STATES,
                State.STORING,
                result_url=result.image_url,
                result_seen_at=now,
                completed_at=now,
                lease_until=now + timedelta(seconds=settings.STORE_LEASE_SECONDS),
                next_poll_at=None,
                attempts=0,
                **extra,
            )
        if result.status == STATUS_FAILED:
            self.mark_failed(Failure.AKOOL_FAILED, from_states=FOLLOWED_STATES, **extra)
            return False
        # 1, 2, or 3 whose URL is not there yet (Akool can lag): keep following.
        if self.state not in FOLLOWED_STATES:
            return False
        if result.status in (STATUS_PROCESSING, STATUS_COMPLETED):
            target = State.PROCESSING
        else:
            target = self.state
        self.claim(
            FOLLOWED_STATES,
            target,
            next_poll_at=now + timedelta(seconds=self.next_poll_delay()),
            attempts=self.attempts + 1,
            **extra,
        )
        return False

    def mark_failed(self, failure, detail="", code=None, from_states=PENDING_STATES, **changes):
        """End the job without an image, for `failure` (a Failure; `detail` completes its
        sentence, see failures.describe)."""
        state = {Failure.UNKNOWN: State.UNKNOWN, Failure.EXPIRED: State.EXPIRED}.get(
            failure, State.FAILED
        )
        return self.claim(
            from_states,
            state,
            failure=failure,
            error_message=describe(failure, detail),
            error_code=code,
            next_poll_at=None,
            lease_until=None,
            **changes,
        )


class Favourite(models.Model):
    """A person's star on an image."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "job"], name="one_star")]

    def __str__(self):
        return f"{self.user} ★ {self.job_id}"


class CardRemovalQuerySet(models.QuerySet):
    def since(self, team, moment):
        """Codes of the team's cards removed at or after `moment` (the index answers it)."""
        return self.filter(team=team, removed_at__gte=moment).values_list("code", flat=True)


class CardRemoval(models.Model):
    """A card that left the team's gallery (deleted, dismissed, replaced by a retry).

    A deleted row leaves nothing to find, so open galleries learn of it from this small
    tombstone, read by the live poller. Rows older than KEEP are pruned as new ones come:
    a page whose cursor is older than that reloads instead of trusting them.
    """

    KEEP = timedelta(days=1)

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    code = models.UUIDField()
    removed_at = models.DateTimeField(default=timezone.now)

    objects = CardRemovalQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["team", "removed_at"], name="card_removal_recent")]

    def __str__(self):
        return f"{self.code} removed {self.removed_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, team, *codes):
        now = timezone.now()
        cls.objects.filter(team=team, removed_at__lt=now - cls.KEEP).delete()
        cls.objects.bulk_create(cls(team=team, code=code, removed_at=now) for code in codes)


class PollerLease(models.Model):
    """Who may run the follower right now. One row per loop; the lease is the lock."""

    name = models.CharField(max_length=50, primary_key=True)
    owner = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name} lease until {self.lease_until}"

    @classmethod
    def acquire(cls, token, duration, name="follow"):
        now = timezone.now()
        if not cls.objects.filter(name=name).exists():
            # A racing worker may create it first: fine, the update below decides.
            with contextlib.suppress(IntegrityError):
                cls.objects.create(name=name)
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        return bool(
            cls.objects.filter(free, name=name).update(owner=token, lease_until=now + duration)
        )

    @classmethod
    def renew(cls, token, duration, name="follow"):
        cls.objects.filter(name=name, owner=token).update(lease_until=timezone.now() + duration)

    @classmethod
    def release(cls, token, name="follow"):
        cls.objects.filter(name=name, owner=token).update(owner="", lease_until=None)
