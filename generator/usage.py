"""A team's usage for one calendar month: credits and images, by day, member, mode and
resolution, plus the live Akool balance.

What counts (the page says the same):
- credits charged: the sum of `deduction_credit`, Akool's real charge, over the month's jobs
  (any state: Akool may charge for a job that later failed to store);
- credits reserved: `estimated_credit` of jobs whose charge Akool has not reported yet (failed
  jobs without a charge excluded). Charged + reserved is what budgets count (budgets.spent);
- images delivered: jobs that reached DONE, i.e. stored and shown in the gallery.

A job belongs to the month (and day) it was created in, in the team's time zone, by the same
`Team.month_window` budgets use. Every breakdown is one grouped query computed in the database.
"""

import datetime
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateTimeField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate

from .models import AuditAction, AuditEntry, Job, Mode, Resolution, State, Team, TokenKind, kept

logger = logging.getLogger(__name__)

MONTHS = {"current": 0, "previous": 1}

# Images in the gallery: trashed ones are not delivered any more, but their credits were spent.
_DELIVERED = Q(state=State.DONE) & kept()
_RESERVED = Q(deduction_credit__isnull=True) & ~Q(state=State.FAILED)


def _figures():
    """The three aggregates every breakdown computes, as keyword arguments for .annotate()."""
    return {
        "credits": Coalesce(Sum("deduction_credit"), 0),
        "images": Count("pk", filter=_DELIVERED),
        "reserved": Coalesce(Sum("estimated_credit", filter=_RESERVED), 0),
    }


@dataclass
class Row:
    label: str
    images: int = 0
    credits: int = 0
    reserved: int = 0

    @classmethod
    def of(cls, label, values):
        return cls(label, values["images"], values["credits"], values["reserved"])

    def cells(self):
        return [self.label, self.images, self.credits, self.reserved]


@dataclass
class Section:
    slug: str
    title: str
    heading: str  # the first column's header
    rows: list[Row]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: datetime.date
    credits: int


@dataclass
class Tick:
    y: float
    value: int


@dataclass
class Label:
    x: float
    text: str


@dataclass
class Chart:
    """Geometry of the server-rendered SVG bar chart of credits per day (viewBox units)."""

    width: int = 720
    height: int = 260
    left: int = 52
    right: int = 12
    top: int = 28
    bottom: int = 40
    bars: list[Bar] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    total: int = 0

    @property
    def plot_right(self):
        return self.width - self.right

    @property
    def baseline(self):
        return self.height - self.bottom

    @property
    def label_y(self):
        return self.baseline + 18

    @property
    def axis_title_y(self):
        return self.height - 4


@dataclass
class Report:
    team: Team
    start: datetime.datetime
    end: datetime.datetime
    total: Row
    sections: list[Section]
    chart: Chart
    # Prompts moderation refused this month (each one an audit entry; nothing reached Akool).
    refused: int = 0

    @property
    def month_label(self):
        return self.start.strftime("%B %Y")

    def csv_rows(self):
        """Exactly the page's table rows, section by section, with a header row."""
        rows = [["Breakdown", "Row", "Images delivered", "Credits charged", "Credits reserved"]]
        for section in self.sections:
            rows.extend([section.title, *row.cells()] for row in section.rows)
        return rows


def _jobs(team, start, end):
    return Job.objects.filter(team=team, created_at__gte=start, created_at__lt=end).order_by()


def _member_label(email, name):
    if not email:
        return "Removed account"
    return f"{name} <{email}>" if name else email


def _token_label(values):
    kind = "personal" if values["api_token__kind"] == "personal" else "team"
    return f"{values['api_token__name']} ({kind}, {values['api_token__hint']}…)"


