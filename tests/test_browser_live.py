"""The live, addressable, resilient studio in a real Chromium: two people of one team at once,
the lightbox's URL, Back/Forward through filter changes, an expired session, a failed request.
Every page runs under the strict CSP of test_browser_studio, and a JavaScript error or CSP
violation fails the test."""

import re
import time

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from generator.middleware import HTMX_NOT_FOUND_MESSAGE
from generator.models import Favourite, Generation, Job, State
from tests import test_browser_studio as studio_tests
from tests.factories import PASSWORD, make_generation, make_job
from tests.test_browser_studio import PROMPTS, assert_clean, expect, studio

# The studio's fixtures (signed-in CSP-enforcing pages, the sandbox team's images, the
# worker), shared rather than copied.
open_as = studio_tests.open_as
gallery = studio_tests.gallery
media = studio_tests.media
worker = studio_tests.worker

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLL_SECONDS = 2
LOGIN_WITH_NEXT = re.compile(r"/login/\?next=")


@pytest.fixture
def quick_check(settings):
    """The slow check every second, so a teammate's change shows without a long wait."""
    settings.GALLERY_SLOW_POLL_SECONDS = 1
    return settings


def console_errors(page):
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    return errors


def is_poll(response_or_request):
    return "/poll/" in response_or_request.url


# --- live for the whole team -----------------------------------------------------------------


@pytest.mark.worker
def test_two_teammates_see_each_others_new_and_deleted_images_without_reload(
    open_as, worker, quick_check, sandbox_team, owner, member, gallery
):
    worker()
    mine = open_as(member, viewport={"width": 1280, "height": 900})
    theirs = open_as(owner, viewport={"width": 1280, "height": 900})
    for page in (mine, theirs):
        page.goto(studio(sandbox_team))
        expect(page.locator("#gallery-grid .job-card")).to_have_count(8)
        page.evaluate("window.__sameDocument = true")

    mine.get_by_label("Prompt", exact=True).fill("A harbour both of us can see")
    mine.locator("label", has_text="1080p").click()
    mine.get_by_role("button", name="Generate").click()
    expect(mine.locator("#gallery-grid .job-card")).to_have_count(9)

    # The teammate's gallery takes it in, pending first, then finished; once.
    arrived = theirs.locator("section.batch", has_text="A harbour both of us can see").locator(
        ".job-card"
    )
    expect(arrived).to_have_count(1)
    expect(arrived.locator("img.thumb")).to_be_visible(timeout=30_000)
    expect(theirs.locator("#gallery-grid .job-card")).to_have_count(9)
    mine_batch = mine.locator("section.batch", has_text="A harbour both of us can see")
    expect(mine_batch.locator(".job-card")).to_have_count(1)

    # The owner deletes one of their images; it leaves the member's gallery too.
    gone = gallery[-1]
    theirs.once("dialog", lambda dialog: dialog.accept())
    theirs.locator(f"#job-{gone.code}").get_by_role("button", name="Delete").click()
    expect(theirs.locator(f"#job-{gone.code}")).to_have_count(0)
    expect(mine.locator(f"#job-{gone.code}")).to_have_count(0)
    expect(mine.locator("#gallery-grid .job-card")).to_have_count(8)

    for page in (mine, theirs):
        assert page.evaluate("window.__sameDocument") is True, "a page reloaded"
        assert_clean(page)


def test_one_poll_request_per_page_per_interval_while_something_is_pending(
    open_as, sandbox_team, owner, member, gallery
):
    make_job(generation=make_generation(sandbox_team, owner, "Slow boat"), state=State.PROCESSING)
    pages = [open_as(user, viewport={"width": 1280, "height": 900}) for user in (owner, member)]
    sent = {id(page): [] for page in pages}
    for page in pages:
        page.on(
            "request",
            lambda request, page=page: (
                sent[id(page)].append(time.monotonic()) if is_poll(request) else None
            ),
        )
        page.goto(studio(sandbox_team))
    for page in pages:
        for _ in range(3):
            with page.expect_response(is_poll, timeout=POLL_SECONDS * 3000):
                pass
    for page in pages:
        times = sent[id(page)]
        assert len(times) >= 3
        gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
        # One request per interval: never two close together (each page has one poller).
        assert min(gaps) > POLL_SECONDS * 0.6, gaps
        assert page.locator("#poller").count() == 1
        assert_clean(page)


# --- the lightbox's URL ----------------------------------------------------------------------


