"""The Akool Open API client: the only module in the project that talks HTTP to Akool.

Protocol reference: docs/akool-api.md (section numbers below point into it).

Everything else in the project calls this module and gets typed results (`ImageJob`,
`ImageResult`, from `results.py`) or an `AkoolError` (from `errors.py`) whose `kind` says what
the caller may do next:

- PERMANENT: Akool refused; sending the same request again will not help.
- TRANSIENT: nothing happened on Akool's side (or it was a read); try again later.
- UNKNOWN: a create call may or may not have been accepted (and charged). The caller must
  record this and show it, never resend blindly (house rule: a paid request is never sent
  twice for one job).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests import exceptions as rex

# ERROR_MESSAGES and MSG_MAYBE_CREATED are not used here: re-exported because the client's
# tests read them from this module.
from .errors import (  # noqa: F401
    ERROR_MESSAGES,
    MSG_MAYBE_CREATED,
    AkoolError,
    DownloadError,
    ErrorKind,
    error_for_code,
    network_error,
)
from .results import ImageJob, ImageResult, Malformed, int_or_none, nonempty_str

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


# --- token cache ---------------------------------------------------------------------------

# §2.2: a token lives "more than a year" and has no refresh endpoint, so one per credential
# set is shared by every client in the process; 1101 is the only expiry signal.
_token_cache: dict[tuple[str, str, str], str] = {}
_token_lock = threading.Lock()


def clear_token_cache() -> None:
    with _token_lock:
        _token_cache.clear()


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
                raise Malformed("empty job list")
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
                raise Malformed("no numeric credit")
            return float(credit)

        return self._read("GET", PATH_CREDIT, parse)

    def get_token(self) -> str:
        """§2.2. Sends no auth header; the token is top-level in the answer, not in `data`.

        Safe to retry like a read: asking for a token creates nothing and costs nothing.
        """

        def parse(envelope: dict) -> str:
            token = nonempty_str(envelope.get("token"))
            if token is None:
                raise Malformed("no token")
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
                declared = int_or_none(response.headers.get("Content-Length"))
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
            error = network_error(exc, create=create)
            log.warning("Akool %s %s failed: %s (%s)", method, path, type(exc).__name__, error.kind)
            raise error from exc

        status = response.status_code
        try:
            envelope = json.loads(response.content)
        except (ValueError, RecursionError):
            envelope = _UNPARSEABLE
        if not isinstance(envelope, dict) or int_or_none(envelope.get("code")) is None:
            raise self._unreadable(status, create=create, parseable=envelope is not _UNPARSEABLE)

        # §1.2: the body code is authoritative whatever the HTTP status says.
        code = int_or_none(envelope["code"])
        if code != SUCCESS:
            error = error_for_code(code, self._scrub(envelope.get("msg")), http_status=status)
            log.warning("Akool %s %s answered code %s (http %s)", method, path, code, status)
            raise error

        try:
            return parse(envelope)
        except Malformed as exc:
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
