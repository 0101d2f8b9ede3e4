"""Who an API request acts as: its bearer token, the membership the token acts through, the
scope it allows, and the per-token rate limit."""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from ninja.security import HttpBearer

from ..models import ApiToken, Membership, Role, Scope
from .problems import Problem

RATE_WINDOW_SECONDS = 60
# One sentence for every token that does not work, so a caller cannot tell a revoked token
# from a mistyped one.
BAD_TOKEN = "The API token is missing, wrong, expired or revoked."


@dataclass
class Caller:
    """What `request.auth` holds once a token is accepted."""

    token: ApiToken
    membership: Membership

    @property
    def team(self):
        return self.token.team

    @property
    def user(self):
        """The person a personal token acts as; None for a service token."""
        return self.token.user if self.token.is_personal else None

    @property
    def via(self):
        """How an audit entry names the token an action came through."""
        return f"API token “{self.token.name}” ({self.token.hint}…)"

    def require(self, scope, role=Role.VIEWER):
        """Refuse (403) unless the token's scope and the acting role allow this."""
        if not self.token.allows_scope(scope):
            raise Problem(403, f"This token's scope is {self.token.scope}; this needs {scope}.")
        if not self.membership.allows(role):
            raise Problem(403, f"This needs the {Role(role).label} role or higher.")

    def may_delete(self, job):
        """A personal token follows its person's rule; a service token may delete what it made,
        or anything when its role is admin."""
        if self.token.is_personal:
            return self.membership.may_delete(job)
        return self.membership.is_admin or (
            self.membership.can_edit and job.api_token_id == self.token.pk
        )


def _rate_limit(token):
    """Count this request in the token's current minute; 429 with Retry-After past the limit."""
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    key = f"api-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=RATE_WINDOW_SECONDS * 2)
        count = 1
    if count > settings.API_RATE_LIMIT_PER_MINUTE:
        wait = max(1, math.ceil((window + 1) * RATE_WINDOW_SECONDS - now))
        raise Problem(
            429,
            f"This token may make {settings.API_RATE_LIMIT_PER_MINUTE} requests a minute; "
            f"try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer akw_…`. Refusals are problems: 401 for a token that does not
    work (or whose person left the team), 429 past the rate limit."""

    openapi_description = "An API token from your account page or the team's settings."

    def __call__(self, request):
        # Parsed here rather than by HttpBearer, which logs a malformed header whole in DEBUG:
        # a secret sent as "Token akw_…" would land in the log.
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Problem(401, BAD_TOKEN, headers={"WWW-Authenticate": "Bearer"})
        return self.authenticate(request, secret.strip())

    def authenticate(self, request, token):
        found = ApiToken.find(token)
        membership = found.acting_membership() if found else None
        if membership is None:
            raise Problem(401, BAD_TOKEN, headers={"WWW-Authenticate": "Bearer"})
        _rate_limit(found)
        found.touch()
        return Caller(found, membership)


__all__ = ["BAD_TOKEN", "Caller", "Scope", "TokenAuth"]
