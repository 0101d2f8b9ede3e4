"""Fresh query-planner statistics on SQLite: without them SQLite picks a team's whole gallery
index over more selective ones, and a page that is fast at a thousand images walks tens of
thousands of rows at a hundred thousand. PostgreSQL keeps its own (autovacuum's ANALYZE)."""

import logging
import sqlite3
import time

from django.db import OperationalError, connection

log = logging.getLogger(__name__)

# SQLite's advice for long-lived connections: optimize when opened, then every hour or so.
OPTIMIZE_EVERY_SECONDS = 3600
# Each index is sampled at about this many rows, so a pass costs milliseconds at any size.
ANALYSIS_LIMIT = 1000

_last_run = None


def _statement():
    # From 3.46, flag 0x10000 makes optimize look at every table. Before that it only looks at
    # tables this connection has queried, and a worker's connection never reads the gallery, so
    # it runs the bounded ANALYZE that optimize would have run.
    if sqlite3.sqlite_version_info >= (3, 46):
        return "PRAGMA optimize=0x10002"
    return "ANALYZE"


def optimize_if_due():
    """Refresh the statistics if this process has not in the last hour. Returns True when it
    ran; False on another database, when not due, or when the database was busy (next time)."""
    global _last_run
    if connection.vendor != "sqlite":
        return False
    now = time.monotonic()
    if _last_run is not None and now - _last_run < OPTIMIZE_EVERY_SECONDS:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            cursor.execute(_statement())
    except OperationalError as error:  # the write lock stayed taken past the busy timeout
        log.info("SQLite statistics not refreshed this time: %s", error)
        return False
    _last_run = now
    return True
