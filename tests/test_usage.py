"""The usage page: monthly credits and images per team, by day, member, mode and resolution;
its CSV export; the live Akool balance; and the admin's per-team usage columns."""

import calendar
import csv
import datetime
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generator.models import Mode, Resolution, Role, State
from generator.sandbox.models import SandboxRequest
from generator.usage import build_report
from tests.factories import make_charged_job, make_team, make_user, on_sandbox
from tests.instants import ALL, SOME, at

# Every test runs on a frozen clock: at `tests.instants.DEFAULT` (New York's evening of 31
# December, when UTC is already in January), or at the instants it names.
pytestmark = pytest.mark.usefixtures("instant")


# --- seeding ---------------------------------------------------------------------------------


@pytest.fixture
def team(instant, team_a):
    """Team A, in the zone of the instant the clock is pinned at."""
    team_a.time_zone = instant.zone
    team_a.save()
    return team_a


@pytest.fixture
def jobs(team, team_b, owner, member, outsider):
    """Jobs across the current and previous month, two members, both modes and resolutions,
    every kind of state, a job at 23:30 local on the previous month's last day and one at
    00:30 local on this month's first day, and one of team B (in UTC) made now."""
    cur_start, _ = team.month_window()
    prev_start, prev_end = team.month_window(months_back=1)
    day = timedelta(days=1)
    hour = timedelta(hours=1)
    return {
        "current": [
            make_charged_job(
                team, owner, cur_start + day + 10 * hour, credit=4, resolution=Resolution.UHD
            ),
            make_charged_job(team, member, cur_start + day + 11 * hour, credit=2, mode=Mode.IMAGE),
            # Akool charged for it although we could not store it.
            make_charged_job(team, member, cur_start + 2 * day, credit=1, state=State.FAILED),
            # Not charged yet: reserved, not charged.
            make_charged_job(
                team,
                member,
                cur_start + 2 * day + hour,
                credit=None,
                state=State.PROCESSING,
                resolution=Resolution.UHD,
                estimated=2,
            ),
            # Failed without a charge: counts for nothing.
            make_charged_job(team, owner, cur_start + 3 * day, credit=None, state=State.FAILED),
            # The month's first local half hour.
            make_charged_job(team, owner, cur_start + timedelta(minutes=30), credit=3),
        ],
        "previous": [
            make_charged_job(
                team, member, prev_start + 3 * day, credit=5, resolution=Resolution.UHD
            ),
            make_charged_job(
                team,
                owner,
                prev_end - timedelta(minutes=30),
                credit=7,
                mode=Mode.IMAGE,
                resolution=Resolution.UHD,
            ),
        ],
        # Now is in this month in every zone, so team B counts it whatever team A's zone.
        "other_team": [make_charged_job(team_b, outsider, timezone.now(), credit=100)],
    }


def local_month(team, moment):
    local = timezone.localtime(moment, team.zone())
    return (local.year, local.month)


def expected(team, job_list, months_back):
    """The figures computed in Python from the seeded rows, for the month `months_back`."""
    start, _ = team.month_window(months_back=months_back)
    month = (start.year, start.month)
    mine = [
        j for j in job_list if j.team_id == team.pk and local_month(team, j.created_at) == month
    ]
    return {
        "credits": sum(j.deduction_credit or 0 for j in mine),
        "images": sum(1 for j in mine if j.state == State.DONE),
        "reserved": sum(
            j.estimated_credit
            for j in mine
            if j.deduction_credit is None and j.state != State.FAILED
        ),
    }


def all_jobs(jobs):
    return [j for group in jobs.values() for j in group]


def usage_url(team, month=None):
    url = reverse("usage", args=[team.code])
    return f"{url}?month={month}" if month else url


def csv_url(team, month="current"):
    return reverse("usage_csv", args=[team.code]) + f"?month={month}"


class TableRows(HTMLParser):
    """Rows of every usage table as [section, cell, cell, ...], read from the page's HTML."""

    def __init__(self):
        super().__init__()
        self.rows, self.section, self.row, self.cell, self.in_body = [], None, None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "usage-table" in attrs.get("class", ""):
            self.section = attrs["data-section"]
        elif tag == "tbody" and self.section:
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.row = [self.section]
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
        elif tag == "tbody":
            self.in_body = False
        elif tag == "table":
            self.section = None


def page_rows(response):
    parser = TableRows()
    parser.feed(response.content.decode())
    return parser.rows


def csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def section(rows, title):
    return {row[1]: [int(x) for x in row[2:]] for row in rows if row[0] == title}


# --- the figures -----------------------------------------------------------------------------


@at(*ALL)
@pytest.mark.parametrize("months_back", [0, 1])
def test_totals_equal_the_sum_of_the_jobs_recorded_credits(instant, team, jobs, months_back):
    report = build_report(team, months_back)
    want = expected(team, all_jobs(jobs), months_back)
    assert want["credits"] > 0
    total = report.total
    assert (total.credits, total.images, total.reserved) == (
        want["credits"],
        want["images"],
        want["reserved"],
    )
    # Each breakdown splits the same jobs, so each adds up to the total.
    for s in report.sections:
        assert sum(r.credits for r in s.rows) == total.credits, s.slug
        assert sum(r.images for r in s.rows) == total.images, s.slug
        assert sum(r.reserved for r in s.rows) == total.reserved, s.slug


def test_charged_plus_reserved_is_what_budgets_count(team, jobs):
    from generator import budgets

    total = build_report(team).total
    assert total.credits + total.reserved == budgets.spent(team)


@at(*ALL)
def test_the_first_and_last_local_half_hours_belong_to_their_local_month(instant, team, jobs):
    last_evening = jobs["previous"][-1]  # 23:30 local on the previous month's last day
    first_morning = jobs["current"][-1]  # 00:30 local on this month's first day
    previous, current = build_report(team, 1), build_report(team, 0)
    for job, home, other in ((last_evening, previous, current), (first_morning, current, previous)):
        local_day = timezone.localtime(job.created_at, team.zone()).date()
        assert section_of(home, "day")[local_day.isoformat()].credits == job.deduction_credit
        assert local_day.isoformat() not in section_of(other, "day")
        assert home.start.date() <= local_day < home.end.date()
    # And they are the edges: the last local day of one month, the first of the next.
    assert timezone.localtime(last_evening.created_at, team.zone()).date() == (
        current.start.date() - timedelta(days=1)
    )
    assert timezone.localtime(first_morning.created_at, team.zone()).day == 1
    # Away from UTC one of them is in the other month by UTC's calendar: the trap is real.
    offset = team.zone().utcoffset(current.start)
    edge = last_evening if offset < timedelta(0) else first_morning
    if offset:
        assert (
            edge.created_at.astimezone(datetime.UTC).month != local_month(team, edge.created_at)[1]
        )


@at(*SOME)
def test_a_job_made_now_is_on_its_local_months_page_a_day_later(
    instant, time_machine, team, owner_client, owner
):
    make_charged_job(team, owner, timezone.now(), credit=6)
    # A day later: where the instant is a month's last hour, that month is now "previous".
    time_machine.move_to(instant.utc + timedelta(days=1), tick=False)
    moved_on = local_month(team, timezone.now()) != instant.month
    table = page_rows(owner_client.get(usage_url(team, "previous" if moved_on else "current")))
    assert section(table, "Month total") == {f"{instant.wall:%B %Y}": [1, 6, 0]}
    assert section(table, "By day") == {instant.local_date.isoformat(): [1, 6, 0]}
    other = page_rows(owner_client.get(usage_url(team, "current" if moved_on else "previous")))
    assert section(other, "By day") == {}


def section_of(report, slug):
    return {r.label: r for s in report.sections if s.slug == slug for r in s.rows}


def test_breakdowns_group_by_member_mode_and_resolution(team, jobs, owner, member):
    report = build_report(team)
    current = jobs["current"]
    members = section_of(report, "member")
    for person in (owner, member):
        label = f"{person.name} <{person.email}>"
        want = sum(j.deduction_credit or 0 for j in current if j.author_id == person.pk)
        assert members[label].credits == want
    modes = section_of(report, "mode")
    assert set(modes) == {Mode.TEXT.label, Mode.IMAGE.label}
    assert modes[Mode.IMAGE.label].credits == sum(
        j.deduction_credit or 0 for j in current if j.generation.mode == Mode.IMAGE
    )
    resolutions = section_of(report, "resolution")
    assert resolutions[Resolution.UHD.label].reserved == 2
    assert resolutions[Resolution.UHD.label].credits == sum(
        j.deduction_credit or 0 for j in current if j.generation.resolution == Resolution.UHD
    )


