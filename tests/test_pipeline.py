"""End to end: a real django-q2 worker, the sandbox over real HTTP, files on disk."""

import threading

import pytest
from django.db.models import Count
from PIL import Image

from generator.models import PENDING_STATES, Job, State
from generator.sandbox.models import SandboxJob, SandboxRequest
from generator.starters import start_generation
from tests.factories import make_generated_job, make_generation
from tests.fixtures_pipeline import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

SIZES_1080P = {"1:1": (1920, 1920), "16:9": (1920, 1080), "2:3": (1280, 1920), "3:4": (1440, 1920)}


@pytest.fixture(params=["polling", "webhook"])
def mode(request, pipeline_settings, live_server):
    """Both ways Akool's results reach us: polling alone, or signed, encrypted webhooks from
    the sandbox (PUBLIC_BASE_URL set, as in production) with polling as the safety net."""
    if request.param == "webhook":
        pipeline_settings.PUBLIC_BASE_URL = live_server.url
    return request.param


@pytest.fixture
def team(pipeline_team, mode):
    if mode == "webhook":
        assert pipeline_team.webhook_url()
    return pipeline_team


def assert_mode_was_used(mode):
    """Webhook mode really ran on webhooks: every finished job was reported by one."""
    webhooks = SandboxRequest.objects.filter(kind="webhook").count()
    assert (webhooks > 0) == (mode == "webhook")


def generate(team, prompt, batch=1, scale="1:1", resolution="1080p", **fields):
    generation = make_generation(
        team,
        team.memberships.first().user,
        prompt,
        batch=batch,
        scale=scale,
        resolution=resolution,
        **fields,
    )
    start_generation(generation)
    return generation


def all_settled(queryset):
    return lambda: not queryset.filter(state__in=PENDING_STATES).exists()


def creates_per_prompt():
    return dict(
        SandboxJob.objects.filter(parent=None).values_list("prompt").annotate(n=Count("id"))
    )


def test_twenty_generations_of_four_are_all_stored_at_the_right_size(team, mode, start_worker):
    scales = list(SIZES_1080P)
    generations = [
        generate(team, f"harbour at dawn {i}", batch=4, scale=scales[i % len(scales)])
        for i in range(20)
    ]
    start_worker()
    jobs = Job.objects.filter(team=team)
    wait_for(all_settled(jobs), timeout=240, message="80 jobs to settle")

    assert jobs.count() == 80
    assert set(jobs.values_list("state", flat=True)) == {State.DONE}
    for generation in generations:
        expected = SIZES_1080P[generation.scale]
        for job in generation.jobs.all():
            with Image.open(job.original.path) as image:
                assert image.size == expected
            assert (job.width, job.height) == expected
            assert job.original.size == job.original_bytes
            assert job.stored_bytes == sum(field.size for field in job.stored_files)
            with Image.open(job.thumbnail.path) as thumb:
                assert thumb.format == "WEBP" and max(thumb.size) == 400
            assert job.sha256 and job.placeholder_color.startswith("#")
    # One create call per generation, each asking for four images.
    assert SandboxRequest.objects.filter(kind="create", code=1000).count() == 20
    assert set(creates_per_prompt().values()) == {4}
    assert_mode_was_used(mode)


def test_upscale_and_variation_children_are_stored_and_linked(team, mode, start_worker):
    from generator.starters import start_button

    generation = generate(team, "lighthouse in fog", batch=1, scale="16:9")
    start_worker()
    parent = generation.jobs.get()
    wait_for(
        lambda: Job.objects.get(pk=parent.pk).state == State.DONE,
        timeout=60,
        message="the parent image",
    )
    parent.refresh_from_db()
    # Offered in both modes: a webhook carries no buttons, so they were asked for once.
    assert parent.buttons == ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"]
    assert "U2" in parent.available_buttons and "V3" in parent.available_buttons

    upscale = start_button(parent, "U2", parent.author)
    variation = start_button(parent, "V3", parent.author)
    children = Job.objects.filter(parent=parent)
    wait_for(all_settled(children), timeout=90, message="U2 and V3")

    upscale.refresh_from_db()
    variation.refresh_from_db()
    assert upscale.state == variation.state == State.DONE
    assert upscale.parent == variation.parent == parent
    assert (upscale.width, upscale.height) == (2880, 1620)  # 1.5 × the parent's 1920×1080
    assert (variation.width, variation.height) == (1920, 1080)
    parent.refresh_from_db()
    assert {"U2", "V3"} <= set(parent.used_buttons)
    assert "U2" not in parent.available_buttons
    with pytest.raises(ValueError, match="already been used"):
        parent.make_button_child("U2", parent.author)
    # The variation is an image of its own with buttons; the 4K upscale offers none.
    assert variation.buttons == ["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"]
    assert upscale.buttons == []
    assert_mode_was_used(mode)


