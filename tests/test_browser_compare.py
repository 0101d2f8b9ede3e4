"""Compare in a real Chromium under the strict CSP: chosen from the bulk bar, driven with the
keyboard, stacked on a phone."""

import re

import pytest

from tests import test_browser_studio as studio_tests
from tests.test_browser_studio import assert_clean, expect, studio

open_as = studio_tests.open_as
gallery = studio_tests.gallery
media = studio_tests.media

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def box(page, job):
    return page.locator(f"#job-{job.code} .select-box")


def test_two_images_compare_with_a_slider_moved_by_the_keyboard(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    newest_first = list(reversed(gallery))
    compare = page.get_by_role("button", name="Compare")
    box(page, newest_first[0]).click()
    expect(compare).to_have_attribute("aria-disabled", "true")
    # Still focusable (Playwright's click waits for "enabled"): Enter says why it cannot go.
    compare.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#bulk-status")).to_have_text("Compare takes 2 to 4 images; 1 is selected.")
    assert page.url.endswith(studio(sandbox_team))

    box(page, newest_first[2]).click()
    expect(compare).to_have_attribute("aria-disabled", "false")
    compare.click()
    expect(page).to_have_url(re.compile(r"/compare/\?codes="))
    items = page.locator("[data-compare-item]")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text(newest_first[0].generation.prompt)
    expect(items.nth(1)).to_contain_text(newest_first[2].generation.prompt)

    slider = page.get_by_label("Slider: A on the left, B on the right")
    top = page.locator("[data-ab-top]")
    expect(slider).to_have_value("50")
    expect(top).to_have_attribute("style", re.compile(r"inset\(0(px)? 50% 0(px)? 0(px)?\)"))
    # From anywhere on the page, → moves the slider (and gives it focus)...
    page.keyboard.press("ArrowRight")
    expect(slider).to_be_focused()
    expect(slider).to_have_value("55")
    expect(top).to_have_attribute("style", re.compile(r"inset\(0(px)? 45% "))
    # ...and with focus on it, the range input's own keys move it.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("53")
    expect(slider).to_have_attribute("aria-valuetext", "53% A, 47% B")
    expect(top).to_have_attribute("style", re.compile(r"inset\(0(px)? 47% "))

    # Tab reaches the pictures; → and ← move between them.
    page.keyboard.press("Tab")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(items.nth(1)).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(items.nth(0)).to_be_focused()
    assert_clean(page)

    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(re.escape(studio(sandbox_team)) + "$"))
    expect(page.locator("#gallery-grid .job-card")).to_have_count(len(gallery))


def test_three_images_stack_on_a_phone_and_back_returns_to_the_gallery(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 390, "height": 844}, has_touch=True)
    page.goto(studio(sandbox_team) + "?who=mine")
    chosen = [job for job in reversed(gallery) if job.author == member]
    for job in chosen[:3]:
        box(page, job).check()
    page.get_by_role("button", name="Compare").click()
    items = page.locator("[data-compare-item]")
    expect(items).to_have_count(3)
    expect(page.locator("[data-ab-range]")).to_have_count(0)
    boxes = [items.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] + boxes[0]["height"] <= boxes[1]["y"]
    assert boxes[1]["y"] + boxes[1]["height"] <= boxes[2]["y"]
    assert all(b["x"] == boxes[0]["x"] and b["width"] <= 390 for b in boxes)

    # Without a slider, → and ← move focus between the pictures.
    page.keyboard.press("ArrowRight")
    expect(items.nth(0)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(items.nth(1)).to_be_focused()
    assert_clean(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?who=mine$"))
    expect(page.locator("#gallery-grid")).to_be_visible()