@at(*ALL)
def test_the_chart_has_a_bar_for_every_day_of_the_month(instant, team, jobs, owner_client):
    report = build_report(team)
    days = calendar.monthrange(*instant.month)[1]
    assert len(report.chart.bars) == days
    heights = {b.day.isoformat(): b for b in report.chart.bars}
    per_day = section_of(report, "day")
    for label, row in per_day.items():
        assert heights[label].credits == row.credits
    tallest = max(report.chart.bars, key=lambda b: b.height)
    assert tallest.credits == max(r.credits for r in per_day.values())
    body = owner_client.get(usage_url(team)).content.decode()
    assert body.count('class="usage-bar"') == days
    assert 'role="img"' in body and '<title id="usage-chart-title">' in body
    assert "style=" not in body and "<script>" not in body


# --- who sees what ---------------------------------------------------------------------------


def test_owner_sees_every_members_row_and_csv_matches_the_table(team, jobs, owner_client):
    response = owner_client.get(usage_url(team))
    assert response.status_code == 200
    table = page_rows(response)
    members = section(table, "By member")
    assert set(members) == {"Olivia Owner <owner@a.example>", "Mia Member <member@a.example>"}
    exported = csv_rows(owner_client.get(csv_url(team)))
    assert exported[0][0] == "Breakdown"
    assert exported[1:] == table
    totals = section(table, "Month total")
    want = expected(team, all_jobs(jobs), 0)
    assert list(totals.values()) == [[want["images"], want["credits"], want["reserved"]]]


def test_previous_month_page_and_csv_agree(team, jobs, team_admin_client):
    table = page_rows(team_admin_client.get(usage_url(team, "previous")))
    assert csv_rows(team_admin_client.get(csv_url(team, "previous")))[1:] == table
    want = expected(team, all_jobs(jobs), 1)
    assert list(section(table, "Month total").values()) == [
        [want["images"], want["credits"], want["reserved"]]
    ]


def test_member_sees_team_totals_and_only_their_own_row(team, jobs, member_client):
    table = page_rows(member_client.get(usage_url(team)))
    assert set(section(table, "By member")) == {"Mia Member <member@a.example>"}
    want = expected(team, all_jobs(jobs), 0)
    assert list(section(table, "Month total").values()) == [
        [want["images"], want["credits"], want["reserved"]]
    ]
    exported = csv_rows(member_client.get(csv_url(team)))
    assert exported[1:] == table
    assert "owner@a.example" not in member_client.get(csv_url(team)).content.decode()


def test_viewer_with_no_jobs_sees_their_own_zero_row(team, jobs, viewer_client):
    table = page_rows(viewer_client.get(usage_url(team)))
    assert section(table, "By member") == {"Vic Viewer <viewer@a.example>": [0, 0, 0]}


def test_outsider_gets_404(team, jobs, outsider_client):
    assert outsider_client.get(usage_url(team)).status_code == 404
    assert outsider_client.get(csv_url(team)).status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(team, client):
    response = client.get(usage_url(team))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_unknown_month_gets_a_clear_message(team, jobs, owner_client):
    response = owner_client.get(usage_url(team, "last-year"))
    assert response.status_code == 400
    assert "Choose the current or the previous month." in response.content.decode()
    assert page_rows(response)  # the current month is still shown
    response = owner_client.get(csv_url(team, "last-year"))
    assert response.status_code == 400
    assert response.content.decode() == "Choose the current or the previous month."


def test_csv_cells_that_look_like_formulas_are_quoted(team, owner, owner_client):
    start, _ = team.month_window()
    sneaky = make_user("=cmd@a.example", team, Role.MEMBER, name="")
    plus = make_user("plus@a.example", team, Role.MEMBER, name="+SUM(A1)")
    make_charged_job(team, sneaky, start + timedelta(hours=5), credit=1)
    make_charged_job(team, plus, start + timedelta(hours=6), credit=1)
    table = page_rows(owner_client.get(usage_url(team)))
    exported = csv_rows(owner_client.get(csv_url(team)))
    members = {row[1] for row in exported if row[0] == "By member"}
    assert members == {"'=cmd@a.example", "'+SUM(A1) <plus@a.example>"}
    # Apart from that quote, the CSV is the table.
    unquoted = [[c[1:] if c.startswith("'") else c for c in row] for row in exported[1:]]
    assert unquoted == table


def test_the_studio_navigation_links_to_usage(team, owner_client):
    response = owner_client.get(reverse("studio", args=[team.code]))
    assert f'href="{usage_url(team)}"' in response.content.decode()


# --- the live balance ------------------------------------------------------------------------


def credit_calls():
    return SandboxRequest.objects.filter(kind=SandboxRequest.Kind.CREDIT).count()


