"""Signed links to a team's images for Akool to fetch as image-to-image sources.

Two kinds of image are handed over: an uploaded source (kept on its Generation) and one of the
team's finished gallery images ("use as source"). Both go through this one signer: one salt,
one lifetime, one URL (`source_image`, served by views/hooks.py), one log redaction pattern.

Akool fetches the source when the job starts, so a link only needs to live for LIFETIME; a
form left open longer, a re-run or a retry asks for a fresh one (`refresh`). A link stops
working at once when its image is deleted: the view looks the row up on every fetch.
"""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.core import signing
from django.urls import Resolver404, resolve, reverse
from requests import RequestException

from .lib import ssrf
from .models import Generation, Job, State

# Long enough for Akool's fetch at job start (and its own retries), short enough that a link
# copied out of a request log is soon worthless.
LIFETIME = timedelta(hours=24)
SALT = "generator.source-link"
URL_NAME = "source_image"
UPLOAD, IMAGE = "u", "i"


def _sign(kind, code):
    return signing.dumps(f"{kind}:{code}", salt=SALT, compress=False)


def url_for(source):
    """The absolute link for a Generation's upload or a finished Job's original."""
    kind = UPLOAD if isinstance(source, Generation) else IMAGE
    path = reverse(URL_NAME, args=[_sign(kind, source.code)])
    return source.team.fetchable_url(path)


def _unsign(token, max_age):
    try:
        kind, code = signing.loads(token, salt=SALT, max_age=max_age).split(":", 1)
        return kind, uuid.UUID(code)
    except (signing.BadSignature, ValueError, AttributeError, TypeError):
        return None


def _lookup(kind, code, team=None):
    if kind == UPLOAD:
        rows = Generation.objects.filter(code=code).exclude(source_upload="")
    elif kind == IMAGE:
        rows = Job.objects.kept().select_related("generation").filter(code=code, state=State.DONE)
    else:
        return None
    if team is not None:
        rows = rows.filter(team=team)
    return rows.select_related("team").first()


def source_for_token(token):
    """The Generation or Job a live token names, or None (forged, expired, or deleted)."""
    parts = _unsign(token, LIFETIME)
    return _lookup(*parts) if parts else None


def stored_file(source):
    """The stored file a source link serves."""
    return source.source_upload if isinstance(source, Generation) else source.original


def source_for_url(url, team):
    """The team's Generation or Job behind one of our source links, or None.

    An expired signature still counts: the link was ours, the team is the caller's, and the
    image still exists; the caller hands out a fresh link (`refresh`)."""
    if not url:
        return None
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    if match.url_name != URL_NAME:
        return None
    parts = _unsign(match.kwargs["token"], max_age=None)
    return _lookup(*parts, team=team) if parts else None


def refresh(url, team):
    """`url` with a fresh signature when it is one of our links to an image the team still
    has; any other URL unchanged."""
    source = source_for_url(url, team)
    return url_for(source) if source else url


# Short: this runs in a worker, after Akool already refused, only to name the cause.
PROBE_TIMEOUT = (3.05, 5)


def why_unreachable(url, team):
    """Why Akool could not fetch the source `url`, as a clause ("the link answered 404"), or
    "" when it can be fetched or we cannot tell. A link of ours is looked up, not fetched."""
    if not url:
        return "no source image was given"
    try:
        ours = resolve(urlsplit(url).path).url_name == URL_NAME
    except Resolver404:
        ours = False
    if ours:
        return "" if source_for_url(url, team) else "the image it links to has been deleted"
    try:
        with (
            ssrf.guarded_session() as session,
            session.get(url, timeout=PROBE_TIMEOUT, stream=True) as response,
        ):
            if response.status_code >= 400:
                return f"the link answered {response.status_code}"
            kind = response.headers.get("Content-Type", "").split(";")[0].strip()
            if kind and not kind.startswith("image/"):
                return f"the link leads to {kind}, not an image"
    except ssrf.UnsafeURL:
        return "the link points at a private or local address"
    except RequestException:
        return "the link could not be reached"
    return ""
