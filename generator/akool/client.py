"""The Akool Open API client: the only module in the project that talks HTTP to Akool.

Protocol reference: docs/akool-api.md (section numbers below point into it).

Everything else in the project calls this module and gets typed results (`ImageJob`,
`ImageResult`) or an `AkoolError` whose `kind` says what the caller may do next:

- PERMANENT: Akool refused; sending the same request again will not help.
- TRANSIENT: nothing happened on Akool's side (or it was a read); try again later.
- UNKNOWN: a create call may or may not have been accepted (and charged). The caller must
  record this and show it, never resend blindly (house rule: a paid request is never sent
  twice for one job).
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests import exceptions as rex

log = logging.getLogger(__name__)

USER_AGENT = "akool-web/0.1"

PATH_CREATE = "/api/open/v4/content/image/createBySourcePrompt"
PATH_RESULT = "/api/open/v3/content/image/infobymodelid"
PATH_BUTTON = "/api/open/v3/content/image/createbybutton"
PATH_CREDIT = "/api/open/v3/faceswap/quota/info"
PATH_TOKEN = "/api/open/v3/getToken"

SUCCESS = 1000
CODE_BAD_AUTH = 1101

T = TypeVar("T")


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


# --- typed results -------------------------------------------------------------------------


def _int_or_none(value: Any) -> int | None:
    # bool is an int subclass; a JSON `true` is not a number here.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and item]


def _nonempty_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _Malformed(Exception):
    """A `code: 1000` answer whose `data` we cannot read."""


@dataclass(frozen=True)
class ImageJob:
    """One record from a create or createbybutton call (§4.1, §4.3)."""

    id: str
    status: int
    deduction_credit: int | None
    model_name: str
    sub_type: int | None
    create_time: int | None
    parent_id: str | None
    button: str | None
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def from_data(cls, data: Any) -> ImageJob:
        if not isinstance(data, dict):
            raise _Malformed("job record is not an object")
        job_id = _nonempty_str(data.get("_id"))
        if job_id is None:
            raise _Malformed("job record has no _id")
        status = _int_or_none(data.get("image_status"))
        return cls(
            id=job_id,
            # The batch example omits fields; a fresh job is queued (1) per §3/§4.1.
            status=1 if status is None else status,
            deduction_credit=_int_or_none(data.get("deduction_credit")),
            model_name=data.get("model_name") if isinstance(data.get("model_name"), str) else "",
            sub_type=_int_or_none(data.get("sub_type")),
            create_time=_int_or_none(data.get("create_time")),
            parent_id=_nonempty_str(data.get("image_content_model_id")),
            button=_nonempty_str(data.get("op_button")),
            raw=data,
        )


# Akool's job states (§3), as polls report `image_status` and webhooks `status`.
STATUS_QUEUED = 1
STATUS_PROCESSING = 2
STATUS_COMPLETED = 3
STATUS_FAILED = 4
STATUSES = frozenset({STATUS_QUEUED, STATUS_PROCESSING, STATUS_COMPLETED, STATUS_FAILED})
# No image costs anywhere near this; a larger `deduction_credit` is junk, not a charge.
MAX_DEDUCTION_CREDIT = 10_000


class InvalidResult(ValueError):
    """A status report (poll answer or webhook payload) whose values cannot be trusted."""


@dataclass(frozen=True)
class ImageResult:
    """Akool's status of one job, decoded once whether a poll (§4.4) or a webhook (§5.2)
    reported it. `status`: 1 queued, 2 processing, 3 completed, 4 failed.

    `buttons` and `used_buttons` are None when the report does not carry them: webhooks never
    do, so a job finished by webhook must ask for them with one poll.
    """

    id: str
    status: int
    image_url: str | None
    upscaled_urls: list[str]
    buttons: list[str] | None
    used_buttons: list[str] | None
    deduction_credit: int | None
    raw: dict = field(repr=False, compare=False)

    @property
    def available_buttons(self) -> list[str]:
        # §4.3: the official demo shows `buttons` may keep listing used ones; check both.
        used = set(self.used_buttons or ())
        return [button for button in self.buttons or () if button not in used]

    @classmethod
    def from_data(cls, data: Any) -> ImageResult:
        if not isinstance(data, dict):
            raise _Malformed("result is not an object")
        job_id = _nonempty_str(data.get("_id"))
        status = _int_or_none(data.get("image_status"))
        if job_id is None or status is None:
            raise _Malformed("result has no _id or image_status")
        upscaled = _str_list(data.get("upscaled_urls"))
        # §5.1: docs say `image`; v3 sets and some v4 jobs only fill `upscaled_urls`;
        # the official demo also falls back to `external_img`.
        image_url = (
            _nonempty_str(data.get("image"))
            or (upscaled[0] if upscaled else None)
            or _nonempty_str(data.get("external_img"))
        )
        return cls(
            id=job_id,
            status=status,
            image_url=image_url,
            upscaled_urls=upscaled,
            buttons=_str_list(data.get("buttons")),
            used_buttons=_str_list(data.get("used_buttons")),
            deduction_credit=_int_or_none(data.get("deduction_credit")),
            raw=data,
        )

    @classmethod
    def from_webhook(cls, payload: dict) -> ImageResult:
        """A verified, decrypted webhook payload (§5.2). Raises InvalidResult for values that
        must not touch a job: a webhook is signed with the team's key, which is no reason to
        trust a negative charge or a file:// link."""
        job_id = payload.get("_id")
        status = payload.get("status")
        if not isinstance(job_id, str) or not job_id or len(job_id) > 64:
            raise InvalidResult("The webhook names no valid job id.")
        if isinstance(status, bool) or status not in STATUSES:
            raise InvalidResult(f"The webhook status {status!r} is not one Akool uses.")
        credit = payload.get("deduction_credit")
        if credit is not None and (
            isinstance(credit, bool)
            or not isinstance(credit, int)
            or not 0 <= credit <= MAX_DEDUCTION_CREDIT
        ):
            raise InvalidResult("The webhook's deduction_credit is not a plausible charge.")
        url = payload.get("url")
        if url is not None and url != "":
            if not isinstance(url, str) or len(url) > 4000:
                raise InvalidResult("The webhook's url is not a string.")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidResult("The webhook's url is not an http(s) address.")
        return cls(
            id=job_id,
            status=status,
            image_url=url or None,
            upscaled_urls=[],
            buttons=None,
            used_buttons=None,
            deduction_credit=credit,
            raw=payload,
        )


