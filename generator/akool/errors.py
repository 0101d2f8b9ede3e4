"""What can go wrong talking to Akool, as one error type whose `kind` says what the caller
may do next (see the client's docstring), Akool's error codes as sentences, and the
classification of a network failure by whether a request may have reached Akool.

Protocol reference: docs/akool-api.md (section numbers below point into it).
"""

from __future__ import annotations

import enum
import ssl
from collections.abc import Iterator
from typing import Any

import urllib3.exceptions
from requests import exceptions as rex


class ErrorKind(enum.StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    UNKNOWN = "unknown"


class AkoolError(Exception):
    """A failed Akool call.

    `message` is a sentence fit to show a user; it never holds secrets or tracebacks.
    `code` is Akool's body code, or None for network / HTTP-level failures.
    `detail` is Akool's own `msg` (secrets scrubbed), kept for logs and debugging.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        kind: ErrorKind = ErrorKind.PERMANENT,
        http_status: int | None = None,
        detail: str = "",
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.kind = ErrorKind(kind)
        self.http_status = http_status
        self.detail = detail

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, "
            f"kind={self.kind.value!r}, http_status={self.http_status!r})"
        )


class DownloadError(AkoolError):
    """A result image could not be fetched. `expired` means the CDN URL is gone for good."""

    def __init__(
        self,
        message: str,
        *,
        expired: bool = False,
        code: int | None = None,
        kind: ErrorKind = ErrorKind.PERMANENT,
        http_status: int | None = None,
        detail: str = "",
    ):
        super().__init__(message, code=code, kind=kind, http_status=http_status, detail=detail)
        self.expired = expired


# §6.1. Exact `msg` strings are undocumented, so users see our sentence, not Akool's.
ERROR_MESSAGES: dict[int, str] = {
    1003: "Akool rejected the request: a parameter is missing or invalid.",
    1004: "Akool requires the account to be verified before it allows this.",
    1005: "Akool says requests are too frequent; wait a moment and try again.",
    1006: "The Akool account has run out of quota.",
    1008: "Akool says this content does not exist.",
    1009: "The Akool account has no permission for this operation.",
    1010: "Akool says this content cannot be operated on.",
    1011: "Akool says this content has already been operated on (for example, a button "
    "that was already used).",
    1014: "Akool says the resource does not exist.",
    1101: "Akool rejected the credentials: the API key is invalid or the token expired.",
    1102: "Akool received no credentials; check the team's Akool API key.",
    1103: "The Akool account has an unpaid or overdue balance.",
    1104: "The Akool account does not have enough credits.",
    1108: "Akool had an error generating the image; try again later.",
    1109: "Akool says the account does not exist; check the team's Akool API key.",
    1200: "The Akool account has been banned.",
    1213: "This Akool feature needs a subscription.",
    1221: "The Akool account is not subscribed.",
    2001: "Akool had a server error; try again later.",
}

# 1005 is the only rate-limit-like code, 1108 says "retry later", 2001 is a server error.
# Everything else, including codes we do not know, is permanent: retrying an unexplained
# refusal only burns requests.
TRANSIENT_CODES = frozenset({1005, 1108, 2001})

MSG_MAYBE_CREATED = "Akool did not answer; the job may or may not have been created (and charged)."


def error_for_code(code: int, msg: Any = "", *, http_status: int | None = None) -> AkoolError:
    detail = msg if isinstance(msg, str) else ""
    detail = detail[:200]
    message = ERROR_MESSAGES.get(code) or f"Akool returned error code {code}: {detail or '-'}"
    kind = ErrorKind.TRANSIENT if code in TRANSIENT_CODES else ErrorKind.PERMANENT
    return AkoolError(message, code=code, kind=kind, http_status=http_status, detail=detail)


# --- network error classification ----------------------------------------------------------


def _causes(exc: BaseException) -> Iterator[object]:
    """The exception and what requests/urllib3 wrapped inside it (args[0], .reason, __cause__).

    __context__ is deliberately not followed: it can hold an unrelated, already handled error.
    """
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, BaseException):
            if item.args:
                todo.append(item.args[0])
            if item.__cause__ is not None:
                todo.append(item.__cause__)
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)


def _nothing_was_sent(exc: BaseException) -> bool:
    """True only when the failure provably happened before any request byte left us.

    - ConnectTimeout: the TCP connect never completed.
    - urllib3 NewConnectionError (connection refused, DNS failure via NameResolutionError):
      requests reports it as a plain ConnectionError, so we look at the wrapped reason.
    - ClosedPoolError: no connection was ever taken from the pool.
    - A certificate verification failure happens in the TLS handshake, before the request.
    Everything else after connect (ReadTimeout, RemoteDisconnected, ProtocolError,
    ChunkedEncodingError, a bare OSError mid-send, ...) may have reached Akool.
    """
    if isinstance(exc, rex.ConnectTimeout):
        return True
    return any(
        isinstance(
            cause,
            urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.ClosedPoolError
            | ssl.SSLCertVerificationError,
        )
        for cause in _causes(exc)
    )


def network_error(exc: rex.RequestException, *, create: bool) -> AkoolError:
    if isinstance(exc, rex.InvalidURL | rex.MissingSchema | rex.InvalidSchema):
        return AkoolError("The Akool API address is not a valid URL.", kind=ErrorKind.PERMANENT)
    if _nothing_was_sent(exc):
        return AkoolError(
            "Could not connect to Akool; nothing was sent. Try again later.",
            kind=ErrorKind.TRANSIENT,
        )
    if create:
        return AkoolError(MSG_MAYBE_CREATED, kind=ErrorKind.UNKNOWN)
    if isinstance(exc, rex.Timeout):
        return AkoolError(
            "Akool did not answer in time; try again later.", kind=ErrorKind.TRANSIENT
        )
    return AkoolError("The connection to Akool failed; try again later.", kind=ErrorKind.TRANSIENT)
