"""SQLite's planner statistics are refreshed by the follower, at most once an hour per process."""

import pytest
from django.db import connection

from generator import tasks
from generator.lib import sqlite_stats
from generator.models import State

from .factories import make_generated_job, make_team

pytestmark = pytest.mark.django_db

on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL keeps its own statistics"
)


def analysed_tables():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return set()
        cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def never_optimized(monkeypatch):
    monkeypatch.setattr(sqlite_stats, "_last_run", None)


@on_sqlite
def test_the_follower_gives_sqlite_statistics_on_the_gallery(never_optimized):
    team = make_team()
    for i in range(5):
        make_generated_job(team, prompt=f"gull {i}", state=State.DONE)
    assert "generator_job" not in analysed_tables()
    tasks.follow_jobs()
    assert "generator_job" in analysed_tables()


@on_sqlite
def test_statistics_are_refreshed_once_an_hour(never_optimized, monkeypatch):
    assert sqlite_stats.optimize_if_due()
    assert not sqlite_stats.optimize_if_due()
    an_hour_ago = sqlite_stats._last_run - sqlite_stats.OPTIMIZE_EVERY_SECONDS - 1
    monkeypatch.setattr(sqlite_stats, "_last_run", an_hour_ago)
    assert sqlite_stats.optimize_if_due()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="only other databases skip it")
def test_other_databases_are_left_to_their_own_statistics(never_optimized):
    assert not sqlite_stats.optimize_if_due()
    assert sqlite_stats._last_run is None
