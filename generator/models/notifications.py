"""Where a team's news goes (channels) and what became of each message sent there (deliveries).

A channel's address is a secret (a Slack or Discord webhook URL is enough to post into the
room), so it is stored encrypted like the team's Akool key and never shown again: pages show
its kind, its name and the host it posts to. A generic webhook also holds the secret it signs
its requests with (generator/lib/signing.py), shown once when the channel is made.
"""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..lib.crypto import EncryptedTextField
from .teams import Team


class ChannelKind(models.TextChoices):
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    DISCORD = "discord", "Discord"
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Signed webhook"


class Event(models.TextChoices):
    GENERATION_DONE = "generation_done", "Generation finished"
    GENERATION_FAILED = "generation_failed", "Generation failed"
    BUDGET_80 = "budget_80", "Budget at 80 %"
    BUDGET_100 = "budget_100", "Budget used up"
    KEY_INVALID = "key_invalid", "Akool key invalid"
    ACCOUNT = "account", "Akool account banned or out of credit"
    SHARE_CREATED = "share_created", "Share link created"
    # Only the "Send test" button sends it; a channel need not subscribe.
    TEST = "test", "Test message"


SUBSCRIBABLE = [(value, label) for value, label in Event.choices if value != Event.TEST]


def _all_events():
    return [value for value, _ in SUBSCRIBABLE]


def signing_secret():
    return "whsec_" + secrets.token_urlsafe(32)


class Channel(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="channels")
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    # The webhook URL (or, for email, the addresses): write-only from the UI.
    target = EncryptedTextField()
    # What pages may show instead: the host posted to, or how many addresses.
    target_hint = models.CharField(max_length=255, blank=True, default="")
    signing_secret = EncryptedTextField(blank=True, default="")
    events = models.JSONField(default=_all_events)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return f"{self.get_kind_display()} “{self.name}” of {self.team}"

    def wants(self, event):
        return event == Event.TEST or (self.enabled and event in self.events)

    @property
    def event_labels(self):
        labels = dict(Event.choices)
        return [labels[e] for e in self.events if e in labels]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Will retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class DeliveryQuerySet(models.QuerySet):
    def due(self, now=None):
        """Deliveries to send now: waiting ones whose time came, and sends a worker took and
        never finished (it died)."""
        now = now or timezone.now()
        waiting = Q(status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING))
        waiting &= Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
        abandoned = Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
        return self.filter(waiting | abandoned)


class Delivery(models.Model):
    """One message to one channel (or to one person's mailbox): the delivery log's row.

    `key` names the happening (a generation settling, a budget month crossing 80 %), so one
    happening reaches a channel once even when two workers notice it together. The payload
    and `last_error` hold no secret: the channel's address never leaves the channel.
    """

    LEASE = timedelta(minutes=2)

    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notification_deliveries",
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=Event.choices)
    key = models.CharField(max_length=120)
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "key"],
                condition=Q(channel__isnull=False),
                name="delivery_once_per_channel",
            ),
            models.UniqueConstraint(
                fields=["recipient", "key"],
                condition=Q(recipient__isnull=False),
                name="delivery_once_per_person",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.get_event_display()} → {self.channel or self.recipient} ({self.status})"

    def claim(self, from_statuses, to_status, **changes):
        """Move this delivery on unless another worker did first (the row count decides)."""
        claimed = Delivery.objects.filter(pk=self.pk, status__in=from_statuses).update(
            status=to_status, **changes
        )
        if claimed:
            self.status = to_status
            for name, value in changes.items():
                setattr(self, name, value)
        return bool(claimed)
