"""The studio in a real Chromium against the live server (and, where images are made, a real
worker on the built-in sandbox). Every page here is served under a strict CSP (no inline
scripts or styles), and any violation or JavaScript error fails the test."""

import functools
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from generator.lib.imaging import derive
from generator.models import Generation, Job, State
from generator.sandbox.images import render_png
from tests.browser import console_error
from tests.factories import make_generation, make_job
from tests.fixtures_pipeline import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
POLL_SECONDS = 2
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'self'; object-src 'none'; "
    "frame-ancestors 'none'"
)
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""
# Counts the listeners added to the document, and stands in for the clipboard (which a
# headless browser may refuse) by recording what is copied.
COUNT_LISTENERS_AND_COPIES = """
window.__documentListeners = 0;
window.__copied = [];
(function (add) {
  EventTarget.prototype.addEventListener = function () {
    if (this === document) {
      window.__documentListeners += 1;
    }
    return add.apply(this, arguments);
  };
})(EventTarget.prototype.addEventListener);
Object.defineProperty(navigator, "clipboard", {
  configurable: true,
  value: { writeText: function (text) { window.__copied.push(text); return Promise.resolve(); } },
});
"""
PROMPTS = [
    "A lighthouse on a cliff at dawn, watercolour",
    "Isometric cutaway of a tiny coffee shop, soft light",
    "Product photo of a ceramic mug on linen",
    "A fox curled up in fresh snow, telephoto",
    "Neon city street in the rain at night",
    "Botanical illustration of a fern, ink and wash",
    "An old red tractor in a wheat field",
    "Aerial view of a turquoise river delta",
]


def expect(target, **kwargs):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target, **kwargs)


@pytest.fixture
def worker(start_worker, pipeline_settings, monkeypatch):
    """start_worker, with tasks signed the way the worker checks them.

    The worker is started with Q_CLUSTER_NAME set, which also becomes django-q's signing salt
    (Conf.PREFIX) there; pipeline_settings renames only the queue in this process, so without
    this every task the test queues is refused by the worker as badly signed.
    """
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "PREFIX", Conf.CLUSTER_NAME)
    started = []

    def start(**env):
        started.append(start_worker(**env))
        return started[-1]

    yield start
    # Nothing here needs a graceful stop, and a graceful one waits out the follower's run.
    for process in started:
        process.kill()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _with_csp(route):
    if route.request.resource_type != "document":
        route.continue_()
        return
    response = route.fetch(max_redirects=0)
    headers = {**response.headers, "content-security-policy": CSP}
    route.fulfill(response=response, headers=headers)


@pytest.fixture
def open_as(chromium_browser, live_server):
    """open_as(user, **context options) -> a signed-in page under a strict CSP."""
    contexts = []

    def open_page(user, **options):
        client = Client()
        client.force_login(user)
        context = chromium_browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(15_000)
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        context.add_init_script(RECORD_CSP)
        context.route("**/*", _with_csp)
        contexts.append(context)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda error: page.js_errors.append(str(error)))
        page.on("console", lambda message: console_error(page, message))
        return page

    yield open_page
    for context in contexts:
        context.close()


def expect_loaded(image):
    """Wait until an <img> shows a picture. Not with wait_for_function: it polls by evaluating
    a string in the page, which our CSP refuses whenever the first check is not yet true."""
    expect(image).to_have_js_property("complete", True)
    expect(image).not_to_have_js_property("naturalWidth", 0)


def assert_clean(page):
    """No JavaScript error and no CSP violation on the page so far."""
    assert page.js_errors == []
    assert page.evaluate("window.__csp") == []


def studio(team):
    return f"/t/{team.code}/"


@functools.cache
def _picture_files(size, prompt, seed):
    """A painted picture and what the store derives from it, made once per test process: the
    galleries of many tests show the same pictures."""
    with tempfile.TemporaryDirectory() as scratch:
        target = render_png(Path(scratch) / "picture.png", size[0], size[1], prompt, seed=seed)
        with target.open("rb") as source:
            derived = derive(source)
            source.seek(0)
            return source.read(), derived


