"""Queued work of notifications: send one delivery, and a minute-by-minute sweep that sends
deliveries whose retry time came (or that a dead worker left half-sent)."""

import logging
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from ..models import Delivery, DeliveryStatus
from .send import SendError, send

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Well inside the queue's timeout: a send waits at most its connect + read timeouts.
SWEEP_BATCH = 100


def backoff(attempt):
    """Seconds before try `attempt + 1`: 1 min, 4 min, 16 min, 64 min."""
    return min(60 * 4 ** (attempt - 1), 4 * 3600)


def deliver(delivery_id):
    """1. Claim the delivery (if it is still due). 2. Send it. 3. Record it sent, or when to
    try again, or that it failed for good (after MAX_ATTEMPTS, or a permanent refusal)."""
    now = timezone.now()
    claimed = (
        Delivery.objects.due(now)
        .filter(pk=delivery_id)
        .update(
            status=DeliveryStatus.SENDING,
            attempts=F("attempts") + 1,
            lease_until=now + Delivery.LEASE,
        )
    )
    if not claimed:
        return
    delivery = Delivery.objects.select_related("channel", "recipient", "team").get(pk=delivery_id)
    try:
        if delivery.channel is not None and not delivery.channel.wants(delivery.event):
            raise SendError("The channel was turned off before this was sent.", permanent=True)
        send(delivery)
    except SendError as error:
        _failed(delivery, error)
        return
    except Exception:
        # A bug, not the destination's fault: logged with its traceback (which names no
        # secret: carriers raise SendError for everything they know), retried like any failure.
        log.exception("delivery %s raised", delivery.pk)
        _failed(delivery, SendError("Sending failed unexpectedly."))
        return
    delivery.claim(
        (DeliveryStatus.SENDING,),
        DeliveryStatus.SENT,
        sent_at=timezone.now(),
        last_error="",
        lease_until=None,
        next_attempt_at=None,
    )


def _failed(delivery, error):
    log.warning("delivery %s attempt %s failed: %s", delivery.pk, delivery.attempts, error.message)
    if error.permanent or delivery.attempts >= MAX_ATTEMPTS:
        delivery.claim(
            (DeliveryStatus.SENDING,),
            DeliveryStatus.FAILED,
            last_error=error.message[:300],
            lease_until=None,
            next_attempt_at=None,
        )
        return
    delivery.claim(
        (DeliveryStatus.SENDING,),
        DeliveryStatus.RETRYING,
        last_error=error.message[:300],
        lease_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=backoff(delivery.attempts)),
    )


def deliver_due():
    """The schedule's sweep: send every delivery that is due now, oldest first."""
    ids = list(
        Delivery.objects.due()
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in ids:
        deliver(delivery_id)
