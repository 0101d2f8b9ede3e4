"""The usage page in a real Chromium under the strict CSP: reached from the studio's
navigation, it draws the SVG chart with one bar per day, the tallest on the busiest day, and
shows the live sandbox balance."""

from datetime import timedelta

import pytest

from generator.models import Mode
from generator.sandbox.models import SandboxAccount
from tests import test_browser_studio as studio_tests
from tests.factories import make_charged_job, on_sandbox
from tests.test_browser_studio import SHOTS, assert_clean, axe_problems, expect

# The studio's signed-in, CSP-enforcing page fixture, shared rather than copied.
open_as = studio_tests.open_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sandbox_team(team_a, sandbox_url):
    on_sandbox(team_a)
    SandboxAccount.objects.filter(client_id=team_a.client_id).update(credit=4321)
    return team_a


def test_the_usage_page_shows_the_chart_with_bars(open_as, sandbox_team, owner, member):
    start, end = sandbox_team.month_window()
    day = timedelta(days=1)
    make_charged_job(sandbox_team, owner, start + 2 * day + timedelta(hours=9), 3)
    make_charged_job(
        sandbox_team, member, start + 2 * day + timedelta(hours=15), 5, mode=Mode.IMAGE
    )
    make_charged_job(sandbox_team, member, start + 6 * day + timedelta(hours=9), 2)
    busiest = (start + 2 * day).date().isoformat()

    page = open_as(owner, viewport={"width": 1280, "height": 900})
    page.goto(f"/t/{sandbox_team.code}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage").click()
    page.wait_for_url(f"**/t/{sandbox_team.code}/usage/")

    chart = page.get_by_role("img", name=f"Credits charged per day, {start:%B %Y}")
    expect(chart).to_be_visible()
    bars = chart.locator("rect.usage-bar")
    expect(bars).to_have_count((end - start).days)
    heights = {bar.get_attribute("data-day"): bar.bounding_box()["height"] for bar in bars.all()}
    drawn = {d for d, h in heights.items() if h > 0}
    assert drawn == {busiest, (start + 6 * day).date().isoformat()}
    assert max(heights, key=heights.get) == busiest
    # The bars are coloured by the stylesheet (inline styles are refused by the CSP).
    fill = page.locator(f'rect[data-day="{busiest}"]').evaluate("el => getComputedStyle(el).fill")
    assert fill not in ("", "none", "rgb(0, 0, 0)")

    # The table is the chart's accessible fallback, and the sandbox balance is shown.
    day_table = page.locator('table[data-section="By day"]')
    expect(day_table.get_by_role("row", name=busiest)).to_contain_text("8")
    expect(page.locator(".usage-balance")).to_have_text("4,321")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "usage-desktop.png", full_page=True)
    assert axe_problems(page) == []
    assert_clean(page)


def test_on_a_phone_the_tables_show_every_column_and_the_chart_reads(
    open_as, sandbox_team, owner, member
):
    start, _ = sandbox_team.month_window()
    make_charged_job(sandbox_team, owner, start + timedelta(days=2, hours=9), 3)
    make_charged_job(sandbox_team, member, start + timedelta(days=6, hours=9), 2, mode=Mode.IMAGE)
    page = open_as(owner, viewport={"width": 390, "height": 844})
    page.goto(f"/t/{sandbox_team.code}/usage/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / "usage-phone.png", full_page=True)
    tables = page.locator("table.usage-table")
    expect(tables.first).to_be_visible()
    assert tables.count() >= 3
    for table in tables.all():
        # The last column is on screen without scrolling the table or the page.
        wrap = table.locator("xpath=..")
        scroll, client = wrap.evaluate("el => [el.scrollWidth, el.clientWidth]")
        assert scroll <= client, table.get_attribute("data-section")
        last = table.locator("thead th").last.bounding_box()
        assert last["x"] + last["width"] <= 390, table.get_attribute("data-section")
    # The chart's labels are drawn at a size a person can read, not scaled down with it.
    heights = page.locator("svg.usage-chart text").evaluate_all(
        "els => els.map(el => el.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 10, heights
    assert_clean(page)
