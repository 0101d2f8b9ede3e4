"""People, teams, credentials, and the generation pipeline's rows."""

import contextlib
import datetime
import secrets
import uuid
import zoneinfo
from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import IntegrityError, models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property

from .lib.crypto import DecryptionError, EncryptedTextField

# --- people ----------------------------------------------------------------------------------


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; the email address is the login."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The team the person last worked in, so they land there next time.
    current_team = models.ForeignKey(
        "Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email

    @property
    def display_name(self):
        return self.name or self.email.split("@")[0]


# --- teams -----------------------------------------------------------------------------------


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2, Role.OWNER: 3}
# Roles that can generate at all, for "which roles may use X" rules (as "X and up").
GENERATING_ROLES = [
    (Role.MEMBER, "Members and up"),
    (Role.ADMIN, "Admins and owners"),
    (Role.OWNER, "Owners only"),
]


class TeamQuerySet(models.QuerySet):
    def for_user(self, user):
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user)


class Backend(models.TextChoices):
    SANDBOX = "sandbox", "Built-in sandbox (free, fake images)"
    AKOOL = "akool", "Akool (real API key)"


def _webhook_token():
    return secrets.token_urlsafe(24)


# Why a team cannot call Akool, as members read it.
NO_KEY = "This team has no Akool API key yet; ask an admin to add one in Team settings."
UNREADABLE_KEY = (
    "This team's Akool API key cannot be read on this server right now; "
    "an admin can see how to fix it in Team settings."
)


