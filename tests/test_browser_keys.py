"""The keyboard map and the prompt history in a real Chromium, under the strict CSP."""

import pytest

from generator.models import Job, PromptHistory
from tests import test_browser_studio as studio_tests
from tests.test_browser_studio import PROMPTS, assert_clean, expect, studio

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The studio's fixtures, shared rather than copied.
open_as = studio_tests.open_as
gallery = studio_tests.gallery
media = studio_tests.media

NEWEST_FIRST = list(reversed(PROMPTS))


def focused_card(page):
    return page.locator("#gallery-grid .job-card:focus")


def card(page, job):
    return page.locator(f"#job-{job.code}")


@pytest.fixture
def desk(open_as, sandbox_team, member, gallery):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(8)
    return page


def test_question_mark_opens_the_map_and_escape_closes_it(desk):
    help_dialog = desk.locator("#keyboard-help")
    expect(help_dialog).to_be_hidden()
    desk.keyboard.press("?")
    expect(help_dialog).to_be_visible()
    expect(help_dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    expect(help_dialog).to_contain_text("Upscale that quarter")
    # Keys do nothing behind the open dialog.
    desk.keyboard.press("j")
    expect(focused_card(desk)).to_have_count(0)
    desk.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    desk.get_by_role("button", name="Keyboard shortcuts").click()
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()
    assert_clean(desk)


def test_j_k_and_the_arrows_move_the_focus_between_cards(desk, gallery):
    first, second = gallery[-1], gallery[-2]
    desk.keyboard.press("j")
    expect(card(desk, first)).to_be_focused()
    desk.keyboard.press("j")
    expect(card(desk, second)).to_be_focused()
    desk.keyboard.press("k")
    expect(card(desk, first)).to_be_focused()
    desk.keyboard.press("ArrowRight")
    expect(card(desk, second)).to_be_focused()
    desk.keyboard.press("ArrowLeft")
    expect(card(desk, first)).to_be_focused()

    # Down goes to the next row, near the same column; up comes back.
    top = card(desk, first).bounding_box()
    desk.keyboard.press("ArrowDown")
    below = focused_card(desk)
    expect(below).to_have_count(1)
    box = below.bounding_box()
    assert box["y"] >= top["y"] + top["height"] - 1
    assert abs(box["x"] - top["x"]) < top["width"]
    # Rows are justified (cards as wide as their images), so up lands on the card of the row
    # above nearest the middle, not necessarily the one it came from.
    desk.keyboard.press("ArrowUp")
    above = focused_card(desk)
    expect(above).to_have_count(1)
    assert above.bounding_box()["y"] + above.bounding_box()["height"] <= box["y"] + 1

    desk.keyboard.press("Escape")
    expect(focused_card(desk)).to_have_count(0)
    assert_clean(desk)


def test_enter_opens_the_focused_card_in_the_lightbox(desk):
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    desk.keyboard.press("Enter")
    dialog = desk.locator("#lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#detail-title")).to_have_text(NEWEST_FIRST[1])
    # ←/→ still browse inside it (studio.js), and Esc closes it.
    desk.keyboard.press("ArrowRight")
    expect(dialog.locator("#detail-title")).to_have_text(NEWEST_FIRST[2])
    desk.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert_clean(desk)


