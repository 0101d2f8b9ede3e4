"""Signed positions in a team's gallery: the keyset cursor of a page (pages and the API) and
the live poller's "since" token. Both are signed, so a client can hand back only what we gave
out; a token that is missing or not ours reads as None."""

import uuid
from datetime import datetime, timedelta

from django.core import signing
from django.utils import timezone

CURSOR_SALT = "generator.gallery-cursor"
LIVE_SALT = "generator.gallery-live"
# A job's created_at is stamped a moment before its row commits, so a poll looks back this far
# past its cursor; the cursor lists what it already sent from that stretch, and the page never
# inserts a card it shows already, so nothing arrives twice.
LIVE_OVERLAP = timedelta(seconds=30)


def make_cursor(job):
    return signing.dumps([job.created_at.isoformat(), job.pk], salt=CURSOR_SALT)


def read_cursor(token):
    """(created_at, id) from a cursor, or None when it is missing or not one of ours."""
    if not token:
        return None
    try:
        stamp, pk = signing.loads(token, salt=CURSOR_SALT)
        return datetime.fromisoformat(stamp), int(pk)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def make_live_token(stamp, seen=()):
    """The poller's "since" cursor: the moment it covers up to, and the codes it has sent
    from the overlap before that moment."""
    return signing.dumps([stamp.isoformat(), sorted(code.hex for code in seen)], salt=LIVE_SALT)


def read_live_token(token):
    """(stamp, set of codes) from a live cursor, or None when missing or not one of ours."""
    if not token:
        return None
    try:
        stamp, seen = signing.loads(token, salt=LIVE_SALT)
        stamp = datetime.fromisoformat(stamp)
        if timezone.is_naive(stamp):
            return None
        return stamp, {uuid.UUID(code) for code in seen}
    except (signing.BadSignature, ValueError, TypeError, AttributeError):
        return None
