"""In a real browser: sign in through the login page, reach the team, and its settings."""

import re

import pytest

from tests.browser import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_owner_signs_in_and_reaches_the_team_and_its_settings(browser_page, live_server, owner):
    page = login(browser_page, live_server, owner.email, PASSWORD)
    expect()(page.get_by_role("heading", name="Studio")).to_be_visible()
    expect()(page.locator("#team-switcher")).to_have_value(str(owner.current_team.code))

    main_nav(page).get_by_role("link", name="Team settings").click()
    expect()(page.get_by_role("heading", name="Team settings")).to_be_visible()
    # The member cell (name, "you", email); the cap cell's label also names the email.
    expect()(
        page.get_by_role("cell", name=re.compile(r"^Olivia Owner.*owner@a\.example"))
    ).to_be_visible()
    expect()(page.get_by_role("heading", name="Delete this team")).to_be_visible()
    assert page.js_errors == []


def test_a_wrong_password_stays_on_the_login_page_with_a_message(browser_page, live_server, owner):
    page = browser_page
    page.goto("/login/")
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect()(page.get_by_text("do not match an account")).to_be_visible()


def test_a_member_sees_the_studio_without_a_settings_link(browser_page, live_server, member):
    page = login(browser_page, live_server, member.email, PASSWORD)
    expect()(page.get_by_role("heading", name="Studio")).to_be_visible()
    expect()(main_nav(page).get_by_role("link", name="Team settings")).to_have_count(0)
    expect()(main_nav(page).get_by_role("link", name="Teams")).to_be_visible()


def test_the_connection_test_answers_in_place(browser_page, live_server, owner, team_a):
    page = login(browser_page, live_server, owner.email, PASSWORD)
    team_a.set_credentials("k" * 32)
    team_a.backend = "akool"
    team_a.save()
    page.goto(f"/t/{team_a.code}/settings/")
    page.get_by_role("button", name="Test connection").click()
    # The test run blocks the internet, so this is the "cannot reach Akool" sentence, shown
    # in the result box by htmx without leaving the page.
    expect()(page.locator("#connection-result .alert-error")).to_be_visible()
    assert page.url.endswith(f"/t/{team_a.code}/settings/")
    assert "k" * 32 not in page.content()
    assert page.js_errors == []


def test_the_key_fields_show_only_while_akool_is_chosen(
    browser_page, live_server, owner, team_a, settings
):
    settings.AKOOL_SANDBOX = True  # both choices on offer
    page = login(browser_page, live_server, owner.email, PASSWORD)
    page.goto(f"/t/{team_a.code}/settings/")
    key = page.get_by_label("API key", exact=True)
    page.get_by_role("radio", name=re.compile(r"^Sandbox")).check()
    expect()(key).to_be_hidden()
    page.get_by_role("radio", name=re.compile(r"^Akool")).check()
    expect()(key).to_be_visible()
    page.get_by_role("radio", name=re.compile(r"^Sandbox")).check()
    expect()(key).to_be_hidden()
    assert page.js_errors == []