def test_f_stars_the_focused_card_and_the_open_image(desk, gallery):
    desk.keyboard.press("j")
    star = card(desk, gallery[-1]).get_by_role("button", name="Favourite")
    expect(star).to_have_attribute("aria-pressed", "false")
    desk.keyboard.press("f")
    expect(star).to_have_attribute("aria-pressed", "true")

    desk.keyboard.press("j")
    desk.keyboard.press("Enter")
    dialog = desk.locator("#lightbox")
    expect(dialog.locator("#detail-title")).to_have_text(NEWEST_FIRST[1])
    desk.keyboard.press("f")
    expect(dialog.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")
    assert Job.objects.filter(favourites__isnull=False).count() == 2
    assert_clean(desk)


def test_keys_do_nothing_while_typing(desk, gallery):
    prompt = desk.get_by_label("Prompt", exact=True)
    prompt.click()
    desk.keyboard.type("fjd/g")
    expect(prompt).to_have_value("fjd/g")
    expect(focused_card(desk)).to_have_count(0)
    expect(desk.locator(".star.is-on")).to_have_count(0)
    assert_clean(desk)


def test_slash_focuses_the_search_and_g_g_goes_to_the_top(open_as, sandbox_team, member, gallery):
    page = open_as(member, viewport={"width": 800, "height": 500})
    page.goto(studio(sandbox_team))
    page.keyboard.press("/")
    search = page.get_by_label("Search prompts")
    expect(search).to_be_focused()
    expect(search).to_have_value("")
    search.press("Escape")
    search.blur()

    card(page, gallery[0]).scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 200
    page.keyboard.press("g")
    page.keyboard.press("g")
    assert page.evaluate("window.scrollY") == 0
    assert_clean(page)


def test_d_downloads_the_focused_image(desk, gallery):
    desk.keyboard.press("j")
    with desk.expect_download() as download:
        desk.keyboard.press("d")
    assert download.value.suggested_filename.endswith(".png")
    assert_clean(desk)


def test_delete_asks_first_then_deletes_the_focused_card(desk, gallery):
    own = gallery[-2]  # the member's newest
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    expect(card(desk, own)).to_be_focused()
    desk.once("dialog", lambda dialog: dialog.dismiss())
    desk.keyboard.press("Delete")
    expect(card(desk, own)).to_be_visible()
    asked = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    desk.once("dialog", accept)
    desk.keyboard.press("Delete")
    expect(card(desk, own)).to_have_count(0)
    assert "Move this image to the team's trash" in asked[0]
    assert not Job.objects.kept().filter(pk=own.pk).exists()
    assert_clean(desk)


def test_u_then_1_upscales_the_open_image(desk, gallery):
    desk.keyboard.press("j")
    desk.keyboard.press("Enter")
    dialog = desk.locator("#lightbox")
    expect(dialog.locator("#detail-title")).to_have_text(NEWEST_FIRST[0])
    with desk.expect_response(lambda r: r.url.endswith("/button/")) as posted:
        desk.keyboard.press("u")
        desk.keyboard.press("1")
    assert posted.value.request.method == "POST"
    expect(dialog.get_by_text("Upscale 1 started")).to_be_visible()
    expect(dialog.locator("button[value='U1']")).to_be_disabled()
    child = Job.objects.get(parent=gallery[-1])
    assert child.button == "U1"
    expect(card(desk, child)).to_be_attached()
    # v then a key that is not 1-4 presses nothing.
    desk.keyboard.press("v")
    desk.keyboard.press("x")
    assert Job.objects.filter(parent=gallery[-1]).count() == 1
    assert_clean(desk)


def test_v_then_2_varies_the_open_image(desk, gallery):
    desk.keyboard.press("j")
    desk.keyboard.press("Enter")
    dialog = desk.locator("#lightbox")
    expect(dialog.locator("#detail-title")).to_have_text(NEWEST_FIRST[0])
    with desk.expect_response(lambda r: r.url.endswith("/button/")):
        desk.keyboard.press("v")
        desk.keyboard.press("2")
    expect(dialog.get_by_text("Variation 2 started")).to_be_visible()
    expect(dialog.locator("button[value='V2']")).to_be_disabled()
    child = Job.objects.get(parent=gallery[-1])
    assert child.button == "V2"
    expect(card(desk, child)).to_be_attached()
    assert_clean(desk)


def test_r_puts_the_images_prompt_and_settings_in_the_form(desk, gallery):
    prompt = desk.get_by_label("Prompt", exact=True)
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    desk.keyboard.press("j")
    desk.keyboard.press("r")
    expect(prompt).to_have_value(NEWEST_FIRST[2])
    expect(prompt).to_be_focused()
    expect(desk.get_by_label("Aspect ratio")).to_have_value(gallery[-3].generation.scale)
    expect(desk.get_by_text("The form holds the settings of that image")).to_be_visible()

    # From the open lightbox: it closes, and the form holds that image's settings.
    desk.locator(f"#job-{gallery[-1].code} a.tile").click()
    dialog = desk.locator("#lightbox")
    expect(dialog).to_be_visible()
    desk.keyboard.press("r")
    expect(dialog).to_be_hidden()
    expect(prompt).to_have_value(NEWEST_FIRST[0])
    assert_clean(desk)


def test_r_on_the_image_page_opens_the_studio_with_its_settings(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(f"/t/{sandbox_team.code}/images/{gallery[0].code}/")
    page.keyboard.press("r")
    page.wait_for_url("**/?rerun=*")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(PROMPTS[0])
    assert_clean(page)


def test_a_past_prompt_is_reused_in_one_click(open_as, sandbox_team, member):
    from django.utils import timezone

    for i, (prompt, scale, batch) in enumerate(
        [("a quiet harbour at dawn", "16:9", 3), ("a red kite over hills", "1:1", 1)]
    ):
        PromptHistory.objects.create(
            user=member,
            team=sandbox_team,
            prompt=prompt,
            negative_prompt="boats" if i == 0 else "",
            scale=scale,
            resolution="1080p",
            batch=batch,
            params_hash=str(i),
            uses=2,
            last_used_at=timezone.now(),
        )
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    history = page.locator("#prompt-history")
    history.locator("summary").click()
    entries = history.locator(".history-entry")
    expect(entries).to_have_count(2)
    search = history.get_by_label("Search your recent prompts")
    search.fill("HARBOUR")
    expect(entries).to_have_count(1)
    search.press("Enter")  # searches; never submits the generation form around it
    entries.first.click()

    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a quiet harbour at dawn")
    expect(page.get_by_label("Aspect ratio")).to_have_value("16:9")
    expect(page.get_by_label("Images")).to_have_value("3")
    expect(page.get_by_role("radio", name="1080p")).to_be_checked()
    expect(page.get_by_label("Leave out")).to_have_value("boats")
    expect(page.get_by_text("The form holds that prompt and its settings")).to_be_visible()
    assert Job.objects.count() == 0
    assert_clean(page)