def test_the_lightbox_has_a_url_that_opens_in_a_fresh_context_and_back_closes_it(
    open_as, live_server, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1000, "height": 500})
    page.goto(studio(sandbox_team))
    page.get_by_label("Status").select_option("done")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?status=done")
    gallery_url = page.url
    oldest = gallery[0]
    tile = page.locator(f"#job-{oldest.code} a.tile")
    tile.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0

    tile.click()
    dialog = page.locator("#lightbox")
    expect(dialog.locator("#detail-title")).to_have_text(PROMPTS[0])
    images = f"{live_server.url}/t/{sandbox_team.code}/images"
    expect(page).to_have_url(f"{images}/{oldest.code}/?status=done")
    # Browsing inside replaces the URL: one Back still closes the lightbox.
    page.keyboard.press("ArrowLeft")
    expect(dialog.locator("#detail-title")).to_have_text(PROMPTS[1])
    newer_url = f"{images}/{gallery[1].code}/?status=done"
    expect(page).to_have_url(newer_url)

    page.go_back()
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(gallery_url)
    assert page.evaluate("window.scrollY") == scrolled
    expect(page.get_by_label("Status")).to_have_value("done")
    expect(page.locator("#gallery-grid .job-card")).to_have_count(8)

    # Forward shows the image again, in the lightbox.
    page.go_forward()
    expect(dialog.locator("#detail-title")).to_have_text(PROMPTS[1])
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page).to_have_url(gallery_url)
    assert_clean(page)

    fresh = open_as(member, viewport={"width": 1000, "height": 700})
    fresh.goto(newer_url)
    expect(fresh.locator("h1#detail-title")).to_have_text(PROMPTS[1])
    expect(fresh.locator("img.preview")).to_be_visible()
    assert_clean(fresh)


# --- Back/Forward through filter changes -----------------------------------------------------


