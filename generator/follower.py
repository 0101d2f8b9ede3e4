"""The follower's steps over jobs in flight: which drafts and stores are due again, asking Akool
about due jobs (concurrently, bounded), a poll that failed, jobs stuck at Akool, and when the
next job is due. Nothing here queues work: a step returns what is due, and the follow_jobs
task (tasks.py) queues it.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from .akool.errors import AkoolError, ErrorKind
from .models import FOLLOWED_STATES, Failure, Job, State
from .models.failures import failure_for

log = logging.getLogger(__name__)

# Asking for a finished image's buttons is a free read; after this many failures the image
# is left without U/V rather than asked about forever.
MAX_BUTTON_ATTEMPTS = 8
# A job Akool has not finished after this long is given up with a clear reason.
STUCK_AFTER = timedelta(minutes=30)
POLL_CONCURRENCY = 8
POLL_BATCH = 200


def backoff(attempt, base=2.0, cap=60.0):
    """Seconds to wait before the `attempt`-th retry of a step: doubling, up to `cap`."""
    return min(base * 2 ** max(attempt - 1, 0), cap)


def seconds_until_next_due():
    """Until the next poll or resend is due, or a claimed step's lease runs out (its worker
    may have died); None when nothing is waiting on us (webhooks, the store task or nothing
    at all)."""
    polls = Job.objects.filter(
        state__in=(*FOLLOWED_STATES, State.DRAFT), next_poll_at__isnull=False
    ).aggregate(at=Min("next_poll_at"))["at"]
    leases = Job.objects.filter(
        state__in=(State.SUBMITTING, State.STORING), lease_until__isnull=False
    ).aggregate(at=Min("lease_until"))["at"]
    moments = [at for at in (polls, leases) if at is not None]
    if not moments:
        return None
    return (min(moments) - timezone.now()).total_seconds()


def take_due_drafts(now):
    """The drafts due to be sent (again); the caller queues their submit task."""
    taken = []
    for job in Job.objects.due_for_submit(now):
        # Push the due time on before queueing: one send attempt per minute at most, and the
        # claim inside the submit task stops any duplicate from calling Akool.
        pushed = Job.objects.filter(pk=job.pk, state=State.DRAFT, next_poll_at__lte=now).update(
            next_poll_at=now + timedelta(seconds=60)
        )
        if pushed:
            taken.append(job)
    return taken


def poll_due(now):
    """Ask Akool about the jobs due for a poll: [(job, ImageResult or AkoolError)]."""
    due = list(
        Job.objects.due_for_poll(now).select_related("team").order_by("next_poll_at")[:POLL_BATCH]
    )
    if not due:
        return []
    with ThreadPoolExecutor(max_workers=min(POLL_CONCURRENCY, len(due))) as pool:
        return list(zip(due, pool.map(_fetch_status, due), strict=True))


def _fetch_status(job):
    # Runs in a pool thread: HTTP only, no database, so SQLite sees one writer.
    try:
        return job.team.akool_client(get_retries=0).get_result(job.akool_id)
    except AkoolError as error:
        return error


def poll_failed(job, error):
    now = timezone.now()
    if job.state == State.DONE:
        # Only the buttons were missing: the image is safe whatever happens here.
        if error.kind == ErrorKind.TRANSIENT and job.attempts + 1 < MAX_BUTTON_ATTEMPTS:
            job.claim(
                State.DONE,
                State.DONE,
                attempts=job.attempts + 1,
                next_poll_at=now + timedelta(seconds=backoff(job.attempts + 1, cap=300)),
            )
        else:
            log.warning("gave up asking Akool for the buttons of job %s: %s", job.pk, error)
            job.claim(State.DONE, State.DONE, buttons=[], next_poll_at=None)
        return
    if error.kind == ErrorKind.TRANSIENT:
        job.claim(
            FOLLOWED_STATES,
            job.state,
            attempts=job.attempts + 1,
            next_poll_at=now + timedelta(seconds=backoff(job.attempts + 1, cap=30)),
        )
    else:
        job.mark_failed(
            failure_for(error), error.message, code=error.code, from_states=FOLLOWED_STATES
        )


def recover_expired_leases(now):
    """Settle the steps whose worker died: a create that may have reached Akool is recorded
    as unknown (never resent); returns the ids of the jobs whose store is due again."""
    restore = []
    for job in Job.objects.lease_expired(now):
        if job.state == State.SUBMITTING:
            # The worker died mid-create: Akool may or may not have the job. Never resend.
            job.mark_failed(
                Failure.UNKNOWN,
                "The request to Akool was interrupted; the image may or may not have been "
                "created (and charged).",
                from_states=(State.SUBMITTING,),
            )
            continue
        # Only the pass that moves the expired lease on re-queues the store.
        renewed = Job.objects.filter(pk=job.pk, state=State.STORING, lease_until__lt=now).update(
            lease_until=now + timedelta(seconds=settings.STORE_LEASE_SECONDS), updated_at=now
        )
        if renewed:
            restore.append(job.pk)
    return restore


def give_up_stuck(now):
    stuck = Job.objects.filter(state__in=FOLLOWED_STATES, submitted_at__lt=now - STUCK_AFTER)
    for job in stuck:
        job.mark_failed(
            Failure.STUCK,
            f"{int(STUCK_AFTER.total_seconds() // 60)} minutes",
            from_states=FOLLOWED_STATES,
        )
