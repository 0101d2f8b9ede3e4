"""Browser tests: a real Chromium, driven by Playwright's sync API, against the live server.

Fixtures (import into conftest with `from tests.browser import *`):
- `chromium_browser` (session): the launched browser, or a skip with one clear line when no
  Chromium is installed (a failure instead when REQUIRE_BROWSER=1, as in CI).
- `full_chromium_browser` (session): the desktop Chromium even where the headless shell is
  installed, for the few browser features the shell lacks.
- `browser_page`: a page in a fresh browser context whose base_url is the live server.
Helper: `login(page, live_server, email, password)` signs in through the real login page.

The names avoid pytest-playwright's own `browser` / `page` fixtures; run with
`-p no:playwright` all the same, so its browser download is never needed.
"""

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio loop in the test thread, and Django refuses ORM calls
# from a thread with a running loop. The loop is Playwright's own and never runs Django code,
# so this is safe (and the usual setup for pytest-django with Playwright).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

__all__ = [
    "browser_page",
    "chromium_browser",
    "find_chromium",
    "full_chromium_browser",
    "login",
    "playwright_driver",
]

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_FILE = ROOT / "data" / "browser-skipped.txt"
SKIP_LINE = (
    "browser tests skipped: no Chromium found — install it with `apt-get install -y chromium` "
    "or set CHROMIUM_PATH"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SYSTEM_CHROMIUM = "/usr/bin/chromium"
# Debian's build of the same Chromium without the desktop browser around it: what Playwright
# itself runs for headless tests. Same Blink, same V8, about a third less CPU per test, so the
# suite prefers it when installed; CHROMIUM_PATH=/usr/bin/chromium runs the full browser.
SYSTEM_HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"


def _executable(path):
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def find_chromium(playwright=None, full=False):
    """CHROMIUM_PATH, then Debian's headless shell (unless `full`), then Debian's
    /usr/bin/chromium, then a Playwright-installed browser."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        resolved = shutil.which(configured) or configured
        if not _executable(resolved):
            pytest.fail(f"CHROMIUM_PATH={configured!r} is not an executable file", pytrace=False)
        return resolved
    for path in (SYSTEM_CHROMIUM,) if full else (SYSTEM_HEADLESS_SHELL, SYSTEM_CHROMIUM):
        if _executable(path):
            return path
    if playwright is not None:
        try:
            bundled = playwright.chromium.executable_path
        except Exception:
            bundled = ""
        if _executable(bundled):
            return bundled
    return None


def _no_browser(line):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(line.replace("skipped", "required (REQUIRE_BROWSER=1)"), pytrace=False)
    SKIPPED_FILE.parent.mkdir(parents=True, exist_ok=True)
    with SKIPPED_FILE.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    pytest.skip(line)


@pytest.fixture(scope="session")
def playwright_driver():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser(
            "browser tests skipped: the playwright package is not installed — run `make install`"
        )
    playwright = sync_playwright().start()
    yield playwright
    playwright.stop()


def _launch(playwright, full):
    path = find_chromium(playwright, full=full)
    if path is None:
        _no_browser(SKIP_LINE)
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def chromium_browser(playwright_driver):
    browser = _launch(playwright_driver, full=False)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def full_chromium_browser(playwright_driver):
    """The desktop browser itself, for what the headless shell leaves out (notifications): a
    test module that needs it overrides `chromium_browser` with this one."""
    browser = _launch(playwright_driver, full=True)
    yield browser
    browser.close()


# What the browser says about an answer the test asked for (a refused action, a card that is
# gone): the app shows those itself. Anything else logged as an error (htmx complaining about a
# selector, a script's console.error) fails the test.
EXPECTED_ERRORS = ("Failed to load resource", "Response Status Error Code")


def console_error(page, message):
    if message.type == "error" and not message.text.startswith(EXPECTED_ERRORS):
        page.js_errors.append(f"console: {message.text}")


@pytest.fixture
def browser_page(chromium_browser, live_server):
    context = chromium_browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    # Any JavaScript error on a page fails the test that caused it.
    page.js_errors = []
    page.on("pageerror", lambda error: page.js_errors.append(str(error)))
    page.on("console", lambda message: console_error(page, message))
    yield page
    context.close()


def login(page, live_server, email, password):
    """Sign in through the real login page and wait until it has sent us on."""
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page
