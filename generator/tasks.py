"""Background workflows that talk to Akool: submit, follow, store.

Every task takes ids, reloads its rows, and returns quietly when a row is gone or has already
moved on. Every step is claimed with a conditional UPDATE so two workers never do it twice, and
a create call (which costs money) is never sent twice for one job. The follower's steps (what
is due, polling Akool, jobs that will not finish) are in follower.py; the tasks here queue what
those steps find due.
"""

import contextlib
import logging
import tempfile
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from . import early_webhooks, follower
from .akool.errors import AkoolError, ErrorKind
from .akool.results import STATUS_COMPLETED
from .lib import imaging, sqlite_stats, ssrf, storage
from .lib.imaging import InvalidImage, derive
from .models import (
    Failure,
    Job,
    Mode,
    PollerLease,
    State,
)
from .models.failures import failure_for
from .queue import enqueue
from .source_links import why_unreachable

log = logging.getLogger(__name__)

MAX_SUBMIT_ATTEMPTS = 5
MAX_STORE_ATTEMPTS = 6
DOWNLOAD_MAX_BYTES = 200 * 1024 * 1024
# Akool's result URLs live for 7 days; after that a download can only fail.
RESULT_URL_LIFETIME = timedelta(days=7)
# One follow_jobs task runs for about this long, then hands over to a fresh one, so no task
# gets near the queue's timeout.
FOLLOW_RUN_SECONDS = 20


def _poller_lease():
    return timedelta(seconds=settings.POLLER_LEASE_SECONDS)


# --- submit ----------------------------------------------------------------------------------


