"""Teams, their roles and credentials, memberships and invitations."""

import datetime
import secrets
import uuid
import zoneinfo
from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property

from ..lib.crypto import DecryptionError, EncryptedTextField
from .people import User


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


def _resolutions():
    # Resolution lives with the generation, whose module imports this one.
    from .generations import Resolution

    return Resolution.choices


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
    # What the generate form starts with; Akool's own default is 4K.
    default_resolution = models.CharField(
        max_length=5,
        choices=_resolutions,
        default="4k",
        verbose_name="Default resolution",
        help_text="What the generate form starts with; each person can still change it.",
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
    # Share links (models/shares.py): an admin can turn them off, and then every link of the
    # team stops working; "never expires" is offered only when allowed here.
    sharing_enabled = models.BooleanField(default=True, verbose_name="Allow share links")
    share_never_expires_allowed = models.BooleanField(
        default=False, verbose_name="Allow share links that never expire"
    )
    # Retention (trash.py, retention.py): deleted images can be restored for `trash_days`,
    # then their files and rows go for good. The policy is off while `retention_days` is empty.
    trash_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        verbose_name="Keep deleted images in the trash for (days)",
        help_text="Deleted images can be restored until then; after that they are gone.",
    )
    retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(36500)],
        verbose_name="Move images older than (days) to the trash",
        help_text="Starred images and images on a board are kept. Leave empty to keep every image.",
    )
    # Prompt moderation (moderation.py): the team's own list, on top of the server's.
    blocked_phrases = models.TextField(
        blank=True,
        default="",
        max_length=20_000,
        verbose_name="Blocked words and phrases",
        help_text="One a line. A prompt containing one as a whole word or phrase is refused "
        "before anything is sent to Akool. Case, full-width and other compatibility forms "
        "and invisible characters make no difference.",
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
        from ..akool.client import AkoolClient
        from ..akool.errors import AkoolError, ErrorKind

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
        from .jobs import FILE_FIELDS

        for row in self.jobs.values_list(*FILE_FIELDS):
            names.update(row)
        names.update(self.generations.values_list("source_upload", flat=True))
        names.discard("")
        return sorted(names)

    def storage_used(self):
        """{"images", "bytes", "trash_images", "trash_bytes"}: the team's stored images and
        their files' real sizes, and the part of both waiting in the trash."""
        from .job_queries import kept
        from .jobs import Job

        stored = Job.objects.stored().filter(team=self)
        totals = stored.aggregate(
            images=models.Count("pk"),
            bytes=models.Sum("stored_bytes", default=0),
            trash_images=models.Count("pk", filter=~kept()),
            trash_bytes=models.Sum("stored_bytes", filter=~kept(), default=0),
        )
        return totals

    def role_of(self, user):
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None

    def lock_owners(self):
        """The owners' memberships, locked until the transaction ends, so two owners demoting
        or removing each other (or leaving at once) cannot leave the team ownerless."""
        return list(self.memberships.select_for_update().filter(role=Role.OWNER))

    def clear_current_team(self, user_ids):
        """People who are no longer in this team must not land in it next time."""
        User.objects.filter(pk__in=user_ids, current_team=self).update(current_team=None)


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

    def may_change(self, author_id):
        """The one rule for changing or deleting what someone made in the team (an image, a
        prompt preset): its author while a member, or an admin."""
        return self.is_admin or (self.can_edit and author_id == self.user_id)

    def may_delete(self, job):
        """Deleting an image or dismissing a card: its author, or an admin."""
        return self.may_change(job.author_id)


class InvitationQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Invitations whose link still works: `Invitation.state` is "usable" for exactly
        these (the same rule, read by the database; the two are kept side by side here)."""
        return self.filter(accepted_at__isnull=True, expires_at__gt=now or timezone.now())


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
    def state(self):
        """ "used", "expired", or "usable" while the link still works (the rule
        `InvitationQuerySet.usable` applies in the database)."""
        if self.accepted_at is not None:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "usable"

    @property
    def is_usable(self):
        return self.state == "usable"
