"""The API's interactive docs page runs in a real browser under our CSP, from our own files."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_api_docs_render_under_the_csp_without_any_other_origin(browser_page, live_server):
    page = browser_page
    origins = []
    page.on("request", lambda request: origins.append(request.url.split("/")[2]))
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Akool studio API")
    expect(page.get_by_text("/api/v1/generations").first).to_be_visible()
    assert set(origins) == {live_server.url.split("/")[2]}
    assert page.js_errors == []