def stored_job(team, author, prompt, index=0, created_at=None, size=(960, 720), **fields):
    """A finished job with real files, made the way the worker makes them."""
    generation = make_generation(
        team,
        author,
        prompt,
        created_at=created_at or timezone.now(),
        resolution="1080p",
        scale="4:3" if size[0] > size[1] else "1:1",
    )
    job = make_job(
        generation=generation,
        created_at=generation.created_at,
        state=State.DONE,
        buttons=["U1", "U2", "U3", "U4", "V1", "V2", "V3", "V4"],
        deduction_credit=1,
        **fields,
    )
    original, derived = _picture_files(size, prompt, index + 7)
    job.original.save(f"{job.code}.png", ContentFile(original), save=False)
    job.thumbnail.save(f"{job.code}.webp", ContentFile(derived.thumbnail), save=False)
    if derived.thumbnail_2x:
        job.thumbnail_2x.save(f"{job.code}-2x.webp", ContentFile(derived.thumbnail_2x), save=False)
    job.width, job.height, job.format = derived.width, derived.height, derived.format
    job.thumb_width, job.thumb_height = derived.thumb_width, derived.thumb_height
    job.placeholder_color, job.original_bytes = derived.placeholder_color, len(original)
    job.stored_at = job.completed_at = generation.created_at + timedelta(seconds=9)
    job.save()
    return job


@pytest.fixture
def gallery(sandbox_team, owner, member, media):
    """Eight finished images (alternating authors), newest last in PROMPTS order."""
    start = timezone.now() - timedelta(hours=2)
    return [
        stored_job(
            sandbox_team,
            owner if i % 2 else member,
            prompt,
            index=i,
            created_at=start + timedelta(minutes=i),
            size=(960, 720) if i % 3 else (720, 720),
        )
        for i, prompt in enumerate(PROMPTS)
    ]


# --- generating, live ------------------------------------------------------------------------


@pytest.mark.worker
def test_a_batch_of_four_appears_at_once_and_fills_in_with_one_poll_per_interval(
    open_as, worker, sandbox_team, member, settings
):
    # An idle check far apart from the 2 s interval, so the two cannot be mistaken below.
    settings.GALLERY_SLOW_POLL_SECONDS = 30
    worker()
    page = open_as(member, viewport={"width": 1280, "height": 900})
    polls = []
    page.on(
        "request", lambda r: polls.append((time.monotonic(), r.url)) if "/poll/" in r.url else None
    )
    page.goto(studio(sandbox_team))
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Prompt", exact=True).fill("A harbour at dawn, four ways")
    page.locator("label", has_text="1080p").click()
    page.get_by_label("Images").fill("4")
    expect(page.locator("#estimate")).to_contain_text("4 credits")
    started = time.monotonic()
    page.get_by_role("button", name="Generate").click()

    grid = page.locator("#gallery-grid")
    expect(grid.locator(".tile-pending")).to_have_count(4, timeout=5_000)
    # The prompt stays, to refine and generate again.
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("A harbour at dawn, four ways")
    expect(grid.locator("img.thumb")).to_have_count(4, timeout=45_000)
    elapsed = time.monotonic() - started
    for n in range(4):
        expect_loaded(grid.locator("img.thumb").nth(n))
    assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
    expect(page.locator("#studio-announcer")).to_contain_text("ready")

    # One request per interval for all four cards, never one per card.
    assert 1 <= len(polls) <= elapsed / POLL_SECONDS + 2, (len(polls), elapsed)
    assert polls[0][1].count("pending=") == 4
    # Nothing pending: the poller has slowed down to the idle check.
    slow = re.compile(rf"^every {settings.GALLERY_SLOW_POLL_SECONDS}s\b")
    expect(page.locator("#poller")).to_have_attribute("hx-trigger", slow)
    count = len(polls)
    page.wait_for_timeout(POLL_SECONDS * 1000 + 500)
    assert len(polls) == count
    assert_clean(page)