# --- token cache ---------------------------------------------------------------------------

# §2.2: a token lives "more than a year" and has no refresh endpoint, so one per credential
# set is shared by every client in the process; 1101 is the only expiry signal.
_token_cache: dict[tuple[str, str, str], str] = {}
_token_lock = threading.Lock()


def clear_token_cache() -> None:
    with _token_lock:
        _token_cache.clear()


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


def _network_error(exc: rex.RequestException, *, create: bool) -> AkoolError:
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


# --- the client ----------------------------------------------------------------------------


class AkoolClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        client_id: str = "",
        use_token: bool = False,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        create_read_timeout: float = 120,
        get_retries: int = 3,
        backoff: float = 0.5,
        session: requests.Session | None = None,
    ):
        if use_token and not client_id:
            raise ValueError("use_token=True needs a client_id")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.client_id = client_id
        self.use_token = use_token
        self.timeout = (connect_timeout, read_timeout)
        # Creates are never retried, so a slow answer must be waited for: giving up early
        # turns a job Akool accepted into "outcome unknown".
        self.create_timeout = (connect_timeout, create_read_timeout)
        self.get_retries = max(0, int(get_retries))
        self.backoff = backoff
        self._session = session or requests.Session()
        self._token_key = (
            self.base_url,
            client_id,
            hashlib.sha256(api_key.encode()).hexdigest(),
        )

    def __repr__(self) -> str:
        auth = "token" if self.use_token else "x-api-key"
        return f"AkoolClient(base_url={self.base_url!r}, auth={auth!r})"

    # -- public API ---------------------------------------------------------------------

    def create_image(
        self,
        *,
        prompt: str,
        negative_prompt: str = "",
        source_image: str = "",
        scale: str = "",
        resolution: str = "",
        batch_quantity: int = 1,
        similar: float | None = None,
        model_name: str = "",
        webhook_url: str = "",
    ) -> list[ImageJob]:
        """§4.1. Never retried: a repeat would create (and charge) a second set of images."""
        body: dict[str, Any] = {"prompt": prompt}
        # Empty optionals are left out so Akool applies its own defaults (e.g. picks the
        # model from whether source_images is present).
        if negative_prompt:
            body["negative_prompt"] = negative_prompt
        if source_image:
            body["source_images"] = [source_image]
        if scale:
            body["scale"] = scale
        if resolution:
            body["resolution"] = resolution
        if batch_quantity != 1:
            body["batch_quantity"] = batch_quantity
        if similar is not None:
            body["similar"] = similar
        if model_name:
            body["model_name"] = model_name
        if webhook_url:
            body["webhookurl"] = webhook_url  # all-lowercase on v4 only (§4.1, §7.1)

        def parse(envelope: dict) -> list[ImageJob]:
            data = envelope.get("data")
            # §4.1: an object for batch_quantity 1, an array for more.
            records = data if isinstance(data, list) else [data]
            jobs = [ImageJob.from_data(record) for record in records]
            if not jobs:
                raise _Malformed("empty job list")
            return jobs

        return self._create(PATH_CREATE, body, parse)

    def create_by_button(self, image_id: str, button: str, *, webhook_url: str = "") -> ImageJob:
        """§4.3: U1-U4 / V1-V4 on a finished job. Makes a new (charged) job; never retried."""
        body: dict[str, Any] = {"_id": image_id, "button": button}
        if webhook_url:
            body["webhookUrl"] = webhook_url  # camelCase on v3 endpoints
        return self._create(PATH_BUTTON, body, lambda env: ImageJob.from_data(env.get("data")))

    def get_result(self, image_id: str) -> ImageResult:
        return self._read(
            "GET",
            PATH_RESULT,
            lambda env: ImageResult.from_data(env.get("data")),
            params={"image_model_id": image_id},
        )

    def credit_info(self) -> float:
        def parse(envelope: dict) -> float:
            data = envelope.get("data")
            credit = data.get("credit") if isinstance(data, dict) else None
            if isinstance(credit, bool) or not isinstance(credit, int | float):
                raise _Malformed("no numeric credit")
            return float(credit)

        return self._read("GET", PATH_CREDIT, parse)

    def get_token(self) -> str:
        """§2.2. Sends no auth header; the token is top-level in the answer, not in `data`.

        Safe to retry like a read: asking for a token creates nothing and costs nothing.
        """

        def parse(envelope: dict) -> str:
            token = _nonempty_str(envelope.get("token"))
            if token is None:
                raise _Malformed("no token")
            return token

        body = {"clientId": self.client_id, "clientSecret": self._api_key}
        return self._retrying(
            lambda: self._exchange("POST", PATH_TOKEN, parse, headers={}, json_body=body)
        )

    def download(
        self,
        url: str,
        dest,
        *,
        max_bytes: int,
        deadline: float,
        session: requests.Session | None = None,
    ) -> int:
        """Stream a result image (a CDN URL, valid ~7 days) into the binary file `dest`.

        Returns the byte count. `dest` may hold a partial body when this raises; the caller
        owns the file and discards it. Not retried here: the caller decides. `session`
        replaces the client's own for this fetch: the URL came from outside (a poll answer
        or a webhook), so callers pass ssrf.result_session(), which refuses private
        addresses (a refusal surfaces as the permanent "not a valid URL" DownloadError).
        """
        if urlsplit(url).scheme not in ("http", "https"):
            raise DownloadError("The image link is not an http(s) URL.", kind=ErrorKind.PERMANENT)
        started = time.monotonic()
        # Each socket read waits at most read_timeout, and never longer than the whole
        # deadline, so the overshoot past `deadline` is bounded by one read.
        timeout = (self.timeout[0], min(self.timeout[1], deadline))
        # The CDN gets no credentials: None removes any auth header a shared session carries.
        headers = {"User-Agent": USER_AGENT, "x-api-key": None, "Authorization": None}
        written = 0
        try:
            fetch = (session or self._session).get
            with fetch(url, headers=headers, stream=True, timeout=timeout) as response:
                status = response.status_code
                if status in (403, 404, 410):
                    # CloudFront/S3 answer 403 (not 404) once a signed/expired object is gone.
                    raise DownloadError(
                        f"The image link has expired or is gone (HTTP {status}).",
                        expired=True,
                        kind=ErrorKind.PERMANENT,
                        http_status=status,
                    )
                if status >= 500 or status in (408, 429):
                    raise DownloadError(
                        f"The image server answered HTTP {status}; try again later.",
                        kind=ErrorKind.TRANSIENT,
                        http_status=status,
                    )
                if not 200 <= status < 300:
                    raise DownloadError(
                        f"The image server refused the download (HTTP {status}).",
                        kind=ErrorKind.PERMANENT,
                        http_status=status,
                    )
                declared = _int_or_none(response.headers.get("Content-Length"))
                if declared is not None and declared > max_bytes:
                    raise _too_large(max_bytes, status)
                # raw.read1() instead of iter_content(): iter_content blocks until a whole
                # chunk has arrived, so a server trickling bytes could hold us far past the
                # deadline. read1 returns whatever one socket read produced. Decoding is
                # still on, so a gzip bomb is counted (and stopped) in decoded bytes.
                raw = response.raw
                while True:
                    if time.monotonic() - started > deadline:
                        raise _too_slow(status)
                    chunk = raw.read1(64 * 1024, decode_content=True)
                    if not chunk:
                        break
                    if written + len(chunk) > max_bytes:
                        raise _too_large(max_bytes, status)
                    dest.write(chunk)
                    written += len(chunk)
                if time.monotonic() - started > deadline:
                    raise _too_slow(status)
        except DownloadError:
            raise
        except (rex.InvalidURL, rex.MissingSchema, rex.InvalidSchema) as exc:
            raise DownloadError(
                "The image link is not a valid URL.", kind=ErrorKind.PERMANENT
            ) from exc
        except (rex.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # OSError: raw reads raise urllib3/socket errors, not requests' wrappers.
            raise DownloadError(
                "The image download was interrupted; try again later.",
                kind=ErrorKind.TRANSIENT,
            ) from exc
        return written

    # -- plumbing -----------------------------------------------------------------------

    def _create(self, path: str, body: dict, parse: Callable[[dict], T]) -> T:
        def once(headers: dict) -> T:
            return self._exchange("POST", path, parse, headers=headers, json_body=body, create=True)

        return self._with_token_refresh(once)

    def _read(self, method: str, path: str, parse: Callable[[dict], T], **kwargs) -> T:
        def with_retries(headers: dict) -> T:
            return self._retrying(
                lambda: self._exchange(method, path, parse, headers=headers, **kwargs)
            )

        return self._with_token_refresh(with_retries)

    def _with_token_refresh(self, call: Callable[[dict], T]) -> T:
        """Run `call(auth_headers)`; in token mode, on 1101 get a fresh token and run it once more.

        Also right for creates: 1101 means Akool refused before doing anything. A 1101 from
        getToken itself (wrong credentials) is raised by _auth_headers, outside the `try`,
        so it is not asked again.
        """
        headers = self._auth_headers()
        try:
            return call(headers)
        except AkoolError as exc:
            if not (self.use_token and exc.code == CODE_BAD_AUTH):
                raise
            log.info("Akool answered 1101; fetching a new token and retrying once")
            self._forget_token(headers)
        return call(self._auth_headers())

    def _retrying(self, call: Callable[[], T]) -> T:
        """Retry TRANSIENT failures of a read-only call with exponential backoff."""
        for attempt in range(self.get_retries + 1):
            try:
                return call()
            except AkoolError as exc:
                if exc.kind is not ErrorKind.TRANSIENT or attempt >= self.get_retries:
                    raise
                delay = self.backoff * 2**attempt
                log.warning(
                    "Akool read failed (%s, code=%s, http=%s); retry %d/%d in %.1fs",
                    exc.kind.value,
                    exc.code,
                    exc.http_status,
                    attempt + 1,
                    self.get_retries,
                    delay,
                )
                if delay > 0:
                    time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _auth_headers(self) -> dict[str, str | None]:
        # §2.3: if both headers carry values Akool uses Authorization, so a stale token plus a
        # good key fails. Send exactly one; None also strips one a shared session might set.
        if not self.use_token:
            return {"x-api-key": self._api_key, "Authorization": None}
        return {"Authorization": f"Bearer {self._token()}", "x-api-key": None}

    def _token(self) -> str:
        # Fetching under the lock means concurrent callers wait for one fetch instead of
        # each asking Akool; fetches are rare (tokens live a year).
        with _token_lock:
            token = _token_cache.get(self._token_key)
            if token is None:
                token = self.get_token()
                _token_cache[self._token_key] = token
            return token

    def _forget_token(self, headers: dict) -> None:
        # Only drop the token that failed: another thread may already have cached a new one.
        with _token_lock:
            if headers.get("Authorization") == f"Bearer {_token_cache.get(self._token_key)}":
                del _token_cache[self._token_key]

    def _exchange(
        self,
        method: str,
        path: str,
        parse: Callable[[dict], T],
        *,
        headers: dict,
        params: dict | None = None,
        json_body: dict | None = None,
        create: bool = False,
    ) -> T:
        """One HTTP request, classified into a typed result or an AkoolError. No retries."""
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=json_body,
                headers=all_headers,
                timeout=self.create_timeout if create else self.timeout,
            )
        except rex.RequestException as exc:
            error = _network_error(exc, create=create)
            log.warning("Akool %s %s failed: %s (%s)", method, path, type(exc).__name__, error.kind)
            raise error from exc

        status = response.status_code
        try:
            envelope = json.loads(response.content)
        except (ValueError, RecursionError):
            envelope = _UNPARSEABLE
        if not isinstance(envelope, dict) or _int_or_none(envelope.get("code")) is None:
            raise self._unreadable(status, create=create, parseable=envelope is not _UNPARSEABLE)

        # §1.2: the body code is authoritative whatever the HTTP status says.
        code = _int_or_none(envelope["code"])
        if code != SUCCESS:
            error = error_for_code(code, self._scrub(envelope.get("msg")), http_status=status)
            log.warning("Akool %s %s answered code %s (http %s)", method, path, code, status)
            raise error

        try:
            return parse(envelope)
        except _Malformed as exc:
            log.warning("Akool %s %s: unreadable success answer: %s", method, path, exc)
            if create:
                raise AkoolError(
                    "Akool accepted the request but its answer could not be read; the job "
                    "may or may not have been created (and charged).",
                    code=code,
                    kind=ErrorKind.UNKNOWN,
                    http_status=status,
                ) from None
            raise AkoolError(
                "Akool sent an answer that could not be read; try again later.",
                code=code,
                kind=ErrorKind.TRANSIENT,
                http_status=status,
            ) from None

    @staticmethod
    def _unreadable(status: int, *, create: bool, parseable: bool) -> AkoolError:
        """No Akool envelope at all: a proxy/gateway page, an empty body, garbage."""
        if not create:
            return AkoolError(
                f"Akool answered HTTP {status} with an unreadable response; try again later.",
                kind=ErrorKind.TRANSIENT,
                http_status=status,
            )
        if status >= 500 or not parseable or status < 400:
            # A 5xx (or a 2xx we cannot read) may come after the job was created.
            return AkoolError(
                f"Akool answered HTTP {status} with an unreadable response; the job may or "
                "may not have been created (and charged).",
                kind=ErrorKind.UNKNOWN,
                http_status=status,
            )
        # A 4xx with some other JSON body: a refusal before anything was created.
        return AkoolError(
            f"Akool refused the request (HTTP {status}).",
            kind=ErrorKind.PERMANENT,
            http_status=status,
        )

    def _scrub(self, text: Any) -> str:
        """Akool's own msg goes into logs/details; make sure it cannot echo a secret back."""
        if not isinstance(text, str):
            return ""
        secrets = [self._api_key, _token_cache.get(self._token_key, "")]
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


_UNPARSEABLE = object()


def _too_large(max_bytes: int, status: int) -> DownloadError:
    return DownloadError(
        f"The image is too large (over {max_bytes} bytes).",
        kind=ErrorKind.PERMANENT,
        http_status=status,
    )


def _too_slow(status: int) -> DownloadError:
    return DownloadError(
        "The image download took too long; try again later.",
        kind=ErrorKind.TRANSIENT,
        http_status=status,
    )
