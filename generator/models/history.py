"""A person's recent prompts in one team, with the settings they were used with.

Kept apart from generations so deleting images never empties it; one row per distinct prompt
and settings, moved to the top (and counted) each time it is used again.
"""

import hashlib
import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone

from .generations import Settings
from .teams import Team


class PromptHistoryQuerySet(models.QuerySet):
    def of(self, user, team):
        """The person's own entries in the team, most recently used first."""
        return self.filter(user=user, team=team).order_by("-last_used_at", "-id")

    def matching(self, text):
        words = (text or "").split()
        rows = self
        for word in words[:8]:
            rows = rows.filter(prompt__icontains=word)
        return rows


class PromptHistory(Settings):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompt_history"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="prompt_history")
    # sha256 of the parameters: the unique key (a prompt may be 2000 characters long).
    params_hash = models.CharField(max_length=64)
    uses = models.PositiveIntegerField(default=1)
    last_used_at = models.DateTimeField(default=timezone.now)

    objects = PromptHistoryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "team", "params_hash"], name="one_history_entry"
            )
        ]
        indexes = [
            models.Index(fields=["user", "team", "-last_used_at"], name="history_recent"),
        ]
        verbose_name_plural = "prompt history"

    def __str__(self):
        return f"{self.user} · {self.prompt[:40]}"

    @classmethod
    def record(cls, generation):
        """Note that `generation`'s author used its prompt and settings now. Call inside the
        transaction that stores the generation."""
        if generation.author_id is None:
            return
        values = generation.parameters
        digest = hashlib.sha256(
            json.dumps(values, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest()
        now = timezone.now()
        entry, created = cls.objects.get_or_create(
            user_id=generation.author_id,
            team_id=generation.team_id,
            params_hash=digest,
            defaults={**values, "last_used_at": now},
        )
        if not created:
            cls.objects.filter(pk=entry.pk).update(uses=F("uses") + 1, last_used_at=now)