@pytest.mark.worker
def test_u1_makes_a_linked_child_that_appears_live(open_as, worker, sandbox_team, owner):
    from generator.starters import start_generation

    generation = make_generation(sandbox_team, owner, "A red kite", resolution="1080p", batch=1)
    start_generation(generation)
    worker()
    parent = generation.jobs.get()
    wait_for(
        lambda: Job.objects.get(pk=parent.pk).state == State.DONE,
        timeout=30,
        message="the parent image",
    )

    page = open_as(owner, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    page.locator(f"#job-{parent.code} a.tile").click()
    dialog = page.locator("#lightbox")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="U1", exact=True).click()
    expect(dialog.get_by_text("Upscale 1 started")).to_be_visible()
    expect(dialog.locator("button[value='U1']")).to_be_disabled()
    expect(dialog.locator("span[title='already used']")).to_have_count(1)
    dialog.get_by_role("link", name="Upscale 1").wait_for()

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    child = Job.objects.get(parent=parent)
    card = page.locator(f"#job-{child.code}")
    expect(card).to_be_visible()
    expect(page.locator("#gallery-grid article.job-card").first).to_have_id(f"job-{child.code}")
    expect(card.locator("img.thumb")).to_be_visible(timeout=30_000)
    expect(card.locator(".tile-badge")).to_have_text("U1")

    # "Use as source": image-to-image from the parent, fetched by the sandbox at a signed link.
    page.locator(f"#job-{parent.code} a.tile").click()
    dialog.get_by_role("link", name="Use as source").click()
    page.wait_for_url("**/?source=*")
    expect(page.get_by_label("Source image link")).to_be_visible()
    expect(page.locator(".source-preview img")).to_be_visible()
    expect(page.get_by_label("Aspect ratio")).to_have_value("Original")
    page.get_by_label("Prompt", exact=True).fill("The same kite at night")
    page.get_by_role("button", name="Generate").click()
    restyled = page.locator("#gallery-grid article.job-card").first
    expect(restyled).to_contain_text("The same kite at night")
    expect(restyled.locator("img.thumb")).to_be_visible(timeout=30_000)
    source = Generation.objects.get(prompt="The same kite at night")
    assert source.mode == "i2i" and "/source/" in source.source_url
    assert_clean(page)


# --- browsing --------------------------------------------------------------------------------


