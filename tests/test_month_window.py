"""Budgets and usage count by calendar month in the team's own time zone."""

import calendar
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from generator.models import Team
from tests.instants import ALL, DST_CHANGES, LEAP_DAY, at


def test_month_follows_the_team_time_zone():
    team = Team(time_zone="America/New_York")
    # 03:00 UTC on 1 January is still 31 December in New York.
    start, end = team.month_window(datetime(2026, 1, 1, 3, tzinfo=UTC))
    assert (start.year, start.month, end.year, end.month) == (2025, 12, 2026, 1)
    assert start.utcoffset().total_seconds() == -5 * 3600


def test_previous_month_crosses_the_year():
    team = Team(time_zone="UTC")
    start, end = team.month_window(datetime(2026, 1, 20, tzinfo=UTC), months_back=1)
    assert (start, end) == (datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_unknown_time_zone_counts_in_utc():
    start, _ = Team(time_zone="Mars/Olympus").month_window(datetime(2026, 6, 30, 23, tzinfo=UTC))
    assert start == datetime(2026, 6, 1, tzinfo=UTC)


# --- at the named instants -------------------------------------------------------------------


def local_midnight_on_the_first(zone, year, month):
    """The instant the month begins on a wall clock in `zone`, worked out in UTC."""
    naive = datetime(year, month, 1)
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def next_month(year, month):
    return (year + 1, 1) if month == 12 else (year, month + 1)


def previous_month(year, month):
    return (year - 1, 12) if month == 1 else (year, month - 1)


@at(*ALL)
def test_the_instant_is_what_the_clock_says(instant):
    # A guard on the instants themselves: each is a wall time that exists in its zone, and
    # the clock really stands there.
    local = instant.utc.astimezone(ZoneInfo(instant.zone))
    assert (local.replace(tzinfo=None), local.fold) == (instant.wall, instant.fold)
    assert timezone.now() == instant.utc


@at(*ALL)
def test_this_month_is_the_local_calendar_month(instant):
    team = Team(time_zone=instant.zone)
    start, end = team.month_window()
    now = timezone.now()
    assert start <= now < end
    assert start == local_midnight_on_the_first(instant.zone, *instant.month)
    assert end == local_midnight_on_the_first(instant.zone, *next_month(*instant.month))
    assert (start.year, start.month) == instant.month
    # Local calendar days, however many hours a clock change gave the month.
    days = (end.date() - start.date()).days
    assert days == calendar.monthrange(*instant.month)[1]


@at(*ALL)
def test_the_months_before_and_after_join_without_a_gap(instant):
    team = Team(time_zone=instant.zone)
    start, end = team.month_window()
    previous_start, previous_end = team.month_window(months_back=1)
    assert previous_end == start
    assert previous_start == local_midnight_on_the_first(
        instant.zone, *previous_month(*instant.month)
    )
    # The instant just before the month began is in the previous month; the first instant
    # of the next month is not in this one.
    assert team.month_window(start - timedelta(microseconds=1)) == (previous_start, start)
    assert team.month_window(end)[0] == end


@at(*LEAP_DAY)
def test_february_2028_has_29_days_in_every_zone(instant):
    team = Team(time_zone=instant.zone)
    months_back = 0 if instant.month == (2028, 2) else 1
    start, end = team.month_window(months_back=months_back)
    assert (start.year, start.month) == (2028, 2)
    assert (end.date() - start.date()).days == 29
    assert timezone.localtime(end - timedelta(minutes=1), team.zone()).day == 29


HOURS_IN_THE_MONTH = {
    "new-york-spring-forward": 31 * 24 - 1,
    "new-york-fall-back-second-1h30": 30 * 24 + 1,
    "berlin-spring-forward": 31 * 24 - 1,
    "berlin-fall-back-second-2h30": 31 * 24 + 1,
    "berlin-last-hour-of-march": 31 * 24 - 1,
    "new-york-week-before-spring-forward": 31 * 24 - 1,
    "berlin-week-before-fall-back": 31 * 24 + 1,
}


@at(*DST_CHANGES)
def test_a_month_with_a_clock_change_is_an_hour_shorter_or_longer(instant):
    start, end = Team(time_zone=instant.zone).month_window()
    elapsed = end.astimezone(UTC) - start.astimezone(UTC)
    assert elapsed == timedelta(hours=HOURS_IN_THE_MONTH[instant.name])
