"""Budgets and usage count by calendar month in the team's own time zone."""

from datetime import UTC, datetime

from generator.models import Team


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
