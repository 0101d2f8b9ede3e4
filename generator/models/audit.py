"""The append-only audit log of what happened to a team."""

import re

from django.conf import settings
from django.db import models
from django.utils import timezone

from .teams import Team


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
    # Boards and tags are shared by the team: changes to other people's images are logged.
    BOARD_IMAGES = "board_images", "Images put on a board"
    BOARD_IMAGE_REMOVED = "board_image_removed", "Image taken off a board"
    BOARD_DELETED = "board_deleted", "Board deleted"
    IMAGE_TAGS = "image_tags", "Image tags changed"
    TEAM_TRANSFERRED = "team_transferred", "Team transferred"
    TEAM_DELETED = "team_deleted", "Team deleted"
    SHARE_CREATED = "share_created", "Share link created"
    SHARE_EDITED = "share_edited", "Share link edited"
    SHARE_REVOKED = "share_revoked", "Share link revoked"
    SHARING_CHANGED = "sharing_changed", "Sharing settings changed"
    API_TOKEN_CREATED = "api_token_created", "API token created"
    API_TOKEN_REVOKED = "api_token_revoked", "API token revoked"
    IMAGE_RESTORED = "image_restored", "Images restored from the trash"
    TRASH_EMPTIED = "trash_emptied", "Trash emptied"
    # Written by schedules, with no actor: one summary entry per team and run.
    TRASH_PURGED = "trash_purged", "Trash purged after its time"
    RETENTION_APPLIED = "retention_applied", "Retention policy applied"
    RETENTION_CHANGED = "retention_changed", "Retention settings changed"
    PERSON_ERASED = "person_erased", "Person's data erased"
    PROMPT_BLOCKED = "prompt_blocked", "Prompt refused by moderation"
    BLOCKLIST_CHANGED = "blocklist_changed", "Blocked words changed"
    # Presets are the team's: changes to someone else's are logged.
    PRESET_EDITED = "preset_edited", "Prompt preset edited"
    PRESET_DELETED = "preset_deleted", "Prompt preset deleted"
    CHANNEL_ADDED = "channel_added", "Notification channel added"
    CHANNEL_CHANGED = "channel_changed", "Notification channel changed"
    CHANNEL_REMOVED = "channel_removed", "Notification channel removed"


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

    # The one exception to "append-only". A data-protection erasure must not leave a person's
    # name and address behind in the log, while the log must still say what happened and when.
    # So this replaces exactly the person's identifying strings and nothing else; it goes
    # through Django's plain QuerySet.update on purpose, past AuditQuerySet's refusal, and is
    # called only by people.erase_person (itself audited).
    ERASED = "erased person"

    @classmethod
    def anonymise(cls, user):
        """Remove `user`'s email and name from every entry (as actor, target, or in the
        details). Returns the number of entries changed."""
        email, name = user.email, user.name
        rows = cls.objects.filter(
            models.Q(actor=user)
            | models.Q(actor_email__iexact=user.email)
            | models.Q(target__icontains=user.email)
            | models.Q(details__icontains=user.email)
        )
        changed = 0
        for entry in rows:
            values = {
                "actor": None if entry.actor_id == user.pk else entry.actor_id,
                "actor_email": ""
                if entry.actor_email.lower() == user.email.lower()
                else (entry.actor_email),
                "target": _scrub(entry.target, email, name),
                "details": _scrub(entry.details, email, name),
            }
            changed += models.QuerySet.update(cls.objects.filter(pk=entry.pk), **values)
        return changed


def _scrub(value, email, name):
    """`value` (a string, or JSON of lists and dicts) with the email replaced wherever it
    appears, and the name where it is a whole value (a short name would match inside words)."""
    if isinstance(value, str):
        if name and value == name:
            return AuditEntry.ERASED
        return re.sub(re.escape(email), AuditEntry.ERASED, value, flags=re.IGNORECASE)
    if isinstance(value, list):
        return [_scrub(item, email, name) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, email, name) for key, item in value.items()}
    return value
