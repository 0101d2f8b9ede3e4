"""Emulated Akool credentials: provisioning, bearer tokens and header authentication."""

import base64
import hashlib
import hmac
import json
import secrets
import string
import time

from django.conf import settings

from .models import SandboxAccount

_B64 = string.ascii_letters + string.digits + "+/"
_ALNUM = string.ascii_letters + string.digits


def _random(alphabet, length):
    return "".join(secrets.choice(alphabet) for _ in range(length))


def provision_account(credit=None):
    """A fresh sandbox account with realistic-looking credentials (what a team gets on "Sandbox").

    Real clientIds look like "AK" + base64 + "=" (23 chars, so their first 16 bytes make a
    webhook IV); API keys are 32 alphanumerics (an AES-256 key for webhooks).
    """
    if credit is None:
        credit = getattr(settings, "SANDBOX_START_CREDIT", 10_000)
    return SandboxAccount.objects.create(
        client_id="AK" + _random(_B64, 20) + "=",
        api_key=_random(_ALNUM, 32),
        credit=credit,
        uid=secrets.randbelow(900_000) + 100_000,
        team_id=secrets.token_hex(12),
    )


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _make_token(account):
    # Shaped like Akool's HS256 JWTs (clients must treat it as opaque; the sandbox looks it up).
    now = int(time.time())
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "id": account.team_id,
        "uid": account.uid,
        "type": 1,
        "from": "openapi",
        "jti": secrets.token_hex(8),
        "iat": now,
        "exp": now + 3600 * 24 * 3600,  # "valid for more than one year"
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    sig = hmac.new(settings.SECRET_KEY.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(sig)}"


def token_for(account):
    """The account's live token, issued on first request and shared by every later caller."""
    if not account.token:
        # Conditional: two concurrent getToken calls agree on one token instead of racing.
        SandboxAccount.objects.filter(pk=account.pk, token="").update(token=_make_token(account))
        account.refresh_from_db(fields=["token"])
    return account.token


def revoke_tokens(account):
    """Invalidate the account's bearer token: its next use answers 1101 (like an expired JWT)."""
    SandboxAccount.objects.filter(pk=account.pk).update(token="")
    account.token = ""


class AuthError(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def authenticate(request):
    """The account behind a request's auth headers, or AuthError(1101/1102/1200).

    Akool's rule: when Authorization carries a value it is used and x-api-key is ignored, so a
    stale bearer token next to a valid key still fails.
    """
    authorization = request.headers.get("Authorization", "").strip()
    api_key = request.headers.get("x-api-key", "").strip()
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthError(1101, "Invalid authorization or token expired")
        account = SandboxAccount.objects.filter(token=token).first()
    elif api_key:
        account = SandboxAccount.objects.filter(api_key=api_key).first()
    else:
        raise AuthError(1102, "Authorization cannot be empty")
    if account is None:
        raise AuthError(1101, "Invalid authorization or token expired")
    if account.banned:
        raise AuthError(1200, "The account has been banned")
    return account
