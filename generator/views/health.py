"""/healthz: one unauthenticated probe for load balancers and uptime monitors.

Failures name only the exception class: the body is public and must not leak hosts, paths or
credentials that exception messages often carry.
"""

import contextlib
import logging
import time
import uuid

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.status import Stat

from ..models import Team

logger = logging.getLogger(__name__)

OK = "ok"
# The probe is public: checks that cost money or scale with the data (a write and a delete on
# S3, decrypting every stored secret) run at most once a minute, whoever asks.
SLOW_CHECK_SECONDS = 60


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return OK


def check_broker():
    return OK if get_broker().ping() else "broker did not answer"


def check_worker():
    # A cluster refreshes its stat every few seconds and the entry expires soon after, so a
    # non-empty list means a worker was alive moments ago.
    return OK if Stat.get_all() else "no worker seen"


def check_storage():
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    default_storage.delete(name)
    return OK


def check_encryption():
    teams = Team.objects.exclude(api_key="", client_id="").only("api_key", "client_id")
    if any(team.credentials_unreadable for team in teams.iterator(chunk_size=500)):
        return "stored secrets do not decrypt with FIELD_ENCRYPTION_KEYS"
    return OK


CHECKS = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "storage": check_storage,
    "encryption": check_encryption,
}
SLOW_CHECKS = {"storage", "encryption"}


def run_check(name, check):
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a probe reports every failure, it never raises
        logger.warning("health check %s failed", name, exc_info=True)
        return f"error: {type(exc).__name__}"


def run_slow_check(name, check):
    """run_check, its answer kept for SLOW_CHECK_SECONDS (the time is kept in the value, as
    cache backends expire entries by their own clocks)."""
    key = f"healthz:{name}"
    now = time.time()
    cached = None
    # A broken cache must not hide the check (the broker check reports a dead Redis).
    with contextlib.suppress(Exception):
        cached = cache.get(key)
    if cached is not None and cached[1] + SLOW_CHECK_SECONDS > now:
        return cached[0]
    result = run_check(name, check)
    with contextlib.suppress(Exception):
        cache.set(key, (result, now), SLOW_CHECK_SECONDS + 5)
    return result


@never_cache
@require_GET
def healthz(request):
    checks = {
        name: (run_slow_check if name in SLOW_CHECKS else run_check)(name, check)
        for name, check in CHECKS.items()
    }
    healthy = all(result == OK for result in checks.values())
    return JsonResponse(
        {"status": OK if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
