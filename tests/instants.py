"""Named instants for tests that pin the clock: the moments where counting by calendar month
in each team's own time zone goes wrong first.

An `Instant` is a wall-clock time in a team's zone, so each reads the way a person there would
see it. Parametrize a test with `@at(*GROUP)` and take the `instant` fixture as its FIRST
argument: the clock is then frozen (time-machine, this process only) before any other fixture
runs, so rows, sessions and signatures are all made "then". A test that takes `instant`
without parametrizing it (or a module with `pytestmark = pytest.mark.usefixtures("instant")`)
is frozen at `DEFAULT`. A live server thread shares the
frozen clock; a worker subprocess does not, so keep pinned tests in process.

Import into conftest with `from tests.instants import *` (the fixture); import the groups by
name where they are used.
"""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

__all__ = ["instant"]


@dataclass(frozen=True)
class Instant:
    name: str
    zone: str
    wall: dt.datetime  # naive local time in `zone`
    fold: int = 0  # 1 = the second of two equal wall times when clocks go back

    @property
    def at(self):
        return self.wall.replace(tzinfo=ZoneInfo(self.zone), fold=self.fold)

    @property
    def utc(self):
        """The instant in UTC. Add time to this one: Python adds a timedelta to `at` on the
        zone's wall clock, so across a clock change "7 days" would be 167 or 169 hours."""
        return self.at.astimezone(dt.UTC)

    @property
    def month(self):
        """The (year, month) a person in `zone` sees on their calendar."""
        return (self.wall.year, self.wall.month)

    @property
    def month_name(self):
        return self.wall.strftime("%B")

    @property
    def local_date(self):
        return self.wall.date()

    def __str__(self):
        return self.name


# The first and last hour of a month: in UTC, and in zones far from it on both sides, where the
# team's month and UTC's disagree.
NEW_YORK_NEW_YEARS_EVE = Instant(
    # 02:30 UTC on 1 January: UTC is in the new year, the team is still in December.
    "new-york-31-december-21h30-utc-already-january",
    "America/New_York",
    dt.datetime(2026, 12, 31, 21, 30),
)
MONTH_EDGES = (
    Instant("utc-first-minute-of-january", "UTC", dt.datetime(2027, 1, 1, 0, 0, 30)),
    Instant("utc-last-minute-of-december", "UTC", dt.datetime(2026, 12, 31, 23, 59, 30)),
    NEW_YORK_NEW_YEARS_EVE,
    # UTC+14: UTC is still on 31 March (10:30).
    Instant("kiritimati-first-hour-of-april", "Pacific/Kiritimati", dt.datetime(2027, 4, 1, 0, 30)),
    Instant(
        "kiritimati-last-hour-of-march", "Pacific/Kiritimati", dt.datetime(2027, 3, 31, 23, 30)
    ),
    # UTC-11: UTC is already on 1 April (10:30).
    Instant("pago-pago-first-hour-of-april", "Pacific/Pago_Pago", dt.datetime(2027, 4, 1, 0, 30)),
    Instant("pago-pago-last-hour-of-march", "Pacific/Pago_Pago", dt.datetime(2027, 3, 31, 23, 30)),
    Instant(
        "los-angeles-last-hour-of-january", "America/Los_Angeles", dt.datetime(2027, 1, 31, 23, 30)
    ),
)

# 29 February 2028, where a month has 29 days and "a month ago" has no same day.
LEAP_DAY = (
    Instant("utc-29-february-last-hour", "UTC", dt.datetime(2028, 2, 29, 23, 30)),
    # UTC is already on 1 March.
    Instant(
        "pago-pago-29-february-last-hour", "Pacific/Pago_Pago", dt.datetime(2028, 2, 29, 23, 30)
    ),
    # UTC is still on 29 February.
    Instant("kiritimati-1-march-first-hour", "Pacific/Kiritimati", dt.datetime(2028, 3, 1, 0, 30)),
)

# Days the clocks change: a local day of 23 or 25 hours, and wall times that repeat.
DST_CHANGES = (
    # 02:00 EST became 03:00 EDT.
    Instant("new-york-spring-forward", "America/New_York", dt.datetime(2027, 3, 14, 3, 30)),
    # 02:00 EDT became 01:00 EST: the second 01:30 of the night.
    Instant(
        "new-york-fall-back-second-1h30", "America/New_York", dt.datetime(2027, 11, 7, 1, 30), 1
    ),
    # 02:00 CET became 03:00 CEST.
    Instant("berlin-spring-forward", "Europe/Berlin", dt.datetime(2027, 3, 28, 3, 30)),
    # 03:00 CEST became 02:00 CET: the second 02:30.
    Instant("berlin-fall-back-second-2h30", "Europe/Berlin", dt.datetime(2027, 10, 31, 2, 30), 1),
    # A month of 743 hours, ending in summer time.
    Instant("berlin-last-hour-of-march", "Europe/Berlin", dt.datetime(2027, 3, 31, 23, 30)),
    # Seven days from here hold a clock change: a week of 167 or 169 hours.
    Instant("new-york-week-before-spring-forward", "America/New_York", dt.datetime(2027, 3, 9, 12)),
    Instant("berlin-week-before-fall-back", "Europe/Berlin", dt.datetime(2027, 10, 28, 12)),
)

ALL = MONTH_EDGES + LEAP_DAY + DST_CHANGES


def named(*names):
    found = {i.name: i for i in ALL}
    return tuple(found[name] for name in names)


# A handful across every kind, for tests too slow to run at all of them.
SOME = named(
    "new-york-31-december-21h30-utc-already-january",
    "kiritimati-last-hour-of-march",
    "pago-pago-last-hour-of-march",
    "pago-pago-29-february-last-hour",
    "new-york-spring-forward",
    "berlin-fall-back-second-2h30",
    "new-york-week-before-spring-forward",
    "berlin-week-before-fall-back",
)

# Where a test that does not choose is pinned: the hours in which UTC has started a new month
# (and a new year) but a team west of UTC has not.
DEFAULT = NEW_YORK_NEW_YEARS_EVE


def at(*instants):
    """Run the test once per instant, with the clock frozen there (the `instant` fixture)."""
    return pytest.mark.parametrize("instant", instants, ids=str, indirect=True)


@pytest.fixture
def instant(request, time_machine):
    """The Instant the clock is frozen at (`DEFAULT` unless the test is parametrized `@at`)."""
    chosen = getattr(request, "param", DEFAULT)
    time_machine.move_to(chosen.at, tick=False)
    return chosen
