"""The follower task holds a worker slot only while something is due soon.

A sleeping follower is a worker that cannot store images. In webhook mode the jobs in flight
have only late safety-net polls due, so the follower must give its slot back at once and leave
them to the schedule that starts a follower every minute; when a poll or a lease falls due
within one run, it stays and sleeps towards it, and hands over to a fresh follower at the end.
"""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from generator import tasks
from generator.models import Job, PollerLease, State
from tests.factories import make_generation, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def follower(monkeypatch):
    """follow_jobs on a clock of its own: its sleeps advance that clock instantly and are
    recorded, and what it queues is recorded instead of queued."""
    record = {"sleeps": [], "queued": []}
    clock = SimpleNamespace(now=0.0)

    def sleep(seconds):
        record["sleeps"].append(seconds)
        clock.now += seconds

    fake_time = SimpleNamespace(monotonic=lambda: clock.now, sleep=sleep)
    monkeypatch.setattr(tasks, "time", fake_time)
    monkeypatch.setattr(tasks, "enqueue", lambda func, *args: record["queued"].append(func))

    def run():
        tasks.follow_jobs()
        return record

    return run


def job_in_flight(team, author, **fields):
    return make_job(
        generation=make_generation(team, author, "a lighthouse at dusk"),
        akool_id=f"job-{Job.objects.count():020d}",
        submitted_at=timezone.now(),
        **fields,
    )


def test_with_only_late_safety_net_polls_the_follower_returns_at_once(follower, team_a, owner):
    job_in_flight(
        team_a,
        owner,
        state=State.PROCESSING,
        next_poll_at=timezone.now() + timedelta(seconds=60),
    )
    record = follower()
    assert record["sleeps"] == []
    assert record["queued"] == []  # the minute schedule comes back for it
    assert not PollerLease.objects.filter(lease_until__gt=timezone.now()).exists()


def test_a_poll_due_soon_keeps_the_follower_until_the_run_ends_then_it_hands_over(
    follower, team_a, owner
):
    job_in_flight(
        team_a,
        owner,
        state=State.PROCESSING,
        next_poll_at=timezone.now() + timedelta(seconds=10),
    )
    record = follower()
    assert record["sleeps"], "it waited for the poll"
    assert all(0 < seconds <= 2.0 for seconds in record["sleeps"])
    assert sum(record["sleeps"]) >= tasks.FOLLOW_RUN_SECONDS
    assert record["queued"] == [tasks.follow_jobs]
    assert not PollerLease.objects.filter(lease_until__gt=timezone.now()).exists()


def test_a_lease_running_out_soon_keeps_the_follower_for_the_recovery(follower, team_a, owner):
    """A store whose worker may have died: its lease ends within the run, so the follower
    stays to hand the store to another worker."""
    job_in_flight(
        team_a,
        owner,
        state=State.STORING,
        lease_until=timezone.now() + timedelta(seconds=15),
    )
    record = follower()
    assert record["sleeps"]
    assert record["queued"] == [tasks.follow_jobs]
