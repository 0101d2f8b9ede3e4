"""API tokens: personal tokens that act as their person, and team service tokens with a role of
their own; and the idempotency keys a token's retried submits are matched by.

A token's secret is shown once, when it is made; only its SHA-256 is stored (a random 256-bit
secret needs no slow hash: nothing can be guessed from the digest). The recognisable prefix
lets secret scanners and people tell what a leaked string is.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .teams import ROLE_RANK, Membership, Role, Team

SECRET_PREFIX = "akw_"
# Shown beside a token's name so people can tell tokens apart: the prefix and a few characters
# of the secret, as much as GitHub shows of its own tokens.
HINT_CHARS = 4


class Scope(models.TextChoices):
    # Each level includes the ones before it.
    READ = "read", "Read (list and download images, usage)"
    GENERATE = "generate", "Generate (also start images and upscales)"
    MANAGE = "manage", "Manage (also delete images)"


SCOPE_RANK = {Scope.READ: 0, Scope.GENERATE: 1, Scope.MANAGE: 2}


class TokenKind(models.TextChoices):
    PERSONAL = "personal", "Personal"
    SERVICE = "service", "Team service"


def hash_secret(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """One token, for one team. A personal token acts as `user` with whatever role they hold in
    the team at the time of each request (leaving the team ends it); a service token acts with
    its own `role` and belongs to the team, whoever made it."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    kind = models.CharField(max_length=10, choices=TokenKind.choices)
    # Personal: the person it acts as. Service: nobody (created_by says who made it).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=80)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    # A service token's role; personal tokens take their person's.
    role = models.CharField(max_length=10, choices=Role.choices, blank=True, default="")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False)
    # Credits this token may use per month within the team's budget; empty means no cap.
    monthly_cap = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.hint}…)"

    @classmethod
    def issue(cls, **fields):
        """Create a token; returns (token, secret). The secret exists only in this answer."""
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            secret_hash=hash_secret(secret),
            hint=secret[: len(SECRET_PREFIX) + HINT_CHARS],
            **fields,
        )
        return token, secret

    @classmethod
    def find(cls, secret):
        """The usable token whose secret this is, with its team and person; None otherwise."""
        if not secret or not secret.startswith(SECRET_PREFIX):
            return None
        return (
            cls.objects.usable()
            .select_related("team", "user")
            .filter(secret_hash=hash_secret(secret))
            .first()
        )

    @property
    def is_personal(self):
        return self.kind == TokenKind.PERSONAL

    @property
    def state(self):
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def allows_scope(self, scope):
        return SCOPE_RANK[self.scope] >= SCOPE_RANK[scope]

    def acting_membership(self):
        """The Membership this token acts through: its person's, live (None once they left),
        or for a service token an unsaved one with the token's role and no person."""
        if self.is_personal:
            return (
                Membership.objects.select_related("team")
                .filter(team=self.team, user=self.user)
                .first()
            )
        return Membership(team=self.team, user=None, role=self.role)

    def touch(self, now=None):
        """Record a use, at most once a minute per token (a write per request is waste)."""
        now = now or timezone.now()
        recent = now - timedelta(minutes=1)
        ApiToken.objects.filter(pk=self.pk).filter(
            models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=recent)
        ).update(last_used_at=now)

    def revoke(self):
        """True when this call revoked it (False: it was revoked already)."""
        now = timezone.now()
        done = ApiToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=now)
        if done:
            self.revoked_at = now
        return bool(done)


def service_roles(creator_role):
    """The roles a service token made by someone with `creator_role` may have: never above
    theirs, never owner (a token cannot transfer or delete the team)."""
    return [
        (value, label)
        for value, label in Role.choices
        if value != Role.OWNER and ROLE_RANK[value] <= ROLE_RANK[creator_role]
    ]


# How long a submit's Idempotency-Key is remembered (as long as Stripe's): retries come within
# minutes; older keys are pruned as the token writes new ones.
IDEMPOTENCY_KEY_HOURS = 24


class IdempotencyKeyQuerySet(models.QuerySet):
    def current(self, token, now=None):
        cutoff = (now or timezone.now()) - timedelta(hours=IDEMPOTENCY_KEY_HOURS)
        return self.filter(token=token, created_at__gte=cutoff)

    def expired(self, token, now=None):
        cutoff = (now or timezone.now()) - timedelta(hours=IDEMPOTENCY_KEY_HOURS)
        return self.filter(token=token, created_at__lt=cutoff)


class IdempotencyKey(models.Model):
    """A submit made with an Idempotency-Key: its retry returns the same generation.

    The row is written in the same transaction as the generation it names, so a refused or
    failed submit leaves no key behind, and a concurrent retry waits on the unique index."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the request's fields and upload: the same key with another body is an error.
    fingerprint = models.CharField(max_length=64)
    generation = models.ForeignKey(
        "generator.Generation", null=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="one_idempotency_key")]

    def __str__(self):
        return f"Idempotency key of {self.token}"