def test_filters_and_search_narrow_the_gallery_and_survive_reload(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    cards = page.locator("#gallery-grid article.job-card")
    expect(cards).to_have_count(8)

    page.get_by_label("Made by").select_option("mine")
    expect(cards).to_have_count(4)
    page.get_by_label("Search prompts").fill("LIGHTHOUSE")
    expect(cards).to_have_count(1)
    # The prompt is its batch's header (said once for the cards of one generation).
    expect(page.locator("#gallery-grid section.batch")).to_contain_text("A lighthouse on a cliff")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=LIGHTHOUSE&who=mine")

    page.reload()
    expect(cards).to_have_count(1)
    expect(page.get_by_label("Search prompts")).to_have_value("LIGHTHOUSE")
    expect(page.get_by_label("Made by")).to_have_value("mine")
    page.get_by_label("Search prompts").fill("nothing like this")
    expect(page.get_by_text("No images match these filters.")).to_be_visible()
    assert_clean(page)


def test_the_lightbox_browses_with_the_arrow_keys_and_closes_with_escape(
    open_as, sandbox_team, member, gallery
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    newest_first = list(reversed(PROMPTS))
    page.locator("#gallery-grid a.tile").nth(1).click()
    dialog = page.locator("#lightbox")
    title = dialog.locator("#detail-title")
    expect(dialog).to_be_visible()
    expect(title).to_have_text(newest_first[1])
    expect(dialog.locator("img.preview")).to_be_visible()

    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(newest_first[2])
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(newest_first[3])
    page.keyboard.press("ArrowLeft")
    expect(title).to_have_text(newest_first[2])
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.url.endswith(studio(sandbox_team))

    # Browsing follows the current filter.
    page.get_by_label("Made by").select_option("mine")
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(4)
    page.locator("#gallery-grid a.tile").first.click()
    mine = [p for i, p in enumerate(PROMPTS) if i % 2 == 0][::-1]
    expect(title).to_have_text(mine[0])
    page.keyboard.press("ArrowRight")
    expect(title).to_have_text(mine[1])
    assert_clean(page)


def test_after_many_swaps_one_click_still_does_one_thing(open_as, sandbox_team, member, gallery):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.context.add_init_script(COUNT_LISTENERS_AND_COPIES)
    page.goto(studio(sandbox_team))
    newest_first = list(reversed(PROMPTS))
    cards = page.locator("#gallery-grid article.job-card")
    dialog = page.locator("#lightbox")
    title = dialog.locator("#detail-title")

    def swap_around():
        page.get_by_label("Made by").select_option("mine")
        expect(cards).to_have_count(4)
        page.get_by_label("Made by").select_option(index=0)
        expect(cards).to_have_count(8)
        page.locator("#gallery-grid a.tile").first.click()
        expect(title).to_have_text(newest_first[0])
        page.keyboard.press("ArrowRight")
        expect(title).to_have_text(newest_first[1])
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()

    # The first round may add what a page adds once; later rounds must add nothing.
    swap_around()
    listeners = page.evaluate("window.__documentListeners")
    for _ in range(3):
        swap_around()
    assert page.evaluate("window.__documentListeners") == listeners

    page.locator("#gallery-grid a.tile").first.click()
    copy = dialog.locator("[data-copy-text]")
    copy.click()
    expect(copy).to_have_text("Copied")
    # A second handler would have read "Copied" as the label to put back.
    expect(copy).to_have_text("Copy prompt", timeout=5_000)
    assert page.evaluate("window.__copied") == [newest_first[0]]
    dialog.get_by_role("link", name="Close").click()
    expect(dialog).to_be_hidden()
    assert page.url.endswith(studio(sandbox_team))
    assert_clean(page)


def test_the_form_shows_image_to_image_fields_only_in_that_mode_and_errors_in_place(
    open_as, sandbox_team, member
):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    page.evaluate("window.__sameDocument = true")
    source = page.get_by_label("Source image link")
    scale = page.get_by_label("Aspect ratio")
    expect(source).to_be_hidden()
    expect(scale.locator("option[value='Original']")).to_be_disabled()

    page.get_by_role("radio", name="Image to image").check()
    expect(source).to_be_visible()
    expect(page.get_by_label("Similarity to source")).to_be_visible()
    expect(scale.locator("option[value='Original']")).to_be_enabled()
    scale.select_option("Original")

    # Submitting without a prompt or a source answers next to the fields, in place.
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#generate-form .errorlist")).to_have_count(2)
    expect(page.get_by_text("This field is required.")).to_be_visible()
    expect(page.get_by_text("Image-to-image needs a source image")).to_be_visible()
    expect(source).to_be_visible()  # still in image-to-image mode after the swap
    expect(page.get_by_label("Prompt", exact=True)).to_have_attribute("aria-invalid", "true")

    page.get_by_role("radio", name="Text to image").check()
    expect(source).to_be_hidden()
    expect(scale).to_have_value("1:1")  # "Original" needs a source: back to square

    page.locator("label", has_text="1080p").click()
    expect(page.locator("#estimate")).to_contain_text("1 credit ")
    page.get_by_label("Images").fill("3")
    expect(page.locator("#estimate")).to_contain_text("3 credits")
    assert page.evaluate("window.__sameDocument") is True
    assert Generation.objects.count() == 0
    assert_clean(page)


def test_star_and_delete_from_a_card(open_as, sandbox_team, member, gallery):
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(sandbox_team))
    own = gallery[-2]  # made by the member (the newest is the owner's)
    card = page.locator(f"#job-{own.code}")
    star = card.get_by_role("button", name="Favourite")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(card.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Favourites").check()
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(1)
    page.get_by_label("Favourites").uncheck()
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(8)

    # Only one's own images can be deleted by a member, after a confirmation.
    theirs = page.locator(f"#job-{gallery[-1].code}")
    expect(theirs.get_by_role("button", name="Delete")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.dismiss())
    card.get_by_role("button", name="Delete").click()
    expect(card).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    card.get_by_role("button", name="Delete").click()
    expect(card).to_have_count(0)
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(7)
    assert not Job.objects.kept().filter(pk=own.pk).exists()
    # In the trash, restorable: its files stay until the purge (tests/test_trash.py).
    assert Path(own.thumbnail.path).exists()
    assert_clean(page)


def test_a_retry_that_cannot_start_answers_on_its_own_card(open_as, team_a, member):
    # The card's forms swap the card they sit in, while the grid around them opens links in the
    # lightbox: the retry must land on the card, and the lightbox stay shut.
    generation = Generation.objects.create(team=team_a, author=member, prompt="A storm at sea")
    job = Job.objects.create(
        generation=generation,
        team=team_a,
        author=member,
        state=State.FAILED,
        error_message="Akool did not make this one.",
    )
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(studio(team_a))
    page.evaluate("window.__sameDocument = true")
    card = page.locator(f"#job-{job.code}")
    card.get_by_role("button", name="Retry").click()
    expect(card.get_by_role("alert")).to_have_text(team_a.credentials_problem())
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(1)
    expect(page.locator("#lightbox")).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True
    assert_clean(page)


def test_a_viewer_cannot_submit(open_as, sandbox_team, viewer, gallery):
    page = open_as(viewer)
    page.goto(studio(sandbox_team))
    expect(page.get_by_text("View only")).to_be_visible()
    expect(page.locator("#generate-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate")).to_have_count(0)
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(8)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    assert_clean(page)


def test_two_hundred_images_load_only_the_first_page_of_thumbnails(
    open_as, sandbox_team, owner, gallery
):
    # 192 more rows sharing the eight real files: the page must not ask for them.
    start = timezone.now() - timedelta(days=3)
    Job.objects.bulk_create(
        Job(
            generation=g.generation,
            team=sandbox_team,
            author=owner,
            state=State.DONE,
            created_at=start + timedelta(seconds=i),
            thumbnail=g.thumbnail.name,
            preview=g.preview.name,
            original=g.original.name,
            width=g.width,
            height=g.height,
            thumb_width=g.thumb_width,
            thumb_height=g.thumb_height,
            placeholder_color=g.placeholder_color,
            format=g.format,
        )
        for i, g in ((i, gallery[i % 8]) for i in range(192))
    )
    page = open_as(owner, viewport={"width": 1280, "height": 800})
    thumbs = []
    page.on("request", lambda r: thumbs.append(r.url) if r.url.endswith("/thumb/") else None)
    page.goto(studio(sandbox_team))
    page.wait_for_load_state("networkidle")
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(24)
    # Only first-page thumbnails; the lowest of them wait (lazily) until scrolled near.
    first_page = set(
        page.locator("#gallery-grid img.thumb").evaluate_all("imgs => imgs.map(img => img.src)")
    )
    assert 0 < len(thumbs) <= 24 and set(thumbs) <= first_page

    # Scrolling to the end brings the next page, and only it (lazily, as it scrolls by).
    page.locator("#load-more").scroll_into_view_if_needed()
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(48)
    page.locator("#gallery-grid article.job-card").nth(24).scroll_into_view_if_needed()
    expect_loaded(page.locator("#gallery-grid article.job-card").nth(24).locator("img.thumb"))
    page.wait_for_load_state("networkidle")
    on_page = set(
        page.locator("#gallery-grid img.thumb").evaluate_all("imgs => imgs.map(img => img.src)")
    )
    assert 24 < len(set(thumbs)) <= 48 and set(thumbs) <= on_page
    assert_clean(page)


# --- how it looks, and accessibility -------------------------------------------------------


def axe_problems(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_and_no_serious_accessibility_problems(
    open_as, sandbox_team, owner, member, gallery, scheme
):
    pending = make_generation(sandbox_team, member, "A paper boat on a pond", scale="16:9")
    make_job(generation=pending, state=State.PROCESSING)
    make_job(
        generation=make_generation(sandbox_team, member, "A storm over the sea"),
        state=State.UNKNOWN,
        error_message="The request to Akool was interrupted; the image may or "
        "may not have been created (and charged).",
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for device, viewport in (("desktop", (1280, 800)), ("phone", (390, 844))):
        page = open_as(
            member, viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=scheme
        )
        page.goto(studio(sandbox_team))
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / f"studio-{device}-{scheme}.png", full_page=True)
        problems[f"studio {device}"] = axe_problems(page)

        page.locator("#gallery-grid a.tile").nth(0).click()
        expect(page.locator("#lightbox img.preview")).to_be_visible()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / f"lightbox-{device}-{scheme}.png")
        problems[f"lightbox {device}"] = axe_problems(page)

        page.goto(f"/t/{sandbox_team.code}/images/{gallery[-2].code}/")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / f"image-{device}-{scheme}.png", full_page=True)
        problems[f"image page {device}"] = axe_problems(page)
        assert_clean(page)
    assert {where: found for where, found in problems.items() if found} == {}