def test_back_and_forward_through_two_filter_changes_restore_controls_and_gallery(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    errors = console_errors(page)
    page.goto(studio(sandbox_team))
    base = page.url
    cards = page.locator("#gallery-grid .job-card")
    who, status = page.get_by_label("Made by"), page.get_by_label("Status")
    expect(cards).to_have_count(8)

    who.select_option("mine")
    expect(cards).to_have_count(4)
    page.get_by_label("Search prompts").fill("lighthouse")
    expect(cards).to_have_count(1)
    expect(page).to_have_url(f"{base}?q=lighthouse&who=mine")

    def shows(url, count, q, made_by):
        expect(page).to_have_url(url)
        expect(cards).to_have_count(count)
        expect(page.get_by_label("Search prompts")).to_have_value(q)
        expect(who).to_have_value(made_by)
        expect(status).to_have_value("")
        # The placeholders are painted again (through the CSSOM, not inline styles).
        colour = page.locator("#gallery-grid img.thumb").first.evaluate(
            "img => getComputedStyle(img).backgroundColor"
        )
        assert colour not in ("", "rgba(0, 0, 0, 0)")

    page.go_back()
    shows(f"{base}?who=mine", 4, "", "mine")
    page.go_back()
    shows(base, 8, "", "")
    page.go_forward()
    shows(f"{base}?who=mine", 4, "", "mine")
    page.go_forward()
    shows(f"{base}?q=lighthouse&who=mine", 1, "lighthouse", "mine")

    # The restored page still works: a filter change, the lightbox. The card count is 1
    # before and after this change, so the pushed URL is what says the new gallery is in.
    who.select_option("")
    expect(page).to_have_url(f"{base}?q=lighthouse")
    expect(cards).to_have_count(1)
    page.locator("#gallery-grid a.tile").first.click()
    expect(page.locator("#lightbox #detail-title")).to_have_text(PROMPTS[0])
    page.keyboard.press("Escape")
    expect(page.locator("#lightbox")).to_be_hidden()
    assert errors == []
    assert_clean(page)


# --- an expired session ----------------------------------------------------------------------


def sign_in_again(page, user):
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.locator("#generate-form, #gallery").count() == 0  # a full page, not a swap
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_an_expired_session_on_generate_and_on_a_star_leads_to_login_and_back(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(f"{studio(sandbox_team)}?who=mine")
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("A prompt typed while the session ran out")

    # The session cookie is gone (the browser dropped it): Generate leads to the login page.
    page.context.clear_cookies(name="sessionid")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url(LOGIN_WITH_NEXT)
    sign_in_again(page, member)
    page.wait_for_url(f"**/t/{sandbox_team.code}/?who=mine")
    expect(prompt).to_have_value("A prompt typed while the session ran out")
    assert Generation.objects.count() == len(gallery)

    # The session ends on the server (signed out elsewhere): a star leads there too.
    Session.objects.all().delete()
    card = page.locator(f"#job-{gallery[-2].code}")
    card.get_by_role("button", name="Favourite").click()
    page.wait_for_url(LOGIN_WITH_NEXT)
    sign_in_again(page, member)
    page.wait_for_url(f"**/t/{sandbox_team.code}/?who=mine")
    expect(prompt).to_have_value("A prompt typed while the session ran out")
    assert not Favourite.objects.exists()
    # Once a generate succeeds, the kept prompt is forgotten.
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(".form-notice")).to_be_visible()
    page.reload()
    expect(prompt).to_have_value("")
    assert_clean(page)


# --- a failed request --------------------------------------------------------------------------


# In DEBUG too: django-htmx's debug script would put the error answer in place of the page.
@pytest.mark.parametrize("debug", [False, True])
def test_a_failed_request_says_so_in_place_and_the_page_stays(
    open_as, settings, sandbox_team, member, gallery, debug
):
    settings.DEBUG = debug
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    page.evaluate("window.__sameDocument = true")
    page.route(
        "**/star/",
        lambda route: route.fulfill(
            status=503, content_type="text/plain", body="Stars are resting; try again soon."
        ),
    )
    page.locator(f"#job-{gallery[-2].code}").get_by_role("button", name="Favourite").click()
    toast = page.locator("#toasts .toast")
    expect(toast).to_have_text("Stars are resting; try again soon.Dismiss")
    expect(page.locator("#toasts")).to_have_attribute("aria-live", "polite")
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_have_count(0)

    # An HTML error page is never shown: a generic line instead.
    page.route(
        "**/star/",
        lambda route: route.fulfill(
            status=500, content_type="text/html", body="<html><body>Traceback…</body></html>"
        ),
    )
    page.locator(f"#job-{gallery[-2].code}").get_by_role("button", name="Favourite").click()
    expect(toast).to_contain_text("error 500")
    expect(toast).not_to_contain_text("Traceback")
    toast.get_by_role("button", name="Dismiss").click()

    # The server's own answer: an image moved to the trash since the page was drawn.
    Job.objects.filter(pk=gallery[-3].pk).update(trashed_at=timezone.now())
    page.locator(f"#job-{gallery[-3].code} a.tile").click()
    expect(toast).to_have_text(f"{HTMX_NOT_FOUND_MESSAGE}Dismiss")
    expect(page.locator("#lightbox")).to_be_hidden()
    expect(page.locator("#gallery-grid .job-card")).to_have_count(8)
    assert page.evaluate("window.__sameDocument") is True
    assert_clean(page)


def test_the_gallery_catches_up_as_soon_as_the_tab_is_visible_again(
    open_as, settings, sandbox_team, member, gallery
):
    # The idle check set far apart: a poll within a second can only be the catch-up.
    settings.GALLERY_SLOW_POLL_SECONDS = 30
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    expect(page.locator("#poller")).to_have_attribute("data-polling", "false")
    with page.expect_request(is_poll, timeout=1_000):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    assert_clean(page)


def test_arriving_cards_join_their_batch_once_and_empty_batches_go(
    open_as, sandbox_team, member, gallery
):
    # Whatever shape the grid's new-cards take (single cards or batch sections), the page
    # inserts a card once, into its batch's section when that is on the page, and drops a
    # section left without cards. The poller's answers are played here.
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    poller = page.locator("#poller").evaluate("el => el.outerHTML")

    def card(code, state="done"):
        return f'<article id="job-{code}" class="job-card" data-state="{state}">{code}</article>'

    def batch(*cards):
        return (
            '<section class="batch" id="batch-g1" data-generation="g1">'
            f'<div class="batch-cards">{"".join(cards)}</div></section>'
        )

    def marked(n, extra=""):
        return poller.replace('id="poller"', f'id="poller" data-answer="{n}"{extra}', 1)

    answers = [
        marked(1) + f'<div hx-swap-oob="afterbegin:#gallery-grid">{batch(card("a1"))}</div>',
        marked(2)
        + f'<div hx-swap-oob="afterbegin:#gallery-grid">{batch(card("a1"), card("a2"))}</div>',
        marked(3, ' data-gone="a1 a2"'),
    ]

    def answer(route):
        route.fulfill(status=200, content_type="text/html", body=answers.pop(0))

    def poll_now(n):
        with page.expect_response(is_poll):
            page.evaluate("htmx.trigger(document.body, 'poll-now')")
        # The new poller listens once htmx has settled it.
        settled = page.locator(f"#poller[data-answer='{n}']")
        expect(settled).to_have_count(1)
        expect(settled).not_to_have_class(re.compile("htmx-added|htmx-settling"))

    page.route("**/poll/**", answer)
    grid = page.locator("#gallery-grid")
    for n, expected in ((1, ["a1"]), (2, ["a1", "a2"])):
        poll_now(n)
        expect(grid.locator("section#batch-g1")).to_have_count(1)
        expect(grid.locator("section#batch-g1 .job-card")).to_have_count(len(expected))
        for code in expected:
            expect(page.locator(f"#job-{code}")).to_have_count(1)
    batches_before = grid.locator("section.batch").count() - 1
    poll_now(3)
    expect(grid.locator("section#batch-g1")).to_have_count(0)
    expect(grid.locator("section.batch")).to_have_count(batches_before)
    expect(grid.locator(".job-card")).to_have_count(8)
    assert_clean(page)
