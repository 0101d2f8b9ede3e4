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