def _nice_step(value):
    """The smallest 1, 2 or 5 × 10^k at or above `value` (an axis step people can read)."""
    if value <= 1:
        return 1
    magnitude = 1
    while magnitude * 10 < value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _chart(per_day, start, end):
    chart = Chart()
    first, last = start.date(), (end - datetime.timedelta(days=1)).date()
    days = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    peak = max((per_day.get(day, 0) for day in days), default=0)
    step = _nice_step(peak / 4)
    top_value = step * 4
    plot_height = chart.baseline - chart.top
    slot = (chart.plot_right - chart.left) / len(days)
    for i, day in enumerate(days):
        credits = per_day.get(day, 0)
        height = round(plot_height * max(credits, 0) / top_value, 2)
        x = chart.left + i * slot
        chart.bars.append(
            Bar(
                round(x + slot * 0.15, 2),
                chart.baseline - height,
                round(slot * 0.7, 2),
                height,
                day,
                credits,
            )
        )
        if day.day == 1 or day.day % 5 == 0:
            chart.labels.append(Label(round(x + slot / 2, 2), str(day.day)))
    chart.ticks = [Tick(round(chart.baseline - plot_height * n / 4, 2), step * n) for n in range(5)]
    chart.total = sum(per_day.values())
    return chart


def month_totals(team, months_back=0, when=None):
    """One month's team-wide figures, as a Row labelled with the month."""
    start, end = team.month_window(when, months_back)
    return Row.of(start.strftime("%B %Y"), _jobs(team, start, end).aggregate(**_figures()))


def build_report(team, months_back=0, only_member=None, when=None):
    """The month's usage. With `only_member` (a User), the member breakdown holds that
    person's row alone (zeros when they made nothing); every other figure stays team-wide."""
    start, end = team.month_window(when, months_back)
    jobs = _jobs(team, start, end)
    total = month_totals(team, months_back, when)

    by_day = (
        jobs.annotate(day=TruncDate("created_at", tzinfo=team.zone()))
        .values("day")
        .annotate(**_figures())
        .order_by("day")
    )
    day_rows = [Row.of(v["day"].isoformat(), v) for v in by_day]

    members = jobs if only_member is None else jobs.filter(author=only_member)
    # A team token's jobs have no author: they are its own row under "By API token", not a
    # "removed account" here.
    by_member = (
        members.exclude(api_token__kind=TokenKind.SERVICE)
        .values("author_id", "author__email", "author__name")
        .annotate(**_figures())
        .order_by("-credits", "author__email")
    )
    member_rows = [
        Row.of(_member_label(v["author__email"], v["author__name"]), v) for v in by_member
    ]
    if only_member is not None and not member_rows:
        member_rows = [Row(_member_label(only_member.email, only_member.name))]

    by_mode = jobs.values("generation__mode").annotate(**_figures()).order_by("generation__mode")
    mode_rows = [Row.of(Mode(v["generation__mode"]).label, v) for v in by_mode]

    by_resolution = (
        jobs.values("generation__resolution")
        .annotate(**_figures())
        .order_by("generation__resolution")
    )
    resolution_rows = [
        Row.of(Resolution(v["generation__resolution"]).label, v) for v in by_resolution
    ]

    # Which API token did what (personal tokens too: their rows follow `members`' rule).
    by_token = (
        members.filter(api_token__isnull=False)
        .values("api_token__name", "api_token__hint", "api_token__kind")
        .annotate(**_figures())
        .order_by("-credits", "api_token__name")
    )
    token_rows = [Row.of(_token_label(v), v) for v in by_token]

    sections = [
        Section("total", "Month total", "Month", [total]),
        Section("day", "By day", "Day", day_rows),
        Section("member", "By member", "Member", member_rows),
        Section("mode", "By mode", "Mode", mode_rows),
        Section("resolution", "By resolution", "Resolution", resolution_rows),
    ]
    if token_rows:
        sections.append(Section("token", "By API token", "API token", token_rows))
    per_day = {datetime.date.fromisoformat(row.label): row.credits for row in day_rows}
    refused = AuditEntry.objects.filter(
        team=team,
        action=AuditAction.PROMPT_BLOCKED,
        created_at__gte=start,
        created_at__lt=end,
    ).count()
    return Report(team, start, end, total, sections, _chart(per_day, start, end), refused)


