"""The emulated API's plumbing: Akool's envelope, one request-log row per call, the random
faults, and reading a call's JSON body and credentials.

Akool answers HTTP 200 for body-level errors and puts the verdict in `code`; only the
injected gateway faults and the CDN use HTTP statuses.
"""

import json
import time
from functools import wraps

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import faults
from .accounts import AuthError, authenticate
from .models import SandboxRequest, scrub
from .validation import ApiError


def envelope(code, data=None, msg=None):
    body = {"code": code, "msg": "OK" if code == 1000 else (msg or faults.error_message(code))}
    body["data"] = data
    response = JsonResponse(body, status=200, safe=False)
    response.akool_code = code
    return response


class Call:
    """What a view learned about the request, for its log row and the wrapper's epilogue."""

    def __init__(self):
        self.account = None
        self.job_id = ""
        self.body = {}
        self.outcome = ""
        self.delay = 0.0
        self.slow = False
        self.drop = False


def api_view(kind, *methods):
    """Wrap an endpoint: method check, random faults, error envelopes, one log row per call.

    The log row is written before any injected delay or dropped connection, so a client that
    gave up still finds its call counted.
    """

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            started = timezone.now()
            call = Call()
            call.body = _peek_json(request)
            allowed = request.method in methods
            # The CDN is not part of the API: random faults stay off it.
            fault = faults.random_fault(kind) if allowed and kind != "download" else None
            if not allowed:
                response = HttpResponse(status=405, headers={"Allow": ", ".join(methods)})
            elif fault and fault.kind == "http":
                response = faults.gateway_error(int(fault.value))
            elif fault and fault.kind == "code":
                response = envelope(int(fault.value))
            else:
                try:
                    response = view(request, call, *args, **kwargs)
                except (ApiError, AuthError) as exc:
                    response = envelope(exc.code, msg=exc.msg)
                if fault and fault.kind == "slow":
                    call.slow = True
                    call.delay = max(call.delay, fault.value)
            _log(request, kind, call, response, started, fault)
            if call.drop:
                faults.drop_connection(request)
            elif call.delay:
                time.sleep(call.delay)
            return response

        return wrapper

    return decorator


def _log(request, kind, call, response, started, fault):
    code = getattr(response, "akool_code", None)
    if call.drop:
        outcome, status = "dropped", None
    elif call.outcome:
        outcome, status = call.outcome, response.status_code
    elif code is None and response.status_code != 200:
        outcome, status = f"http {response.status_code}", response.status_code
    elif code not in (None, 1000):
        outcome, status = f"error {code}", response.status_code
    elif call.delay or call.slow:
        outcome, status = "slow", response.status_code
    else:
        outcome, status = "ok", response.status_code
    if fault:
        outcome = f"{outcome} (random)"
    SandboxRequest.objects.create(
        created_at=started,
        method=request.method,
        path=request.path,
        kind=kind,
        job_id=call.job_id[:24],
        account=call.account,
        body=scrub(call.body),
        http_status=status,
        code=code,
        outcome=outcome[:40],
    )


def _peek_json(request):
    """The body for the log, even when the call fails before the view reads it."""
    if request.method != "POST":
        return dict(request.GET.items())
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def json_body(request, call):
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(1003, "request body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiError(1003, "request body must be a JSON object")
    call.body = body
    return body


def authenticate_call(request, call):
    call.account = authenticate(request)
    return call.account