def _claim_drafts(queryset):
    """Take the DRAFT jobs of `queryset` for sending; return them (empty when someone else did)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            queryset.select_for_update().filter(state=State.DRAFT).values_list("pk", flat=True)
        )
        if not ids:
            return []
        Job.objects.filter(pk__in=ids, state=State.DRAFT).update(
            state=State.SUBMITTING,
            lease_until=now + timedelta(seconds=settings.SUBMIT_LEASE_SECONDS),
            next_poll_at=None,
            updated_at=now,
        )
    return list(
        Job.objects.filter(pk__in=ids)
        .select_related("team", "generation", "parent")
        .order_by("index", "pk")
    )


def submit_generation(generation_id):
    """1. Claim the generation's draft jobs. 2. Send ONE create call for all of them.
    3. Record every returned Akool id in one transaction, or record the failure."""
    jobs = _claim_drafts(Job.objects.filter(generation_id=generation_id, button=""))
    if not jobs:
        return
    generation, team = jobs[0].generation, jobs[0].team
    try:
        created = team.akool_client().create_image(
            prompt=generation.prompt,
            negative_prompt=generation.negative_prompt,
            source_image=generation.source_url,
            scale=generation.scale,
            resolution=generation.resolution,
            batch_quantity=len(jobs),
            similar=generation.similar,
            model_name=generation.model_name,
            webhook_url=team.webhook_url(),
        )
    except AkoolError as error:
        _submit_failed(jobs, error)
        return
    _record_created(jobs, created)


def submit_button(job_id):
    """1. Claim the U/V child job. 2. Send ONE createbybutton call. 3. Record the new id."""
    jobs = _claim_drafts(Job.objects.filter(pk=job_id).exclude(button=""))
    if not jobs:
        return
    job = jobs[0]
    if job.parent is None:
        job.mark_failed(Failure.ORPHANED, from_states=(State.SUBMITTING,))
        return
    try:
        created = job.team.akool_client().create_by_button(
            job.parent.akool_id, job.button, webhook_url=job.team.webhook_url()
        )
    except AkoolError as error:
        _submit_failed(jobs, error)
        return
    _record_created(jobs, [created])
    # Akool moves a used button to used_buttons; mirror it now rather than at the next poll.
    # Locked read-modify-write: two buttons pressed at once must both be recorded.
    with transaction.atomic():
        parent = Job.objects.select_for_update().get(pk=job.parent_id)
        if job.button not in parent.used_buttons:
            parent.used_buttons = [*parent.used_buttons, job.button]
            parent.save(update_fields=["used_buttons", "updated_at"])


def _record_created(jobs, created):
    now = timezone.now()
    with transaction.atomic():
        for job, record in zip(jobs, created, strict=False):
            # SUBMITTING, or UNKNOWN if our lease ran out meanwhile: either way we now know.
            Job.objects.filter(pk=job.pk, state__in=(State.SUBMITTING, State.UNKNOWN)).update(
                akool_id=record.id,
                state=State.PROCESSING if record.status == 2 else State.QUEUED,
                akool_status=record.status,
                deduction_credit=record.deduction_credit,
                submitted_at=now,
                lease_until=None,
                attempts=0,
                error_code=None,
                error_message="",
                next_poll_at=now + timedelta(seconds=job.next_poll_delay()),
                updated_at=now,
            )
        for job in jobs[len(created) :]:
            job.mark_failed(Failure.SHORT)
    early = early_webhooks.claim(jobs[0].team_id, [record.id for record in created])
    for job in Job.objects.filter(akool_id__in=list(early)).select_related("team"):
        apply_status(job, early[job.akool_id])
    enqueue(follow_jobs)


def _submit_failed(jobs, error):
    now = timezone.now()
    if error.kind == ErrorKind.TRANSIENT and jobs[0].submit_attempts + 1 < MAX_SUBMIT_ATTEMPTS:
        # Nothing reached Akool, so sending again cannot charge twice.
        Job.objects.filter(pk__in=[j.pk for j in jobs], state=State.SUBMITTING).update(
            state=State.DRAFT,
            submit_attempts=jobs[0].submit_attempts + 1,
            next_poll_at=now + timedelta(seconds=follower.backoff(jobs[0].submit_attempts + 1)),
            error_code=error.code,
            error_message=f"Retrying: {error.message}",
            lease_until=None,
            updated_at=now,
        )
        enqueue(follow_jobs)
        return
    failure, detail = failure_for(error), error.message
    generation = jobs[0].generation
    if failure == Failure.INVALID and not jobs[0].button and generation.mode == Mode.IMAGE:
        # Akool names no field; an unreachable source is the refusal a person can fix, so
        # it is looked for (one fetch, through the same guard Akool's fetch would pass).
        problem = why_unreachable(generation.source_url, jobs[0].team)
        if problem:
            failure, detail = Failure.SOURCE, problem
    log.warning("create for jobs %s ended %s: code=%s", [j.pk for j in jobs], failure, error.code)
    for job in jobs:
        job.mark_failed(failure, detail, code=error.code, from_states=(State.SUBMITTING,))


# --- follow ----------------------------------------------------------------------------------


def follow_jobs():
    """Follow every job in flight, with one task at a time (whoever holds the poller lease).

    1. Take the lease, or return if another follow_jobs holds it.
    2. Until FOLLOW_RUN_SECONDS pass: recover expired leases, resend due drafts, poll due jobs
       (concurrently, bounded), then sleep until the next job is due.
    3. Give the lease back; if a job is due within the next run, queue the next follow_jobs.
    A schedule runs this every minute, which restarts following after a crash and comes back
    for jobs due later (webhook mode's safety-net polls, long back-offs): sleeping towards them
    would hold one of the worker slots the store tasks need. The lease holder also refreshes
    SQLite's planner statistics when they are due.
    """
    token = uuid.uuid4().hex
    if not PollerLease.acquire(token, _poller_lease()):
        return
    sqlite_stats.optimize_if_due()
    started = time.monotonic()
    soon = False
    try:
        while time.monotonic() - started < FOLLOW_RUN_SECONDS:
            PollerLease.renew(token, _poller_lease())
            follow_once()
            wait = follower.seconds_until_next_due()
            soon = wait is not None and wait <= FOLLOW_RUN_SECONDS
            if not soon:
                break
            time.sleep(min(max(wait, 0.2), 2.0))
    finally:
        PollerLease.release(token)
    if soon:
        enqueue(follow_jobs)


def follow_once():
    """One pass over everything that is due. Returns the number of jobs polled."""
    now = timezone.now()
    for job_id in follower.recover_expired_leases(now):
        enqueue(store_job, job_id)
    follower.give_up_stuck(now)
    for job in follower.take_due_drafts(now):
        if job.button:
            enqueue(submit_button, job.pk)
        else:
            enqueue(submit_generation, job.generation_id)
    polled = follower.poll_due(now)
    for job, result in polled:
        _apply_poll(job, result)
    return len(polled)


def _apply_poll(job, result):
    if isinstance(result, AkoolError):
        follower.poll_failed(job, result)
    else:
        apply_status(job, result)


def apply_status(job, result):
    """The one path for a status Akool reported, by poll or by webhook: move the job, and
    queue the store when it is ours to store."""
    if job.apply_status(result):
        enqueue(store_job, job.pk)


# --- store -----------------------------------------------------------------------------------


def store_job(job_id):
    """1. Check the job is still ours to store. 2. Stream the result to a temporary file
    (size cap, deadline). 3. Validate it and make its thumbnails (the preview waits for its
    first view: previews.py). 4. Write the files,
    then mark done in one short transaction; if someone else finished first, drop our files."""
    job = Job.objects.filter(pk=job_id, state=State.STORING).select_related("team").first()
    if job is None:
        return
    if job.result_seen_at and timezone.now() - job.result_seen_at > RESULT_URL_LIFETIME:
        job.mark_failed(Failure.EXPIRED, from_states=(State.STORING,))
        return
    buttons = _learn_buttons(job)
    # A result link comes from Akool's answer or a webhook: it must not make us fetch inside
    # the network, whoever signed it.
    with tempfile.TemporaryFile() as tmp, ssrf.result_session(job.team.is_sandbox) as session:
        try:
            size = job.team.akool_client().download(
                job.result_url,
                tmp,
                max_bytes=DOWNLOAD_MAX_BYTES,
                deadline=settings.DOWNLOAD_DEADLINE_SECONDS,
                session=session,
            )
            derived = derive(tmp)
        except AkoolError as error:  # a DownloadError, or the team's key is unreadable
            permanent = error.kind != ErrorKind.TRANSIENT
            expired = getattr(error, "expired", False)
            _store_failed(job, error.message, expired=expired, permanent=permanent)
            return
        except InvalidImage as error:
            _store_failed(job, str(error), permanent=True)
            return
        _save_files(job, tmp, size, derived, buttons)


def _learn_buttons(job):
    """Webhooks carry no buttons, so a job finished by one asks Akool once, before it is
    marked done. Returns (buttons, used_buttons), or None when still unknown (the follower
    asks again later; the image is stored either way)."""
    if job.buttons is not None:
        return job.buttons, job.used_buttons
    try:
        result = job.team.akool_client(get_retries=1).get_result(job.akool_id)
    except AkoolError as error:
        log.info("could not fetch the buttons of job %s yet: %s", job.pk, error)
        return None
    if result.status != STATUS_COMPLETED:
        return None
    return result.buttons, result.used_buttons


def _save_files(job, tmp, size, derived, buttons):
    name = f"{job.team.code}/{job.code}"
    tmp.seek(0)
    files = [
        (job.original, f"{name}.{imaging.extension(derived.format)}", File(tmp)),
        (job.thumbnail, f"{name}.webp", ContentFile(derived.thumbnail)),
    ]
    if derived.thumbnail_2x:
        files.append((job.thumbnail_2x, f"{name}-2x.webp", ContentFile(derived.thumbnail_2x)))
    try:
        for field, file_name, content in files:
            storage.save_file(field, file_name, content)
    except storage.StorageUnavailable:
        log.warning("media storage unavailable while storing job %s", job.pk)
        for field, _, _ in files:
            if field.name:
                with contextlib.suppress(*storage.STORAGE_ERRORS):
                    field.storage.delete(field.name)
        # Not the link's fault, so it does not use up the job's attempts; the 7-day link
        # lifetime still ends it if storage never comes back.
        delay = follower.backoff(job.attempts + 1, base=5, cap=120)
        job.claim(
            State.STORING,
            State.STORING,
            error_message="Storage unavailable, retrying.",
            lease_until=timezone.now() + timedelta(seconds=delay),
        )
        enqueue(follow_jobs)
        return
    now = timezone.now()
    if buttons is None:
        learnt = {"buttons": None, "next_poll_at": now}
    else:
        learnt = {"buttons": buttons[0], "used_buttons": buttons[1]}
    done = job.claim(
        State.STORING,
        State.DONE,
        original=job.original.name,
        thumbnail=job.thumbnail.name,
        thumbnail_2x=job.thumbnail_2x.name,
        original_bytes=size,
        stored_bytes=size + sum(len(content) for _, _, content in files[1:]),
        **derived.facts,
        stored_at=now,
        lease_until=None,
        error_code=None,
        error_message="",
        attempts=0,
        **learnt,
    )
    if buttons is None and done:
        enqueue(follow_jobs)
    if not done:
        # Another worker stored it first (or it was deleted): keep exactly one copy.
        for field in job.stored_files:
            field.storage.delete(field.name)


def _store_failed(job, message, expired=False, permanent=False):
    # A CDN can answer 403/404 for a while after Akool reports the job done, so a fresh link
    # is taken as gone only once the grace has passed; until then it is retried.
    if expired and not _within_link_grace(job):
        job.mark_failed(Failure.EXPIRED, message, from_states=(State.STORING,))
        return
    if not expired and (permanent or job.attempts + 1 >= MAX_STORE_ATTEMPTS):
        job.mark_failed(Failure.UNSAVABLE, message, from_states=(State.STORING,))
        return
    # Keep the job in STORING with a short lease: when it runs out, the follower retries.
    delay = follower.backoff(job.attempts + 1, base=5, cap=120)
    job.claim(
        State.STORING,
        State.STORING,
        attempts=job.attempts + 1,
        error_message=f"Retrying download: {message}",
        lease_until=timezone.now() + timedelta(seconds=delay),
    )
    enqueue(follow_jobs)


def _within_link_grace(job):
    grace = timedelta(seconds=settings.RESULT_LINK_GRACE_SECONDS)
    return job.result_seen_at is not None and timezone.now() - job.result_seen_at < grace


# --- clean-up --------------------------------------------------------------------------------


def delete_stored_files(names):
    """Remove stored files whose rows are gone (a deleted team's images and uploads).

    Runs after the delete has committed, in the background: a large team has thousands of
    files, and on S3 each is a request."""
    from .trash import delete_files

    delete_files(names)


# --- retention -------------------------------------------------------------------------------


def purge_trash():
    """Daily: 1. purge every team's trash past its `trash_days` (files, then rows)."""
    from .trash import purge_expired

    purge_expired()


def apply_retention():
    """Daily: 1. move each team's images past its retention policy to the trash (one summary
    audit entry per team)."""
    from .retention import apply_all

    apply_all()
