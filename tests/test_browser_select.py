"""Selection and bulk actions, and boards, in a real Chromium under the strict CSP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from generator.models import Board, Job, Tag
from tests import test_browser_studio as studio_tests
from tests.factories import make_image
from tests.test_browser_studio import assert_clean, expect, studio

open_as = studio_tests.open_as
gallery = studio_tests.gallery
media = studio_tests.media

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def quick_check(settings):
    settings.GALLERY_SLOW_POLL_SECONDS = 1
    return settings


def cards(page):
    return page.locator("#gallery-grid .job-card")


def box(page, job):
    return page.locator(f"#job-{job.code} .select-box")


def test_shift_click_selects_a_range_x_toggles_and_esc_clears(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    bar = page.locator("#bulk-form")
    expect(bar).to_be_hidden()
    in_order = list(reversed(gallery))  # newest first, as the page shows them
    box(page, in_order[1]).click()
    expect(bar).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("1 image selected")
    box(page, in_order[4]).click(modifiers=["Shift"])
    expect(page.locator("#gallery-grid .select-box:checked")).to_have_count(4)
    for job in in_order[1:5]:
        expect(box(page, job)).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("4 images selected")

    # Esc clears; x ticks the focused card.
    page.keyboard.press("Escape")
    expect(page.locator("#gallery-grid .select-box:checked")).to_have_count(0)
    expect(bar).to_be_hidden()
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(box(page, in_order[0])).to_be_checked()
    expect(page.locator("#bulk-count")).to_have_text("1 image selected")
    page.keyboard.press("x")
    expect(bar).to_be_hidden()
    assert_clean(page)


def test_bulk_tag_and_select_all_matching_reach_images_not_loaded(
    open_as, sandbox_team, member, gallery
):
    start = timezone.now() - timedelta(days=1)
    harbour = [
        # With files: a thumbnail that fails to load would be a console error.
        make_image(
            sandbox_team,
            member,
            f"harbour {i}",
            created_at=start + timedelta(seconds=i),
            files=True,
        )
        for i in range(30)
    ]
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    in_order = list(reversed(gallery))

    # Two ticked cards, tagged with one confirmation.
    box(page, in_order[0]).click()
    box(page, in_order[1]).click()
    page.locator("#bulk-tag").fill("Coast")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.locator("#bulk-form").get_by_role("button", name="Tag", exact=True).click()
    expect(page.locator("#bulk-status")).to_have_text("Tagged 2 images “Coast”.")
    assert dialogs == ["Tag 2 images?"]
    tag = Tag.objects.get(team=sandbox_team)
    assert set(tag.jobs.all()) == {in_order[0], in_order[1]}
    # The selection is spent.
    expect(page.locator("#gallery-grid .select-box:checked")).to_have_count(0)

    # Every harbour image, loaded or not: the server counts them.
    # (Typed into the search box, the filter also applies when the box loses focus.)
    page.goto(studio(sandbox_team) + "?q=harbour")
    expect(cards(page)).to_have_count(24)
    box(page, harbour[-1]).click()
    page.get_by_role("button", name="Select all matching this filter").click()
    expect(page.locator("#bulk-all")).to_contain_text("All 30 images that match this filter")
    expect(page.locator("#gallery-grid .select-box:checked")).to_have_count(24)
    page.locator("#bulk-tag").fill("harbour set")
    page.locator("#bulk-form").get_by_role("button", name="Tag", exact=True).click()
    expect(page.locator("#bulk-status")).to_have_text("Tagged 30 images “harbour set”.")
    assert dialogs[-1] == "Tag all 30 images?"
    harbour_set = Tag.objects.get(name="harbour set")
    assert set(harbour_set.jobs.all()) == set(harbour)
    # The selection is spent; the bar stays to say so until Esc, its button back.
    expect(page.locator("#bulk-all button")).to_have_text("Select all matching this filter")
    expect(page.locator("#gallery-grid .select-box:checked")).to_have_count(0)
    expect(page.locator("#bulk-status")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#bulk-form")).to_be_hidden()
    assert_clean(page)


def test_a_members_bulk_delete_skips_a_teammates_image(
    open_as, sandbox_team, member, owner, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    theirs, own = gallery[-1], gallery[-2]  # the newest is the owner's
    assert (theirs.author, own.author) == (owner, member)
    box(page, theirs).click()
    box(page, own).click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#bulk-form").get_by_role("button", name="Delete").click()
    expect(page.locator(f"#job-{own.code}")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#bulk-form").get_by_role("button", name="Delete").click()
    expect(page.locator("#bulk-status")).to_contain_text(
        "Moved 1 image to the trash. Skipped 1 image: only an image's author or a team admin "
        "can delete it."
    )
    expect(page.locator(f"#job-{own.code}")).to_have_count(0)
    expect(page.locator(f"#job-{theirs.code}")).to_be_visible()
    assert not Job.objects.kept().filter(pk=own.pk).exists()
    assert Job.objects.filter(pk=theirs.pk).exists()
    assert_clean(page)


def test_a_viewer_selects_and_stars_but_sees_no_changing_actions(
    open_as, sandbox_team, viewer, gallery
):
    page = open_as(viewer, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    job = gallery[-1]
    box(page, job).click()
    bar = page.locator("#bulk-form")
    expect(bar.get_by_role("button", name="Delete")).to_have_count(0)
    expect(bar.get_by_role("button", name="Tag", exact=True)).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    bar.get_by_role("button", name="Favourite", exact=True).click()
    star = page.locator(f"#job-{job.code}").get_by_role("button", name="Favourite")
    expect(star).to_have_attribute("aria-pressed", "true")
    assert_clean(page)


def test_board_crud_and_the_board_page_shows_a_teammates_new_image_live(
    open_as, quick_check, sandbox_team, owner, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(f"/t/{sandbox_team.code}/boards/")
    page.get_by_label("Name").fill("Spring")
    page.get_by_label("Description").fill("April picks")
    page.get_by_role("button", name="Create board").click()
    expect(page.locator("#board-title")).to_have_text("Spring")
    board = Board.objects.get()
    expect(cards(page)).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    # A teammate generates into the board from their own studio.
    theirs = open_as(owner, viewport={"width": 1280, "height": 900})
    theirs.goto(studio(sandbox_team))
    theirs.get_by_label("Prompt", exact=True).fill("A kite for the spring board")
    theirs.locator("label", has_text="1080p").click()
    theirs.get_by_label("Into board").select_option(label="Spring")
    theirs.get_by_role("button", name="Generate").click()
    expect(theirs.locator(".form-notice")).to_be_visible()
    expect(cards(page)).to_have_count(1)
    expect(page.locator("section.batch")).to_contain_text("A kite for the spring board")
    assert page.evaluate("window.__sameDocument") is True
    assert board.jobs.count() == 1

    # Rename, describe, then delete it: the images stay.
    page.get_by_text("Edit board").click()
    page.locator("#board-name").fill("Spring 2027")
    page.locator("#board-description").fill("Final picks")
    page.get_by_role("button", name="Save board").click()
    expect(page.locator("#board-title")).to_have_text("Spring 2027")
    expect(page.locator(".board-description")).to_have_text("Final picks")
    page.get_by_text("Edit board").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete board").click()
    expect(page.get_by_role("heading", name="Boards", exact=True)).to_be_visible()
    assert not Board.objects.exists()
    assert Job.objects.count() == 9
    assert_clean(page)
    assert_clean(theirs)


def test_the_lightbox_puts_an_image_on_a_board_and_keeps_focus(
    open_as, sandbox_team, member, gallery
):
    autumn = Board.objects.create(team=sandbox_team, name="Autumn", created_by=member)
    Board.objects.create(team=sandbox_team, name="Client", created_by=member)
    newest = gallery[-1]
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    page.locator(f"#job-{newest.code} a.tile").click()
    boxes = page.locator("#lightbox #image-boards")
    expect(boxes).to_be_visible()
    autumn_box = boxes.get_by_label("Autumn")
    autumn_box.focus()
    page.keyboard.press("Space")
    expect(boxes.get_by_role("status")).to_have_text("Put on “Autumn”.")
    expect(boxes.get_by_label("Autumn")).to_be_checked()
    expect(boxes.get_by_label("Autumn")).to_be_focused()
    assert list(autumn.jobs.all()) == [newest]
    page.keyboard.press("Space")
    expect(boxes.get_by_role("status")).to_have_text("Taken off “Autumn”.")
    assert not autumn.jobs.exists()
    assert_clean(page)