class Team(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.SANDBOX)
    # Credentials are write-only from the UI: only the last four characters are ever shown.
    api_key = EncryptedTextField(blank=True, default="")
    api_key_last4 = models.CharField(max_length=4, blank=True, default="")
    client_id = EncryptedTextField(blank=True, default="")
    use_token_auth = models.BooleanField(
        default=False, help_text="Authenticate with a bearer token fetched with the clientId."
    )
    # Part of the webhook URL Akool calls back; unguessable so nobody can post fake results.
    webhook_token = models.CharField(max_length=64, unique=True, default=_webhook_token)
    time_zone = models.CharField(max_length=64, default="UTC")
    # Cost control: credits the team may spend per calendar month (in `time_zone`); empty means
    # no limit. The role rules name the lowest role allowed to use each costly option.
    monthly_budget = models.PositiveIntegerField(
        null=True, blank=True, help_text="Credits per calendar month; leave empty for no limit."
    )
    min_role_4k = models.CharField(
        max_length=10, choices=GENERATING_ROLES, default=Role.MEMBER, verbose_name="4K images"
    )
    min_role_batch = models.CharField(
        max_length=10,
        choices=GENERATING_ROLES,
        default=Role.MEMBER,
        verbose_name="More than one image at a time",
    )
    min_role_i2i = models.CharField(
        max_length=10, choices=GENERATING_ROLES, default=Role.MEMBER, verbose_name="Image to image"
    )

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def set_credentials(self, api_key, client_id=""):
        self.api_key = api_key
        self.api_key_last4 = api_key[-4:] if api_key else ""
        self.client_id = client_id
        self.__dict__.pop("credentials_unreadable", None)

    def decrypt_credentials(self):
        """Read the stored secrets now; raises DecryptionError when no configured key fits."""
        return self.api_key, self.client_id

    @cached_property
    def credentials_unreadable(self):
        """True when a stored secret fits no key in FIELD_ENCRYPTION_KEYS (the setting changed
        or lost a key). Calls to Akool and its webhooks wait until an admin enters the key
        again or the old key is put back in the setting."""
        try:
            self.decrypt_credentials()
        except DecryptionError:
            return True
        return False

    def credentials_problem(self):
        """Why this team cannot call Akool right now, as a sentence; "" when it can."""
        if not self.has_credentials:
            return NO_KEY
        if self.credentials_unreadable:
            return UNREADABLE_KEY
        return ""

    def use_sandbox(self, account):
        """Switch to the built-in sandbox with the emulator `account` provisioned for it (the
        caller provisions it and saves): the product reaches the emulator only through its URL
        and that one provisioning call."""
        self.backend = Backend.SANDBOX
        self.use_token_auth = False
        self.set_credentials(account.api_key, account.client_id)

    @property
    def has_credentials(self):
        return bool(self.api_key_last4)

    @property
    def masked_key(self):
        return f"••••{self.api_key_last4}" if self.api_key_last4 else ""

    @property
    def is_sandbox(self):
        return self.backend == Backend.SANDBOX

    def akool_base_url(self):
        return settings.AKOOL_SANDBOX_URL if self.is_sandbox else settings.AKOOL_BASE_URL

    def akool_client(self, **kwargs):
        """The client for this team's Akool. Raises a TRANSIENT AkoolError while its secrets
        cannot be decrypted: work waits (backing off) until an admin mends the key."""
        from .akool.client import AkoolClient, AkoolError, ErrorKind

        if self.credentials_unreadable:
            raise AkoolError(UNREADABLE_KEY, kind=ErrorKind.TRANSIENT)
        kwargs.setdefault("create_read_timeout", settings.AKOOL_CREATE_TIMEOUT_SECONDS)
        return AkoolClient(
            self.akool_base_url(),
            self.api_key,
            client_id=self.client_id,
            use_token=self.use_token_auth and bool(self.client_id),
            **kwargs,
        )

    def fetchable_url(self, path):
        """An absolute address of ours for `path` that this team's Akool can fetch."""
        if self.is_sandbox and not settings.PUBLIC_BASE_URL:
            # The sandbox runs inside this app, so it reaches us on the internal address.
            parsed = urlparse(settings.AKOOL_SANDBOX_URL)
            return f"{parsed.scheme}://{parsed.netloc}{path}"
        return f"{settings.PUBLIC_BASE_URL}{path}"

    def webhook_url(self):
        """The callback URL Akool should post to, or "" when the app is not reachable."""
        if not settings.PUBLIC_BASE_URL or self.credentials_unreadable or not self.client_id:
            return ""
        return f"{settings.PUBLIC_BASE_URL}/hooks/akool/{self.webhook_token}/"

    @property
    def webhooks_need_client_id(self):
        """The app takes webhooks, but Akool signs them with the clientId this team lacks."""
        return bool(settings.PUBLIC_BASE_URL) and self.has_credentials and not self.client_id

    def zone(self):
        try:
            return zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return datetime.UTC

    def month_window(self, when=None, months_back=0):
        """[start, end) of a calendar month in the team's time zone, as aware datetimes:
        the month holding `when` (default now), or one `months_back` before it. Budgets and
        usage reports both count by this window, so they always agree."""
        local = timezone.localtime(when or timezone.now(), self.zone())
        index = local.year * 12 + (local.month - 1) - months_back
        start = datetime.datetime(index // 12, index % 12 + 1, 1, tzinfo=self.zone())
        end = datetime.datetime((index + 1) // 12, (index + 1) % 12 + 1, 1, tzinfo=self.zone())
        return start, end

    def stored_file_names(self):
        """Every stored file of this team: originals, renditions and uploaded sources."""
        names = set()
        for row in Job.objects.filter(team=self).values_list("original", "thumbnail", "preview"):
            names.update(row)
        names.update(Generation.objects.filter(team=self).values_list("source_upload", flat=True))
        names.discard("")
        return sorted(names)

    def role_of(self, user):
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None


class Membership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    # This person's own monthly limit within the team's budget; empty means none.
    monthly_cap = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="one_membership")]
        ordering = ["team__name", "user__email"]

    def __str__(self):
        return f"{self.user} in {self.team} ({self.role})"

    def allows(self, role):
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_admin(self):
        return self.allows(Role.ADMIN)

    @property
    def can_edit(self):
        """May generate, and act on the team's images (viewers only look)."""
        return self.allows(Role.MEMBER)

    def may_delete(self, job):
        """The one rule for deleting an image or dismissing a card: its author, or an admin."""
        return self.is_admin or (self.can_edit and job.author_id == self.user_id)


class InvitationQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(accepted_at__isnull=True, expires_at__gt=timezone.now())


def _invite_expiry():
    return timezone.now() + timedelta(days=7)