@pytest.mark.django_db(transaction=True)
def test_balance_is_shown_and_cached(sandbox_url, team_a, owner, settings, own_cache):
    from generator.sandbox.models import SandboxAccount

    on_sandbox(team_a)
    account = SandboxAccount.objects.get(client_id=team_a.client_id)
    account.credit = 12345
    account.save()
    client = Client()
    client.force_login(owner)
    body = client.get(usage_url(team_a)).content.decode()
    assert "12,345" in body
    assert credit_calls() == 1
    # A second view within the cache time does not ask the sandbox again.
    body = client.get(usage_url(team_a, "previous")).content.decode()
    assert "12,345" in body
    assert credit_calls() == 1
    assert team_a.api_key not in body
    # With caching off, every view asks.
    settings.USAGE_BALANCE_CACHE_SECONDS = 0
    own_cache()
    client.get(usage_url(team_a))
    client.get(usage_url(team_a))
    assert credit_calls() == 3


@pytest.mark.django_db(transaction=True)
def test_an_invalid_key_shows_a_message_not_an_error_page(sandbox_url, team_a, owner, own_cache):
    team_a.backend = "sandbox"
    team_a.set_credentials("not-a-real-key-0000")
    team_a.save()
    client = Client()
    client.force_login(owner)
    response = client.get(usage_url(team_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert "The Akool balance is not available:" in body
    assert "not-a-real-key-0000" not in body
    assert credit_calls() == 1


def test_unreachable_akool_shows_a_message_and_the_page_still_renders(
    team, jobs, owner_client, settings, own_cache
):
    # Port 9 on loopback: nothing listens, so the connection is refused at once.
    settings.AKOOL_SANDBOX_URL = "http://127.0.0.1:9/sandbox/akool"
    team.backend = "sandbox"
    team.set_credentials("sk-usage-test-key-1234")
    team.save()
    response = owner_client.get(usage_url(team))
    assert response.status_code == 200
    body = response.content.decode()
    assert "The Akool balance is not available" in body
    assert "sk-usage-test-key-1234" not in body
    assert page_rows(response)


def test_a_team_without_a_key_says_so(team, owner_client):
    body = owner_client.get(usage_url(team)).content.decode()
    assert "No Akool API key is saved for this team yet." in body


# --- the admin -------------------------------------------------------------------------------


@pytest.fixture
def staff_client(db):
    from generator.models import User

    admin = User.objects.create_superuser("root@example.com", "pw-not-used-1234")
    client = Client()
    client.force_login(admin)
    return client


@at(*SOME)
def test_admin_team_list_shows_this_months_usage_without_a_query_per_team(
    instant, team, jobs, staff_client, owner, team_b, outsider
):
    # Team B counts in its own zone (UTC), whatever team A's: a job one second before UTC's
    # month began is last month's, one at its first second is this month's.
    utc_month_start = datetime.datetime(instant.utc.year, instant.utc.month, 1, tzinfo=datetime.UTC)
    make_charged_job(team_b, outsider, utc_month_start - timedelta(seconds=1), credit=1000)
    make_charged_job(team_b, outsider, utc_month_start, credit=20)
    url = reverse("admin:generator_team_changelist")
    with CaptureQueriesContext(connection) as few:
        response = staff_client.get(url)
    body = response.content.decode()
    want = expected(team, all_jobs(jobs), 0)
    assert f'<td class="field-month_credits">{want["credits"]}</td>' in body
    assert f'<td class="field-month_images">{want["images"]}</td>' in body
    assert '<td class="field-month_credits">120</td>' in body
    for n in range(5):
        other = make_team(f"More {n}", time_zone="Asia/Tokyo")
        make_charged_job(other, owner, timezone.now(), credit=n + 1)
    with CaptureQueriesContext(connection) as more:
        staff_client.get(url)
    assert len(more) == len(few)


@at(*SOME)
def test_admin_team_page_summarises_two_months(instant, team, jobs, staff_client):
    response = staff_client.get(reverse("admin:generator_team_change", args=[team.pk]))
    body = response.content.decode()
    year, month = instant.month
    before = (year - 1, 12) if month == 1 else (year, month - 1)
    for months_back, (y, m) in enumerate([(year, month), before]):
        want = expected(team, all_jobs(jobs), months_back)
        label = f"{calendar.month_name[m]} {y}"
        assert f"{label}: {want['credits']} credits charged, {want['images']} images" in body
