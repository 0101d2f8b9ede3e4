"""The trash in a real Chromium under the strict CSP: a deleted image is listed there with its
thumbnail, and restoring it (ticked, then "Restore selected") brings its card back."""

import pytest

from generator.models import Job
from tests import test_browser_studio as studio_tests
from tests.test_browser_studio import assert_clean, expect, studio

open_as = studio_tests.open_as
gallery = studio_tests.gallery
media = studio_tests.media

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_deleted_image_is_restored_from_the_trash(open_as, sandbox_team, member, gallery):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    own = gallery[-2]  # made by the member (the newest is the owner's)
    card = page.locator(f"#job-{own.code}")
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)

    page.get_by_role("link", name="Trash").click()
    row = page.locator(f"#trash-{own.code}")
    expect(row).to_be_visible()
    thumb = row.locator("img")
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") > 0
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Restore selected").click()
    expect(page.get_by_text("Restored 1 image to the gallery.")).to_be_visible()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    assert Job.objects.kept().filter(pk=own.pk).exists()

    page.goto(studio(sandbox_team))
    expect(page.locator(f"#job-{own.code}")).to_be_visible()
    assert_clean(page)


def test_a_phone_sized_trash_page_still_offers_restore(open_as, sandbox_team, member, gallery):
    own = gallery[-2]
    Job.objects.filter(pk=own.pk).update(trashed_at=own.created_at, trashed_by=member)
    page = open_as(member, viewport={"width": 390, "height": 844})
    page.goto(studio(sandbox_team) + "trash/")
    row = page.locator(f"#trash-{own.code}")
    row.get_by_role("button", name="Restore").click()
    expect(page.get_by_text("Restored 1 image to the gallery.")).to_be_visible()
    assert Job.objects.kept().filter(pk=own.pk).exists()
    assert_clean(page)
