"""Share links in a real Chromium: made from the image page, opened by someone who is not
signed in (a fresh browser context, under the public page's own CSP), revoked from the list."""

import pytest

from generator.models import ShareLink
from tests.test_browser_studio import (
    COUNT_LISTENERS_AND_COPIES,
    RECORD_CSP,
    assert_clean,
    expect,
    gallery,  # noqa: F401 (a fixture)
    media,  # noqa: F401 (a fixture)
    open_as,  # noqa: F401 (a fixture)
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def visitor(chromium_browser, live_server):
    """A page in a browser context of its own: no session, the server's own headers."""
    context = chromium_browser.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD_CSP)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    yield page
    context.close()


def test_a_link_made_on_the_image_page_opens_for_a_visitor_until_revoked(
    open_as,  # noqa: F811
    visitor,
    sandbox_team,
    member,
    gallery,  # noqa: F811
):
    image = gallery[0]  # the member's
    prompt = image.generation.prompt
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.context.add_init_script(COUNT_LISTENERS_AND_COPIES)
    page.goto(f"/t/{sandbox_team.code}/images/{image.code}/")
    page.locator("summary", has_text="Share").click()
    box = page.locator("#share-box")
    box.get_by_label("Expires after").select_option("7d")
    box.get_by_label("Password").fill("open sesame")
    expect(box.get_by_label("Allow downloading the original")).to_be_checked()
    expect(box.get_by_label("Show the prompt and settings")).not_to_be_checked()
    box.get_by_role("button", name="Create link").click()
    url_field = box.locator("input.share-url")
    expect(url_field).to_be_visible()
    link_url = url_field.input_value()
    box.get_by_role("button", name="Copy link").click()
    assert page.evaluate("window.__copied") == [link_url]
    assert_clean(page)

    # The visitor: a password first, then the image; no prompt; the original downloads.
    response = visitor.goto(link_url)
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    expect(visitor.get_by_role("heading", name="Password needed")).to_be_visible()
    visitor.get_by_label("Password").fill("wrong")
    visitor.get_by_role("button", name="Open").click()
    expect(visitor.get_by_role("alert")).to_have_text("That is not the password.")
    visitor.get_by_label("Password").fill("open sesame")
    visitor.get_by_role("button", name="Open").click()
    expect(visitor.get_by_role("img", name="Shared image")).to_be_visible()
    visitor.wait_for_load_state("load")  # the image has arrived (or failed)
    assert visitor.evaluate("document.querySelector('img').naturalWidth") > 0
    assert prompt not in visitor.content()
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name="Download original").click()
    with open(download.value.path(), "rb") as got, image.original.open("rb") as stored:
        assert got.read() == stored.read()
    assert_clean(visitor)

    # The maker turns downloads off and the prompt on: the visitor's next look honours both.
    link = ShareLink.objects.get()
    page.goto(f"/t/{sandbox_team.code}/shares/")
    item = page.locator(f"#link-{link.code}")
    expect(item).to_contain_text("1 view")
    item.locator("summary", has_text="Edit").click()
    item.get_by_label("Allow downloading the original").uncheck()
    item.get_by_label("Show the prompt and settings").check()
    item.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the link.")).to_be_visible()
    visitor.reload()
    expect(visitor.get_by_text(prompt).first).to_be_visible()
    expect(visitor.get_by_role("link", name="Download original")).to_have_count(0)

    # Revoked: the visitor's next visit says so.
    page.on("dialog", lambda dialog: dialog.accept())
    item = page.locator(f"#link-{link.code}")
    item.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Revoked the link")).to_be_visible()
    response = visitor.goto(link_url)
    assert response.status == 410
    expect(visitor.get_by_role("heading", name="This link was revoked")).to_be_visible()
    assert_clean(visitor)
    assert_clean(page)


def test_a_link_made_in_the_lightbox_shows_in_place(
    open_as,  # noqa: F811
    sandbox_team,
    member,
    gallery,  # noqa: F811
):
    image = gallery[0]
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(f"/t/{sandbox_team.code}/")
    page.locator(f'a[href*="/images/{image.code}/"]').first.click()
    lightbox = page.locator("#lightbox-body")
    lightbox.locator("summary", has_text="Share").click()
    lightbox.get_by_role("button", name="Create link").click()
    expect(lightbox.locator("input.share-url")).to_be_visible()
    # Shown in place: the lightbox stays open on the image, over the studio.
    expect(lightbox.locator("#image-detail")).to_be_visible()
    expect(page.locator("#gallery")).to_be_attached()
    assert ShareLink.objects.filter(jobs=image).count() == 1
    assert_clean(page)


def test_a_board_shared_from_its_page_shows_images_put_on_it_later(
    open_as,  # noqa: F811
    visitor,
    sandbox_team,
    member,
    gallery,  # noqa: F811
):
    from generator.models import Board

    board = Board.objects.create(team=sandbox_team, name="Client picks", created_by=member)
    board.add_jobs(gallery[:2], member)
    page = open_as(member, viewport={"width": 1280, "height": 900})
    page.goto(f"/t/{sandbox_team.code}/?board={board.code}")
    page.locator("summary", has_text="Share board").click()
    box = page.locator("#board-share-box")
    box.get_by_label("Show the prompt and settings").check()
    box.get_by_role("button", name="Create link").click()
    url_field = box.locator("input.share-url")
    expect(url_field).to_be_visible()
    link_url = url_field.input_value()
    assert_clean(page)

    visitor.goto(link_url)
    expect(visitor.get_by_role("heading", name="Client picks")).to_be_visible()
    expect(visitor.locator("figure.shared-image")).to_have_count(2)
    board.add_jobs([gallery[5]], member)
    visitor.reload()
    expect(visitor.locator("figure.shared-image")).to_have_count(3)
    expect(visitor.locator("main")).to_contain_text(gallery[5].generation.prompt)
    assert_clean(visitor)
