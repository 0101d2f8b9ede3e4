"""The sandbox's state: emulated Akool accounts, their image jobs, and a log of all traffic.

Credentials are stored in plain text on purpose: this is an emulator, its keys open nothing.
"""

import secrets
import time
from urllib.parse import urlsplit, urlunsplit

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

QUEUED, PROCESSING, COMPLETED, FAILED = 1, 2, 3, 4
ALL_BUTTONS = ("U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4")


def new_object_id():
    """A MongoDB-ObjectId-like id: 4 bytes of epoch seconds, then 8 random bytes (24 hex)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def new_task_id():
    return secrets.token_hex(16)


def epoch_ms(moment):
    return int(moment.timestamp() * 1000)


class SandboxAccount(models.Model):
    client_id = models.CharField(max_length=64, unique=True)
    api_key = models.CharField(max_length=64, unique=True)
    credit = models.IntegerField(default=0)
    banned = models.BooleanField(default=False)
    # One live token per account: handing the same one to every caller means concurrent
    # getToken calls never invalidate each other's cached token.
    token = models.CharField(max_length=512, blank=True, default="", db_index=True)
    uid = models.PositiveIntegerField()
    team_id = models.CharField(max_length=24)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.client_id

    def charge(self, amount):
        """Take `amount` credits if the balance allows it; False when it does not."""
        rows = SandboxAccount.objects.filter(pk=self.pk, credit__gte=amount).update(
            credit=F("credit") - amount
        )
        return rows == 1


class SandboxJob(models.Model):
    class Api(models.TextChoices):
        V4 = "v4", "v4 createBySourcePrompt"
        V3 = "v3", "v3 createbyprompt"
        BUTTON = "button", "createbybutton"

    job_id = models.CharField(max_length=24, unique=True, default=new_object_id)
    account = models.ForeignKey(SandboxAccount, on_delete=models.CASCADE, related_name="jobs")
    api = models.CharField(max_length=8, choices=Api.choices, default=Api.V4)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    op_button = models.CharField(max_length=2, blank=True, default="")
    op_button_message_id = models.CharField(max_length=20, blank=True, default="")
    prompt = models.TextField()
    negative_prompt = models.TextField(blank=True, default="")
    model_name = models.CharField(max_length=64, blank=True, default="")
    source_image = models.TextField(blank=True, default="")
    source_key = models.CharField(max_length=32, blank=True, default="")
    similar = models.FloatField(default=0.5)
    scale = models.CharField(max_length=10, default="1:1")
    resolution = models.CharField(max_length=8, default="4k")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    deduction_credit = models.IntegerField()
    will_fail = models.BooleanField(default=False)
    webhook_url = models.TextField(blank=True, default="")
    task_id = models.CharField(max_length=32, default=new_task_id)
    # The whole life of a job is fixed at creation; status is read off the clock, so no
    # background process has to move it along (and tests can time-travel by editing these).
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The database, not a read-then-write, stops two calls from using one button.
            models.UniqueConstraint(
                fields=["parent", "op_button"],
                condition=Q(parent__isnull=False),
                name="sandbox_button_used_once",
            )
        ]

    def __str__(self):
        return self.job_id

    def status(self, now=None):
        now = now or timezone.now()
        if now < self.started_at:
            return QUEUED
        if now < self.finished_at:
            return PROCESSING
        return FAILED if self.will_fail else COMPLETED

    @property
    def is_upscale(self):
        return self.op_button.startswith("U")

    @property
    def offers_buttons(self):
        # U children are final 4K images: nothing left to upscale or vary.
        return not self.is_upscale

    @property
    def create_time(self):
        return epoch_ms(self.created_at)

    @property
    def api_from(self):
        return 4 if self.api == self.Api.V4 else 1

    @property
    def sub_type(self):
        return 40002 if self.source_image else 40001


class SandboxRequest(models.Model):
    class Kind(models.TextChoices):
        CREATE = "create"
        BUTTON = "button"
        RESULT = "result"
        CREDIT = "credit"
        TOKEN = "token"
        DOWNLOAD = "download"
        WEBHOOK = "webhook"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    method = models.CharField(max_length=8)
    path = models.TextField()
    kind = models.CharField(max_length=10, choices=Kind.choices, db_index=True)
    job_id = models.CharField(max_length=24, blank=True, default="", db_index=True)
    account = models.ForeignKey(
        SandboxAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    # Request body (or query) with every credential removed.
    body = models.JSONField(default=dict, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    code = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} {self.job_id or '-'} {self.outcome}"


SECRET_WORDS = (
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "password",
    "authorization",
    "sig",
)


def redact_url(url):
    """Keep a URL's shape but not its capabilities: the app's webhook and upload links carry
    unguessable tokens in their path, and signed URLs carry them in the query."""
    parts = urlsplit(url)
    segments = ["***" if len(seg) >= 16 else seg for seg in parts.path.split("/")]
    return urlunsplit((parts.scheme, parts.netloc, "/".join(segments), "", ""))


def scrub(value):
    """Drop every credential-looking key, at any depth, before a body reaches the log."""
    if isinstance(value, dict):
        return {
            k: scrub(v)
            for k, v in value.items()
            if not any(word in str(k).lower() for word in SECRET_WORDS)
        }
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return redact_url(value)
    return value