# --- the admin's team list: this month's figures for many teams in one query -----------------


def annotate_month_usage(teams, when=None):
    """Annotate `month_credits` and `month_images` (this month, each team in its own time
    zone). Subqueries rather than joins, so other Count() annotations are not multiplied.
    One extra query reads the distinct time zones to build each zone's window."""
    zones = Team.objects.order_by().values_list("time_zone", flat=True).distinct()
    starts, ends = [], []
    for zone in zones:
        start, end = Team(time_zone=zone).month_window(when)
        starts.append(When(time_zone=zone, then=Value(start)))
        ends.append(When(time_zone=zone, then=Value(end)))
    if not starts:
        return teams.annotate(month_credits=Value(0), month_images=Value(0))
    teams = teams.annotate(
        usage_start=Case(*starts, output_field=DateTimeField()),
        usage_end=Case(*ends, output_field=DateTimeField()),
    )
    month = Job.objects.filter(
        team=OuterRef("pk"),
        created_at__gte=OuterRef("usage_start"),
        created_at__lt=OuterRef("usage_end"),
    ).order_by()
    credits = month.values("team").annotate(v=Sum("deduction_credit")).values("v")
    images = month.filter(_DELIVERED).values("team").annotate(v=Count("pk")).values("v")
    return teams.annotate(
        month_credits=Coalesce(Subquery(credits, output_field=IntegerField()), 0),
        month_images=Coalesce(Subquery(images, output_field=IntegerField()), 0),
    )


def annotate_storage(teams):
    """`storage_images` and `storage_bytes` on each team: its stored images (trash included,
    until purged) and their files' sizes, as Team.storage_used counts them, in one query."""
    stored = Job.objects.stored().filter(team=OuterRef("pk")).order_by()
    images = stored.values("team").annotate(v=Count("pk")).values("v")
    sizes = stored.values("team").annotate(v=Sum("stored_bytes")).values("v")
    return teams.annotate(
        storage_images=Coalesce(Subquery(images, output_field=IntegerField()), 0),
        storage_bytes=Coalesce(Subquery(sizes, output_field=BigIntegerField()), 0),
    )


# --- the live balance ------------------------------------------------------------------------


@dataclass
class Balance:
    credit: float | None = None
    message: str = ""

    @property
    def ok(self):
        return self.credit is not None

    @property
    def display(self):
        value = Decimal(str(self.credit)).normalize()
        return f"{value:,f}"


def _balance_cache_key(team):
    # Keyed by team and by the visible last four characters of its key, so a changed key is
    # asked afresh; the key itself is never part of a cache key or value.
    return f"usage:balance:{team.code}:{team.backend}:{team.api_key_last4}"


def akool_balance(team):
    """The team's Akool credit balance, cached for USAGE_BALANCE_CACHE_SECONDS. Never raises:
    a failure comes back as a Balance with a message fit to show. Failures are cached for a
    shorter time so an unreachable Akool does not make every page view wait on a timeout."""
    from .akool.errors import AkoolError

    if not team.has_credentials:
        return Balance(message="No Akool API key is saved for this team yet.")
    if team.credentials_unreadable:
        return Balance(message=team.credentials_problem())
    key = _balance_cache_key(team)
    cached = cache.get(key)
    if cached is not None:
        return Balance(**cached)
    ttl = settings.USAGE_BALANCE_CACHE_SECONDS
    try:
        # One quick try: a person is waiting for the page.
        balance = Balance(credit=team.akool_client(get_retries=0, read_timeout=10).credit_info())
    except AkoolError as exc:
        balance = Balance(message=f"The Akool balance is not available: {exc.message}")
        ttl = min(ttl, 15)
    except Exception as exc:
        logger.warning("Balance for team %s failed: %s", team.code, type(exc).__name__)
        balance = Balance(message="The Akool balance is not available right now.")
        ttl = min(ttl, 15)
    if ttl > 0:
        cache.set(key, {"credit": balance.credit, "message": balance.message}, ttl)
    return balance