class Invitation(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_invite_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Invitation of {self.email} to {self.team}"

    @property
    def is_usable(self):
        return self.accepted_at is None and self.expires_at > timezone.now()


# --- the generation pipeline -----------------------------------------------------------------


class Mode(models.TextChoices):
    TEXT = "t2i", "Text to image"
    IMAGE = "i2i", "Image to image"


class Scale(models.TextChoices):
    SQUARE = "1:1", "1:1 square"
    LANDSCAPE_3_2 = "3:2", "3:2 landscape"
    LANDSCAPE_4_3 = "4:3", "4:3 landscape"
    WIDE = "16:9", "16:9 wide"
    PORTRAIT_2_3 = "2:3", "2:3 portrait"
    PORTRAIT_3_4 = "3:4", "3:4 portrait"
    TALL = "9:16", "9:16 tall"
    ORIGINAL = "Original", "Original (keep the source's shape)"


class Resolution(models.TextChoices):
    HD = "1080p", "1080p"
    UHD = "4k", "4K"


MODEL_FOR_MODE = {
    Mode.TEXT: "wavespeed-ai/flux-krea-dev-lora",
    Mode.IMAGE: "wavespeed-ai/flux-kontext-dev",
}


class Generation(models.Model):
    """What a person asked for: one create call to Akool, producing `batch` jobs."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="generations")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="generations"
    )
    created_at = models.DateTimeField(default=timezone.now)
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True, default="")
    mode = models.CharField(max_length=3, choices=Mode.choices, default=Mode.TEXT)
    model_name = models.CharField(max_length=100, blank=True, default="")
    scale = models.CharField(max_length=10, choices=Scale.choices, default=Scale.SQUARE)
    resolution = models.CharField(max_length=5, choices=Resolution.choices, default=Resolution.UHD)
    batch = models.PositiveSmallIntegerField(default=1)
    similar = models.FloatField(null=True, blank=True)
    # The URL Akool fetches the source from (a public URL, or our signed URL for an upload).
    source_url = models.URLField(max_length=2000, blank=True, default="")
    source_upload = models.FileField(upload_to="sources/%Y/%m/", blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.prompt[:60]

    @property
    def effective_model(self):
        return self.model_name or MODEL_FOR_MODE[self.mode]

    def create_jobs(self, count=None):
        """One draft job per image. Their next_poll_at is a safety net: if the queued submit
        task were lost, the follower sends it a minute later (the claim stops duplicates)."""
        from .pricing import credits_per_image

        retry_at = timezone.now() + timedelta(seconds=60)
        estimate = credits_per_image(self.resolution)
        return Job.objects.bulk_create(
            Job(
                generation=self,
                team=self.team,
                author=self.author,
                index=i,
                created_at=self.created_at,
                next_poll_at=retry_at,
                estimated_credit=estimate,
            )
            for i in range(count or self.batch)
        )

    def copy(self, author, batch=None):
        """A new generation with the same parameters (for "retry" and "re-run")."""
        fields = (
            "team",
            "prompt",
            "negative_prompt",
            "mode",
            "model_name",
            "scale",
            "resolution",
            "similar",
            "source_url",
            "source_upload",
        )
        from .source_links import refresh

        values = {name: getattr(self, name) for name in fields}
        # A link of ours to a source image expires; the copy is sent now, with a fresh one.
        values["source_url"] = refresh(self.source_url, self.team)
        return Generation.objects.create(author=author, batch=batch or self.batch, **values)


class State(models.TextChoices):
    DRAFT = "draft", "Waiting to be sent"
    SUBMITTING = "submitting", "Sending"
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    STORING = "storing", "Storing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Outcome unknown"
    EXPIRED = "expired", "Expired"


PENDING_STATES = (State.DRAFT, State.SUBMITTING, State.QUEUED, State.PROCESSING, State.STORING)
# Finished without an image: a card that can be retried or dismissed.
SETTLED_UNWELL = (State.FAILED, State.UNKNOWN, State.EXPIRED)
# States whose job exists at Akool and is followed by polling.
FOLLOWED_STATES = (State.QUEUED, State.PROCESSING)
BUTTONS = ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4")


# The redundant leading range (created_at <= / >=) lets the (team, -created_at, -id) index seek
# straight to the cursor; with the OR alone SQLite walks the index from the newest image, so a
# page deep in a large gallery cost several times the first (tests/benchmarks/gallery.py).
def _older_than(created_at, pk):
    return Q(created_at__lte=created_at) & (
        Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
    )


def _newer_than(created_at, pk):
    return Q(created_at__gte=created_at) & (
        Q(created_at__gt=created_at) | Q(created_at=created_at, pk__gt=pk)
    )


class JobQuerySet(models.QuerySet):
    def gallery(self, team, user):
        """Every job a gallery may show, with what a card needs in the same query."""
        return (
            self.filter(team=team, dismissed=False)
            .select_related("generation", "author")
            .annotate(
                starred=models.Exists(
                    Favourite.objects.filter(user=user, job=models.OuterRef("pk"))
                )
            )
        )

    def keyset_page(self, cursor=None, size=24):
        """One page, newest first, after `cursor` (a (created_at, id) pair), and whether
        another page follows.

        Keyset, never OFFSET: the (team, -created_at, -id) index finds the page's start
        directly, so page 40 costs what page 1 costs, and images arriving meanwhile never shift
        a page."""
        jobs = self.filter(_older_than(*cursor)) if cursor else self
        rows = list(jobs.order_by("-created_at", "-id")[: size + 1])
        return rows[:size], len(rows) > size

    def neighbours(self, job):
        """The codes of the images before (newer) and after (older) `job` in this set."""
        newer = (
            self.filter(_newer_than(job.created_at, job.pk))
            .order_by("created_at", "id")
            .values_list("code", flat=True)
            .first()
        )
        older = (
            self.filter(_older_than(job.created_at, job.pk))
            .order_by("-created_at", "-id")
            .values_list("code", flat=True)
            .first()
        )
        return newer, older

    def due_for_poll(self, now=None):
        """Jobs to ask Akool about: those in flight, and finished ones whose buttons a
        webhook could not tell (webhooks carry none)."""
        now = now or timezone.now()
        return self.filter(
            Q(state__in=FOLLOWED_STATES) | Q(state=State.DONE, buttons__isnull=True),
            next_poll_at__lte=now,
        )

    def due_for_submit(self, now=None):
        now = now or timezone.now()
        return self.filter(state=State.DRAFT, next_poll_at__lte=now)

    def lease_expired(self, now=None):
        """Steps a worker claimed and never finished (it crashed or was killed)."""
        now = now or timezone.now()
        return self.filter(state__in=(State.SUBMITTING, State.STORING), lease_until__lt=now)


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
    preview = models.FileField(upload_to="previews/%Y/%m/", blank=True, default="")
    placeholder_color = models.CharField(max_length=7, blank=True, default="")

    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True, default="")
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    # A failed card the team no longer wants to see (the row stays for the usage records).
    dismissed = models.BooleanField(default=False)

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
        ]

    def __str__(self):
        return f"{self.generation.prompt[:40]} #{self.index + 1} ({self.state})"

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

    def make_button_child(self, button, author):
        """Create the draft U/V child for `button`; raises ValueError with a human reason."""
        if self.state != State.DONE:
            raise ValueError("Upscale and variation work on finished images only.")
        if button not in BUTTONS:
            raise ValueError(f"{button} is not an Akool button.")
        if self.buttons is None:
            raise ValueError(
                "Akool has not yet said which upscales and variations this image offers; "
                "try again in a moment."
            )
        if button not in self.available_buttons:
            raise ValueError(f"{button} has already been used on this image.")
        from .pricing import estimate_button_credits

        return Job.objects.create(
            estimated_credit=estimate_button_credits(button, self.generation.resolution),
            generation=self.generation,
            team=self.team,
            author=author,
            parent=self,
            button=button,
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
        return bool(claimed)

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
        from .akool.client import STATUS_COMPLETED, STATUS_FAILED, STATUS_PROCESSING

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
            self.mark_failed(
                "Akool could not generate this image (it reported a failure). "
                "Try again, perhaps with a different prompt.",
                from_states=FOLLOWED_STATES,
                **extra,
            )
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

    def mark_failed(
        self, message, code=None, state=State.FAILED, from_states=PENDING_STATES, **changes
    ):
        return self.claim(
            from_states,
            state,
            error_message=message,
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


# --- audit log -------------------------------------------------------------------------------


class AuditAction(models.TextChoices):
    KEY_ADDED = "key_added", "API key added"
    KEY_REPLACED = "key_replaced", "API key replaced"
    KEY_REMOVED = "key_removed", "API key removed"
    MEMBER_INVITED = "member_invited", "Member invited"
    MEMBER_JOINED = "member_joined", "Member joined"
    MEMBER_REMOVED = "member_removed", "Member removed"
    ROLE_CHANGED = "role_changed", "Role changed"
    BUDGET_CHANGED = "budget_changed", "Budget changed"
    IMAGE_DELETED = "image_deleted", "Image deleted"
    TEAM_TRANSFERRED = "team_transferred", "Team transferred"
    TEAM_DELETED = "team_deleted", "Team deleted"


class AppendOnly(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditQuerySet(models.QuerySet):
    # Bulk changes would bypass the model's own refusal. (Deleting a team or a person still
    # works: Django's collector sets our foreign keys to NULL without going through these.)
    def update(self, **kwargs):
        raise AppendOnly("Audit entries cannot be changed.")

    def delete(self):
        raise AppendOnly("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """One thing that happened to a team: who, when, what. Never holds a secret value.

    The names are copied in, so an entry still reads right after its team or person is gone.
    """

    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    team_name = models.CharField(max_length=100)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_email = models.EmailField(blank=True, default="")
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    target = models.CharField(max_length=255, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["team", "-created_at", "-id"], name="audit_team")]

    def __str__(self):
        return f"{self.get_action_display()} by {self.actor_email or 'someone'} in {self.team_name}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Audit entries cannot be deleted.")
