"""The one way to write the audit log: `audit.record(...)`, called by a view at the point its
action succeeds, inside the same transaction (so a rolled-back action leaves no entry)."""

from .models import AuditAction, AuditEntry

__all__ = ["AuditAction", "record"]

# Values under these names are never stored, whatever a caller passes: the log is read by
# every admin of the team and must not become a second place where credentials live.
SECRET_NAMES = ("key", "secret", "token", "password", "client_id", "clientid")


class SecretInDetails(ValueError):
    pass


def _check(details):
    for name, value in details.items():
        lowered = name.lower()
        if any(word in lowered for word in SECRET_NAMES):
            raise SecretInDetails(f"Audit details must not hold {name!r}")
        if isinstance(value, dict):
            _check(value)


def record(actor, team, action, target="", **details):
    """Append one entry: `actor` (a User or None) did `action` to `target` in `team`.

    `details` holds plain, non-secret facts (old and new role, budget figures, backend).
    """
    _check(details)
    return AuditEntry.objects.create(
        team=team,
        team_name=team.name if team is not None else "",
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_email=getattr(actor, "email", "") or "",
        action=action,
        target=str(target)[:255],
        details=details,
    )
