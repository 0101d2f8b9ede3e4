"""Signatures on the webhooks this app sends (docs/notifications.md tells receivers how to check
them).

The signed text is the Unix timestamp, a full stop, and the exact body bytes, so a receiver can
refuse both a changed body and an old request replayed later: it recomputes the HMAC-SHA256
with the channel's secret and accepts only a timestamp within REPLAY_WINDOW of its own clock.
"""

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Akool-Web-Timestamp"
SIGNATURE_HEADER = "X-Akool-Web-Signature"
# The version prefix lets the scheme change later without receivers guessing.
VERSION = "v1"
REPLAY_WINDOW = 300  # seconds either side of the receiver's clock


def signature(secret, timestamp, body):
    """The signature header's value for `body` (bytes) sent at `timestamp` (int seconds)."""
    message = str(int(timestamp)).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signed_headers(secret, body, now=None):
    timestamp = int(now if now is not None else time.time())
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(secret, headers, body, now=None, window=REPLAY_WINDOW):
    """Whether a request's headers sign `body` with `secret`, recently enough. What a receiver
    does, kept here so the documentation's recipe is tested code."""
    try:
        timestamp = int(headers.get(TIMESTAMP_HEADER, ""))
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > window:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, ""))
