"""Following jobs: one Akool has not finished STUCK_AFTER its submission is given up with a
clear reason, measured in real time whatever the wall clock does meanwhile."""

import datetime as dt
from datetime import timedelta

import pytest
from django.utils import timezone

from generator.follower import STUCK_AFTER
from generator.models import Job, State
from generator.tasks import follow_once
from tests.factories import make_generation, make_job
from tests.instants import SOME, Instant, at

pytestmark = pytest.mark.django_db


def submitted_job(team, author, submitted_at, state=State.PROCESSING):
    """A job Akool accepted at `submitted_at`, whose next poll is not due yet (so following
    it sends nothing to Akool)."""
    return make_job(
        generation=make_generation(team, author, "a slow one"),
        state=state,
        akool_id=f"job-{Job.objects.count():020d}",
        submitted_at=submitted_at,
        next_poll_at=timezone.now() + timedelta(hours=1),
    )


def state_of(job):
    job.refresh_from_db()
    return job.state


@at(*SOME)
def test_a_job_not_finished_in_time_is_given_up_and_a_younger_one_is_not(instant, team_a, owner):
    now = timezone.now()
    old_queued = submitted_job(
        team_a, owner, now - STUCK_AFTER - timedelta(seconds=1), State.QUEUED
    )
    old_processing = submitted_job(team_a, owner, now - STUCK_AFTER - timedelta(seconds=1))
    young = submitted_job(team_a, owner, now - STUCK_AFTER + timedelta(seconds=1))
    # Already ours to store: no longer waiting on Akool, so never "stuck" there.
    storing = submitted_job(team_a, owner, now - 10 * STUCK_AFTER, State.STORING)
    assert follow_once() == 0  # nothing was due for a poll
    for job in (old_queued, old_processing):
        assert state_of(job) == State.FAILED
        assert "Akool did not finish this image within" in job.error_message
        assert job.next_poll_at is None
    assert state_of(young) == State.PROCESSING
    assert young.error_message == ""
    assert state_of(storing) == State.STORING


def clock_change(name, zone, day, submitted, younger, older, fold=0):
    """A job submitted shortly before the clocks change in `zone` on `day`, checked twice on
    the other side (wall times "HH:MM"; `fold` 1 = the second pass of a repeated hour)."""

    def wall(hhmm):
        return dt.datetime.combine(dt.date(*day), dt.time.fromisoformat(hhmm))

    return pytest.param(
        Instant(f"{name}-submitted", zone, wall(submitted)),
        Instant(f"{name}-younger", zone, wall(younger), fold),
        Instant(f"{name}-older", zone, wall(older), fold),
        id=name,
    )


# First check: younger than STUCK_AFTER in real time, though the wall clock (gone forward)
# says older. Second: older, though the wall clock (gone back) says younger.
CLOCK_CHANGES = [
    clock_change(
        "new-york-spring-forward", "America/New_York", (2027, 3, 14), "01:50", "03:10", "03:25"
    ),
    clock_change(
        "new-york-fall-back", "America/New_York", (2027, 11, 7), "01:50", "01:10", "01:25", 1
    ),
    clock_change(
        "berlin-spring-forward", "Europe/Berlin", (2027, 3, 28), "01:50", "03:10", "03:25"
    ),
    clock_change("berlin-fall-back", "Europe/Berlin", (2027, 10, 31), "02:50", "02:10", "02:25", 1),
]


@pytest.mark.parametrize("submitted, younger, older", CLOCK_CHANGES)
def test_a_clock_change_neither_hurries_nor_delays_giving_up(
    time_machine, submitted, younger, older, team_a, owner
):
    assert younger.utc - submitted.utc < STUCK_AFTER < older.utc - submitted.utc
    # The wall clock would get one of the two wrong.
    assert younger.wall - submitted.wall > STUCK_AFTER or older.wall - submitted.wall < STUCK_AFTER
    time_machine.move_to(submitted.at, tick=False)
    job = submitted_job(team_a, owner, timezone.now())
    time_machine.move_to(younger.at, tick=False)
    follow_once()
    assert state_of(job) == State.PROCESSING
    time_machine.move_to(older.at, tick=False)
    follow_once()
    assert state_of(job) == State.FAILED
