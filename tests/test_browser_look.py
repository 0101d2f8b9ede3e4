"""How the studio and the other pages look, in a real Chromium under the strict CSP: pictures in
their real shape, batches with the prompt once, 2x thumbnails on dense screens, no page wider
than a phone, one header on every page, and screenshots in light and dark."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from generator import audit
from generator.api_tokens import issue_token
from generator.models import AuditAction, Board, Generation, Invitation, Job, State, TokenKind
from generator.trash import move_to_trash
from tests.test_browser_studio import (
    SHOTS,
    assert_clean,
    axe_problems,
    expect,
    open_as,  # noqa: F401 (fixture)
    stored_job,
    studio,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1600, "height": 900}

BOX = "el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; }"
# [scrollWidth, clientWidth, the innermost elements that stick out past the right edge].
SCROLLS_SIDEWAYS = """() => {
  const root = document.scrollingElement;
  const out = [...document.body.querySelectorAll("*")].filter(el => {
    const r = el.getBoundingClientRect();
    return r.width && r.right > root.clientWidth + 1 && !el.closest("dialog:not([open])");
  });
  const innermost = out.filter(el => !out.some(other => other !== el && el.contains(other)));
  return [root.scrollWidth, root.clientWidth,
          innermost.slice(0, 5).map(el => el.tagName + "." + el.className)];
}"""


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def shapes(sandbox_team, owner, member, media):  # noqa: F811
    """A 16:9 and a 9:16 image, a batch of four squares, and an upscale of one of them."""
    start = timezone.now() - timedelta(hours=1)
    wide = stored_job(sandbox_team, owner, "A wide harbour at dusk", 1, start, size=(1600, 900))
    tall = stored_job(
        sandbox_team, member, "A tall lighthouse", 2, start + timedelta(minutes=1), size=(900, 1600)
    )
    first = stored_job(
        sandbox_team,
        member,
        "Four foxes in the snow",
        3,
        start + timedelta(minutes=2),
        size=(800, 800),
    )
    square = [first]
    for index in range(1, 4):
        job = Job.objects.get(pk=first.pk)
        job.pk, job.code, job.index = None, uuid.uuid4(), index
        job.save()
        square.append(job)
    child = Job.objects.create(
        generation=first.generation,
        team=sandbox_team,
        author=member,
        parent=first,
        button="U2",
        index=first.index,
        state=State.PROCESSING,
        created_at=start + timedelta(minutes=3),
    )
    return {"wide": wide, "tall": tall, "square": square, "child": child}


def ratio_of(locator):
    width, height = locator.evaluate(BOX)
    return width / height


def test_wide_and_tall_images_keep_their_shape_in_batches_with_the_prompt_once(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    member,
    shapes,
):
    page = open_as(member, viewport=DESKTOP)
    page.goto(studio(sandbox_team))
    for name, real in (("wide", 16 / 9), ("tall", 9 / 16)):
        image = page.locator(f"#job-{shapes[name].code} img.thumb")
        expect(image).to_be_visible()
        assert abs(ratio_of(image) / real - 1) < 0.10, name
    # Four squares of one generation: one section, one prompt, its settings as chips.
    square = shapes["square"][0].generation
    section = page.locator(f"#batch-{square.code}")
    expect(section.locator("article.job-card")).to_have_count(4)
    expect(page.get_by_text("Four foxes in the snow", exact=True)).to_have_count(1)
    expect(section.locator(".chip")).to_have_text(["1:1", "1080p", "Text to image"])
    # Its cards share one row height.
    heights = {
        round(h) for _, h in section.locator("img.thumb").evaluate_all(f"els => els.map({BOX})")
    }
    assert max(heights) - min(heights) <= 1
    # The upscale made from it is its own batch, labelled, and pending in the shape asked for.
    child = page.locator(f"#job-{shapes['child'].code}")
    expect(child.locator("xpath=ancestor::section[1]")).to_contain_text("Upscale 2 of image 1")
    assert abs(ratio_of(child.locator(".tile")) - 1) < 0.05
    assert_clean(page)


def test_dense_screens_get_the_2x_thumbnail_and_others_the_1x(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    member,
    shapes,
):
    wide = shapes["wide"]
    for scale, suffix in ((1, "/thumb/"), (2, "/thumb2x/")):
        page = open_as(member, viewport=DESKTOP, device_scale_factor=scale)
        page.goto(studio(sandbox_team))
        image = page.locator(f"#job-{wide.code} img.thumb")
        expect(image).to_have_js_property("complete", True)
        assert image.evaluate("el => el.currentSrc").endswith(suffix)
        assert_clean(page)


def main_pages(team, job):
    invitation = Invitation.objects.create(
        team=team, email="new-person@a.example", invited_by=job.author
    )
    return {
        "studio": studio(team),
        "image": f"/t/{team.code}/images/{job.code}/",
        "usage": f"/t/{team.code}/usage/",
        "audit": f"/t/{team.code}/audit/",
        "teams": "/teams/",
        "team-settings": f"/t/{team.code}/settings/",
        "password-change": "/password/change/",
        "account": "/account/",
        "my-data": "/account/data/",
        "account-tokens": "/account/tokens/",
        "boards": f"/t/{team.code}/boards/",
        "trash": f"/t/{team.code}/trash/",
        "presets": f"/t/{team.code}/presets/",
        "team-tokens": f"/t/{team.code}/tokens/",
        "notifications": f"/t/{team.code}/notifications/",
        "share-links": f"/t/{team.code}/shares/",
    }, {
        "invite": f"/invite/{invitation.code}/",
        "login": "/login/",
        "signup": "/signup/",
        "password-reset": "/password/reset/",
    }


def test_no_page_scrolls_sideways_on_a_phone(
    open_as,  # noqa: F811
    chromium_browser,
    live_server,
    sandbox_team,  # noqa: F811
    owner,
    shapes,
    settings,
):
    settings.ALLOW_SIGNUP = True  # else the sign-up address is the 404 page
    audit.record(owner, sandbox_team, AuditAction.BUDGET_CHANGED, target="monthly budget")
    # Rows on the pages that list things: a board, an image in the trash, a token of each kind.
    board = Board.objects.create(team=sandbox_team, name="Harbour picks", created_by=owner)
    board.add_jobs([shapes["wide"]], owner)
    with transaction.atomic():
        move_to_trash(
            owner,
            sandbox_team,
            [Job.objects.select_related("generation", "author").get(pk=shapes["tall"].pk)],
        )
    for kind, user in ((TokenKind.PERSONAL, owner), (TokenKind.SERVICE, None)):
        issue_token(
            owner,
            team=sandbox_team,
            kind=kind,
            user=user,
            name=f"A {kind} token for the nightly export",
            role="" if user else "member",
        )
    signed_in, anonymous = main_pages(sandbox_team, shapes["wide"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    wide = {}
    page = open_as(owner, viewport=PHONE)
    for name, url in signed_in.items():
        page.goto(url)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=SHOTS / f"look-{name}-phone.png", full_page=True)
        wide[name] = page.evaluate(SCROLLS_SIDEWAYS)
    # The lightbox, over the studio.
    page.goto(studio(sandbox_team))
    page.locator("#gallery-grid a.tile").first.click()
    expect(page.locator("#lightbox img.preview")).to_be_visible()
    wide["lightbox"] = page.evaluate(SCROLLS_SIDEWAYS)
    assert_clean(page)
    context = chromium_browser.new_context(base_url=live_server.url, viewport=PHONE)
    try:
        stranger = context.new_page()
        for name, url in anonymous.items():
            stranger.goto(url)
            stranger.screenshot(path=SHOTS / f"look-{name}-phone.png", full_page=True)
            wide[name] = stranger.evaluate(SCROLLS_SIDEWAYS)
    finally:
        context.close()
    assert {name: sizes for name, sizes in wide.items() if sizes[0] > sizes[1]} == {}


def test_on_a_phone_the_first_images_are_on_the_first_screen(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    member,
    shapes,
):
    page = open_as(member, viewport=PHONE)
    page.goto(studio(sandbox_team))
    sheet = page.locator("details.settings-sheet")
    expect(sheet).not_to_have_attribute("open", "")
    expect(page.get_by_label("Aspect ratio")).to_be_hidden()
    first = page.locator("#gallery-grid article.job-card").first
    assert first.bounding_box()["y"] < PHONE["height"]
    # The settings are one tap away.
    sheet.locator("> summary").click()
    expect(page.get_by_label("Aspect ratio")).to_be_visible()
    assert_clean(page)


def test_the_header_stays_put_between_pages(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    owner,
    shapes,
):
    page = open_as(owner, viewport=DESKTOP)
    edges = {}
    for url in (studio(sandbox_team), f"/t/{sandbox_team.code}/usage/", "/teams/"):
        page.goto(url)
        brand = page.locator(".site-header .brand").bounding_box()
        menu = page.locator(".site-header .user-menu").bounding_box()
        edges[url] = (round(brand["x"]), round(menu["x"] + menu["width"]))
    page.goto(f"/t/{sandbox_team.code}/settings/")
    brand = page.locator(".site-header .brand").bounding_box()
    menu = page.locator(".site-header .user-menu").bounding_box()
    edges["settings"] = (round(brand["x"]), round(menu["x"] + menu["width"]))
    assert len(set(edges.values())) == 1, edges


def test_the_prompt_stays_after_generate_and_clear_empties_it(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    member,
    media,
):
    sandbox_team.default_resolution = "1080p"
    sandbox_team.save()
    page = open_as(member, viewport=DESKTOP)
    page.goto(studio(sandbox_team))
    expect(page.get_by_label("1080p")).to_be_checked()
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("A red kite over the dunes")
    with page.expect_response(lambda r: r.url.endswith("/generate/")):
        prompt.press("Control+Enter")
    generation = Generation.objects.get()
    assert generation.resolution == "1080p"  # the team's default, not Akool's 4K
    section = page.locator(f"#batch-{generation.code}")
    expect(section.locator("article.job-card")).to_have_count(1)
    expect(section.locator(".batch-prompt")).to_have_text("A red kite over the dunes")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("A red kite over the dunes")
    page.get_by_role("button", name="Clear the prompt").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("")
    expect(page.get_by_label("Prompt", exact=True)).to_be_focused()
    # Cmd+Enter (a Mac's Ctrl+Enter) generates too.
    prompt.fill("A blue kite over the dunes")
    with page.expect_response(lambda r: r.url.endswith("/generate/")):
        prompt.press("Meta+Enter")
    assert Generation.objects.filter(prompt="A blue kite over the dunes").exists()
    assert_clean(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_and_accessibility_of_the_new_layout(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    owner,
    shapes,
    scheme,
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_as(owner, viewport=viewport, color_scheme=scheme)
        for name, url in (
            ("studio", studio(sandbox_team)),
            ("usage", f"/t/{sandbox_team.code}/usage/"),
            ("team-settings", f"/t/{sandbox_team.code}/settings/"),
        ):
            page.goto(url)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=SHOTS / f"look-{name}-{device}-{scheme}.png", full_page=True)
            if name == "studio":
                problems[f"studio {device}"] = axe_problems(page)
        assert_clean(page)
    assert {where: found for where, found in problems.items() if found} == {}


# The colour an element shows: its own background, else the first painted one behind it.
PAINT = """(el, property) => {
  const style = getComputedStyle(el);
  if (property !== "background-color") {
    return style.getPropertyValue(property);
  }
  for (let at = el; at; at = at.parentElement) {
    const colour = getComputedStyle(at).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") {
      return colour;
    }
  }
  return "rgb(0, 0, 0)";
}"""


def contrast(first, second):
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""

    def luminance(colour):
        channels = [int(part) / 255 for part in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_selected_states_are_clearly_visible_in_dark_mode(
    open_as,  # noqa: F811
    sandbox_team,  # noqa: F811
    member,
    shapes,
):
    page = open_as(member, viewport=DESKTOP, color_scheme="dark")
    page.goto(studio(sandbox_team))

    def paint(locator, prop="background-color"):
        return locator.evaluate(PAINT, prop)

    # WCAG's 3:1 for what tells a control's state: the chosen segment against the others.
    for name, other in (("4K", "1080p"), ("Text to image", "Image to image")):
        chosen = page.locator("label", has=page.get_by_role("radio", name=name, exact=True))
        unchosen = page.locator("label", has=page.get_by_role("radio", name=other, exact=True))
        expect(chosen.locator("input")).to_be_checked()
        assert contrast(paint(chosen), paint(unchosen)) >= 3, name
        assert contrast(paint(chosen), paint(chosen, "color")) >= 4.5, name

    # A ticked filter and a narrowing select show an accent edge an unticked one lacks.
    favourites = page.locator("label.filter-check")
    before = paint(favourites, "border-top-color")
    favourites.get_by_role("checkbox").check()
    expect(page.locator("#gallery-grid article.job-card")).to_have_count(0)
    after = paint(favourites, "border-top-color")
    assert contrast(after, paint(favourites)) >= 3
    assert contrast(after, before) >= 2
    status = page.get_by_label("Status")
    idle = paint(status, "border-top-color")
    status.select_option("done")
    expect(page).to_have_url(re.compile(r"status=done"))
    assert contrast(paint(status, "border-top-color"), idle) >= 2

    # A starred image's star against an unstarred one.
    favourites.get_by_role("checkbox").uncheck()
    star = page.locator(f"#job-{shapes['wide'].code}").get_by_role("button", name="Favourite")
    other = page.locator(f"#job-{shapes['tall'].code}").get_by_role("button", name="Favourite")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    assert contrast(paint(star, "color"), paint(star)) >= 3
    assert paint(star, "color") != paint(other, "color")
    assert_clean(page)