def test_a_killed_worker_loses_no_image_and_never_creates_twice(team, mode, start_worker, settings):
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    from generator.models import PollerLease

    # The per-minute schedule from the migration (the test database is flushed between tests).
    Schedule.objects.create(
        name="follow-jobs",
        func="generator.tasks.follow_jobs",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        repeats=-1,
    )
    settings.SANDBOX_GENERATION_SECONDS = 6
    for i in range(14):
        generate(team, f"crash course {i}", batch=4)
    # Stores the killed worker had claimed are taken over once their lease runs out: a lease
    # shorter than the test workers' usual one, so recovery is not spent waiting it out.
    lease = {"STORE_LEASE_SECONDS": 6}
    worker = start_worker(**lease)
    jobs = Job.objects.filter(team=team)
    wait_for(
        lambda: not jobs.filter(akool_id=None).exists(), timeout=60, message="all creates sent"
    )
    in_flight = jobs.exclude(state=State.DONE).count()
    assert in_flight >= 50
    worker.kill()

    start_worker(**lease)
    # The schedule is what restarts following. django-q2 looks at schedules every 30 s; look
    # now instead, once the dead worker's follower lease has run out (a follower started
    # before then would find it taken and stop until the next minute).
    wait_for(
        lambda: not PollerLease.objects.filter(lease_until__gte=timezone.now()).exists(),
        timeout=30,
        message="the dead follower's lease to run out",
    )
    scheduler(broker=get_broker())
    wait_for(all_settled(jobs), timeout=180, message="recovery after SIGKILL")
    assert set(jobs.values_list("state", flat=True)) == {State.DONE}
    assert set(creates_per_prompt().values()) == {4}
    assert SandboxRequest.objects.filter(kind="create", code=1000).count() == 14
    # Stored exactly once: one download per image... at most one original per job on disk.
    assert jobs.values("sha256").distinct().count() == 56
    assert not jobs.filter(buttons__isnull=True).exists()
    assert_mode_was_used(mode)


def test_with_a_third_of_calls_failing_every_job_ends_clearly_and_none_twice(
    team, mode, start_worker, settings
):
    settings.SANDBOX_FAULT_RATE = 0.3
    for i in range(10):
        generate(team, f"stormy sea {i}", batch=2)
    start_worker()
    jobs = Job.objects.filter(team=team)
    wait_for(all_settled(jobs), timeout=240, message="jobs to settle under faults")

    for job in jobs:
        assert job.state in (State.DONE, State.FAILED, State.UNKNOWN), job.state
        if job.state != State.DONE:
            assert job.error_message, f"{job} failed without a reason"
    # Never duplicated: no prompt got more images at Akool than it asked for.
    assert all(count <= 2 for count in creates_per_prompt().values())
    assert jobs.filter(state=State.DONE).count() >= 10
    # A failed status report still records what Akool said.
    for job in jobs.filter(state=State.FAILED, akool_status__isnull=False):
        assert job.akool_status in (1, 2, 4)


def test_a_dropped_create_is_outcome_unknown_and_never_resent(team, start_worker):
    generation = generate(team, "quiet valley [drop]", batch=1)
    start_worker()
    job = generation.jobs.get()
    wait_for(
        lambda: (
            Job.objects.get(pk=job.pk).state != State.DRAFT
            and Job.objects.get(pk=job.pk).state != State.SUBMITTING
        ),
        timeout=60,
        message="the dropped create to be classified",
    )
    job.refresh_from_db()
    assert job.state == State.UNKNOWN
    assert "may or may not" in job.error_message
    # Give the follower time to (wrongly) resend it: it must not.
    import time

    time.sleep(4)
    assert SandboxRequest.objects.filter(kind="create").count() == 1
    assert Job.objects.get(pk=job.pk).state == State.UNKNOWN


def test_webhook_mode_downloads_each_image_once_and_barely_polls(
    team, mode, start_worker, live_server
):
    if mode != "webhook":
        pytest.skip("webhook mode only")
    for i in range(5):
        generate(team, f"desert bloom {i}", batch=2)
    start_worker()
    jobs = Job.objects.filter(team=team)
    wait_for(all_settled(jobs), timeout=120, message="webhook-driven jobs")
    assert set(jobs.values_list("state", flat=True)) == {State.DONE}
    assert SandboxRequest.objects.filter(kind="download").count() == 10
    # One read per image for its buttons, not a poll every few seconds.
    assert SandboxRequest.objects.filter(kind="result").count() <= 10 + 2
    assert not jobs.filter(buttons__isnull=True).exists()


def test_a_webhook_and_a_poll_racing_on_one_job_store_it_once(team, mode, monkeypatch):
    from generator import starters, tasks
    from generator.akool.client import ImageResult

    job = make_generated_job(team, prompt="race", state=State.PROCESSING, akool_id="a" * 24)
    queued = []
    monkeypatch.setattr(tasks, "enqueue", lambda func, *args: queued.append((func, args)))
    barrier = threading.Barrier(2)
    webhook = ImageResult.from_webhook({"_id": "a" * 24, "status": 3, "url": "http://x/1.png"})
    poll = ImageResult.from_data(
        {"_id": "a" * 24, "image_status": 3, "image": "http://x/1.png", "buttons": ["U1"]}
    )

    def deliver(kind):
        from django.db import connection

        fresh = Job.objects.get(pk=job.pk)
        barrier.wait()
        try:
            if kind == "webhook":
                starters.apply_webhook(team, webhook)
            else:
                tasks.apply_status(fresh, poll)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(k,)) for k in ("webhook", "poll")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [func for func, _ in queued] == [tasks.store_job]
    assert Job.objects.get(pk=job.pk).state == State.STORING
