"""Failure injection: prompt markers for tests, and a random fault rate for soak runs.

Prompt markers (create calls only):
  [fail]         the job is created and charged, then ends with image_status 4
  [error:NNNN]   the create answers body code NNNN; no job, no charge
  [http:5xx]     HTTP 5xx with an HTML body (like a gateway); no job, no charge
  [slow:S]       the job is created, then the answer waits S seconds
  [drop]         the job is created and charged, then the connection is cut with no answer
  [noise]        the image is random pixels (a 4k PNG of 25-45 MB, for memory benchmarks)
"""

import random
import re
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse

ERROR_MESSAGES = {
    1003: "Parameter error",
    1004: "Verification required",
    1005: "Operation is too frequent",
    1006: "Your quota is not enough",
    1008: "The content you requested does not exist",
    1009: "You do not have permission to operate this content",
    1010: "This content cannot be operated on",
    1011: "This content has already been operated on",
    1014: "Resource does not exist",
    1101: "Invalid authorization or token expired",
    1102: "Authorization cannot be empty",
    1103: "Unpaid or overdue",
    1104: "Insufficient credit",
    1108: "Image generation error, please try again later",
    1109: "Account does not exist",
    1200: "The account has been banned",
    1213: "Subscription required",
    1221: "Account not subscribed",
    2001: "Server error",
}

_MARKER = re.compile(r"\[(fail|drop|noise|error:(\d{4})|http:(5\d\d)|slow:(\d+(?:\.\d+)?))\]")
MAX_SLOW_SECONDS = 600.0
# When the raw socket cannot be reached (an unknown WSGI server), [drop] degrades to sleeping
# past any sane client read timeout: the client still sees "no answer".
DROP_FALLBACK_SECONDS = 120.0


@dataclass
class Markers:
    fail: bool = False
    drop: bool = False
    noise: bool = False
    error_code: int | None = None
    http_status: int | None = None
    slow: float = 0.0


def parse_markers(prompt):
    markers = Markers()
    for match in _MARKER.finditer(prompt or ""):
        word, code, status, seconds = match.groups()
        if word in ("fail", "drop", "noise"):
            setattr(markers, word, True)
        elif code:
            markers.error_code = int(code)
        elif status:
            markers.http_status = int(status)
        elif seconds:
            markers.slow = min(float(seconds), MAX_SLOW_SECONDS)
    return markers


def error_message(code):
    return ERROR_MESSAGES.get(code, "Error")


def gateway_error(status):
    """What a load balancer in front of the API answers: HTML, not the JSON envelope."""
    reason = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }.get(status, "Server Error")
    title = f"{status} {reason}"
    html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    response = HttpResponse(html, status=status, content_type="text/html")
    # Injected on purpose: keep django.request from logging each one as a server error.
    response._has_been_logged = True
    return response


# --- random faults ---------------------------------------------------------------------------


@dataclass
class Fault:
    kind: str  # "http", "code" or "slow"
    value: float


_rng_lock = threading.Lock()
_rng_state = {"seed": object(), "rng": random.Random()}


def _rng():
    seed = getattr(settings, "SANDBOX_FAULT_SEED", None)
    if seed != _rng_state["seed"]:
        _rng_state["seed"] = seed
        _rng_state["rng"] = random.Random(seed)
    return _rng_state["rng"]


def random_fault(kind):
    """A fault for this API call, drawn with probability SANDBOX_FAULT_RATE (read per call)."""
    rate = float(getattr(settings, "SANDBOX_FAULT_RATE", 0.0) or 0.0)
    if rate <= 0:
        return None
    with _rng_lock:
        rng = _rng()
        if rng.random() >= rate:
            return None
        pick = rng.randrange(3)
    if pick == 0:
        return Fault("http", 503)
    if pick == 1:
        # Creation calls fail like the generator does; everything else like a server error.
        return Fault("code", 1108 if kind in ("create", "button") else 2001)
    return Fault("slow", float(getattr(settings, "SANDBOX_FAULT_SLOW_SECONDS", 3.0)))


# --- dropping a connection -------------------------------------------------------------------


def _find_socket(obj, depth=0):
    """Walk from a WSGI input stream down to the socket it reads from."""
    if isinstance(obj, socket.socket):
        return obj
    if obj is None or depth > 6:
        return None
    for attr in ("_sock", "raw", "stream", "rfile", "_stream"):
        found = _find_socket(getattr(obj, attr, None), depth + 1)
        if found is not None:
            return found
    # Django's LimitedStream keeps only bound methods of the stream it wraps.
    for attr in ("_read", "read"):
        owner = getattr(getattr(obj, attr, None), "__self__", None)
        if owner is not None and owner is not obj:
            found = _find_socket(owner, depth + 1)
            if found is not None:
                return found
    return None


def request_socket(request):
    environ = request.environ
    # gunicorn hands the socket over directly; Django's dev and live servers hide it behind
    # LimitedStream -> BufferedReader -> SocketIO.
    return _find_socket(environ.get("gunicorn.socket")) or _find_socket(environ.get("wsgi.input"))


def drop_connection(request):
    """Cut the client's connection without an answer. Returns how it was done.

    "shutdown": the socket was found and shut down (dev server, live_server, gunicorn): the
    client sees the connection closed with no response. "sleep": no socket in reach, so the
    request is held long enough that the client's read timeout fires instead.
    """
    sock = request_socket(request)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
            return "shutdown"
        except OSError:
            pass
    time.sleep(float(getattr(settings, "SANDBOX_DROP_SLEEP_SECONDS", DROP_FALLBACK_SECONDS)))
    return "sleep"
