"""Making and revoking API tokens, each audited in the token's team (the pages and the
`create_api_token` command go through here)."""

from django.db import transaction

from . import audit
from .models import ApiToken, AuditAction


def _record(actor, token, action):
    audit.record(
        actor,
        token.team,
        action,
        target=f"{token.get_kind_display()} API token “{token.name}” ({token.hint}…)",
        kind=token.kind,
        scope=token.scope,
        role=token.role or "",
        person=token.user.email if token.user else "",
        expires=token.expires_at.isoformat() if token.expires_at else "never",
        cap=token.monthly_cap,
    )


def issue_token(actor, **fields):
    """Make a token and audit it; returns (token, secret)."""
    with transaction.atomic():
        token, secret = ApiToken.issue(created_by=actor, **fields)
        _record(actor, token, AuditAction.API_TOKEN_CREATED)
    return token, secret


def revoke_token(actor, token):
    """Revoke and audit (once, however often it is asked)."""
    with transaction.atomic():
        if token.revoke():
            _record(actor, token, AuditAction.API_TOKEN_REVOKED)
