"""Webhook delivery: a few daemon threads per process, fed by a time-ordered heap.

A job's life is fixed when it is created, so both callbacks (status 2 when processing starts,
3 or 4 at the end) are scheduled right then, for the moments the clock says. Pending callbacks
live in memory: a restart loses them, as a crash at Akool would.

Akool's servers call back many jobs at once, so deliveries run in parallel; one job's callbacks
go one at a time, in the order they fell due, so a job's result never overtakes its "processing".
"""

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field, replace

import requests
from django.conf import settings
from django.db import connection, transaction

from .models import COMPLETED, FAILED, PROCESSING, SandboxRequest, redact_url, scrub

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # after the first attempt; Akool's real policy is undocumented
TIMEOUT = (2.0, 5.0)  # connect, read
THREADS = 8

_cond = threading.Condition()
_heap: list = []
_seq = itertools.count()
_state = {"threads": [], "in_flight": 0}
_busy_jobs: set = set()  # jobs with a callback in flight


@dataclass(order=True)
class Delivery:
    due: float
    seq: int
    url: str = field(compare=False)
    payload: dict = field(compare=False)
    client_id: str = field(compare=False)
    client_secret: str = field(compare=False, repr=False)
    account_id: int = field(compare=False)
    attempt: int = field(default=1, compare=False)


def schedule_job(job, image_url):
    """Queue the status-2 and final callbacks of a new job, once its row is committed."""
    if not job.webhook_url:
        return
    account = job.account
    final = FAILED if job.will_fail else COMPLETED
    base = {"_id": job.job_id, "type": "image", "deduction_credit": job.deduction_credit}
    final_payload = {**base, "status": final}
    if final == COMPLETED:
        final_payload["url"] = image_url
    deliveries = [
        (job.started_at.timestamp(), {**base, "status": PROCESSING}),
        (job.finished_at.timestamp(), final_payload),
    ]

    def push():
        for due, payload in deliveries:
            _push(
                Delivery(
                    due,
                    next(_seq),
                    job.webhook_url,
                    payload,
                    account.client_id,
                    account.api_key,
                    account.pk,
                )
            )

    # A rolled-back create must not call anyone back.
    transaction.on_commit(push)


def _push(delivery):
    with _cond:
        heapq.heappush(_heap, delivery)
        threads = _state["threads"] = [t for t in _state["threads"] if t.is_alive()]
        while len(threads) < THREADS:
            thread = threading.Thread(target=_run, name="sandbox-webhooks", daemon=True)
            threads.append(thread)
            thread.start()
        _cond.notify_all()


def _job_of(delivery):
    return delivery.payload["_id"]


def _take_due():
    """The earliest due delivery whose job has nothing in flight, and when to look again."""
    now = time.time()
    waiting = []  # due, but their job's previous callback is still in flight
    found = None
    while _heap and _heap[0].due <= now:
        delivery = heapq.heappop(_heap)
        if _job_of(delivery) in _busy_jobs:
            waiting.append(delivery)
        else:
            found = delivery
            break
    next_due = _heap[0].due if _heap else None
    for delivery in waiting:
        heapq.heappush(_heap, delivery)
    return found, (None if next_due is None else max(0.0, next_due - now))


def _next_due():
    """Block until a delivery is due and free to go; return it (marked in flight)."""
    with _cond:
        while True:
            delivery, wait = _take_due()
            if delivery is None:
                # A finished delivery or a new one notifies; otherwise wake when the next falls due.
                _cond.wait(wait)
                continue
            _state["in_flight"] += 1
            _busy_jobs.add(_job_of(delivery))
            return delivery


def _run():
    while True:
        delivery = _next_due()
        try:
            _deliver(delivery)
        except Exception:  # the dispatcher must outlive any single bad delivery
            log.exception("sandbox webhook delivery crashed")
        finally:
            # These threads are long-lived: never hold a database connection between deliveries.
            connection.close()
            with _cond:
                _state["in_flight"] -= 1
                _busy_jobs.discard(_job_of(delivery))
                _cond.notify_all()


def _deliver(delivery):
    from generator.akool.webhook import build_webhook_body

    body = build_webhook_body(delivery.payload, delivery.client_id, delivery.client_secret)
    status = None
    try:
        response = requests.post(delivery.url, json=body, timeout=TIMEOUT)
        status = response.status_code
        problem = None if status == 200 else f"http {status}"
    except requests.RequestException as exc:
        problem = type(exc).__name__
    if problem is None:
        outcome = "delivered"
    elif delivery.attempt <= MAX_RETRIES:
        outcome = f"{problem}, retrying"[:40]
        backoff = float(getattr(settings, "SANDBOX_WEBHOOK_BACKOFF_SECONDS", 1.0))
        due = time.time() + backoff * 2 ** (delivery.attempt - 1)
        _push(replace(delivery, due=due, seq=next(_seq), attempt=delivery.attempt + 1))
    else:
        outcome = f"failed ({problem})"[:40]
    SandboxRequest.objects.create(
        method="POST",
        path=redact_url(delivery.url),
        kind=SandboxRequest.Kind.WEBHOOK,
        job_id=delivery.payload["_id"],
        account_id=delivery.account_id,
        body=scrub({"payload": delivery.payload, "attempt": delivery.attempt}),
        http_status=status,
        outcome=outcome,
    )


def pending():
    with _cond:
        return len(_heap) + _state["in_flight"]


def wait_idle(timeout=10.0):
    """Wait until no callback is queued or in flight; True if that happened within `timeout`."""
    with _cond:
        return _cond.wait_for(lambda: not _heap and not _state["in_flight"], timeout)


def reset(timeout=10.0):
    """Forget queued callbacks and let the one in flight finish (test teardown)."""
    with _cond:
        _heap.clear()
        _cond.notify_all()
        return _cond.wait_for(lambda: not _state["in_flight"], timeout)
