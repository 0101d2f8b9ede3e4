"""Browser notifications in a real Chromium, under the strict CSP: a person who asked for them
is told when their own image finishes while the studio tab is hidden, and not while they are
looking at it.

Playwright grants the notification permission through the browser context. It has no way to
hide a tab (a headless page is always "visible"), so the page's `document.hidden` and
`visibilityState` are replaced, before any page script runs, by ones the test switches, and a
`visibilitychange` event is sent as a browser would. The real Notification constructor still
runs; a thin wrapper around it also writes each notification into the page, where a locator
can wait for it (wait_for_function is refused by our CSP).

A card shows its new state at the swap, but notify.js reads it at the settle that follows, a
moment later. So the recorder also copies each card's state into `data-settled` in that same
settle event; a test waits for it before changing what the page should count as hidden.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from generator.models import Job, State
from tests import test_browser_studio as studio_tests
from tests.test_browser_studio import assert_clean, expect, stored_job, studio

open_as = studio_tests.open_as
media = studio_tests.media


@pytest.fixture
def chromium_browser(full_chromium_browser):
    """The desktop Chromium: its headless shell has no Notification API at all."""
    return full_chromium_browser


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HIDE_AND_RECORD = """
window.__hidden = false;
document.addEventListener("htmx:afterSettle", function () {
  document.querySelectorAll(".job-card").forEach(function (card) {
    card.setAttribute("data-settled", card.getAttribute("data-state"));
  });
});
Object.defineProperty(Document.prototype, "hidden", {
  configurable: true,
  get: function () { return window.__hidden; },
});
Object.defineProperty(Document.prototype, "visibilityState", {
  configurable: true,
  get: function () { return window.__hidden ? "hidden" : "visible"; },
});
(function (Real) {
  if (!Real) {
    return;
  }
  function Recorded(title, options) {
    var note = new Real(title, options);
    var mark = document.createElement("output");
    mark.className = "test-notification";
    mark.textContent = title + " | " + ((options && options.body) || "");
    document.body.appendChild(mark);
    return note;
  }
  Recorded.prototype = Real.prototype;
  Object.defineProperty(Recorded, "permission", { get: function () { return Real.permission; } });
  Recorded.requestPermission = Real.requestPermission.bind(Real);
  window.Notification = Recorded;
})(window.Notification);
"""


def set_hidden(page, hidden):
    page.evaluate(
        f"window.__hidden = {'true' if hidden else 'false'};"
        "document.dispatchEvent(new Event('visibilitychange'));"
    )


def in_flight(job):
    Job.objects.filter(pk=job.pk).update(state=State.PROCESSING)


def finished(job):
    Job.objects.filter(pk=job.pk).update(state=State.DONE, updated_at=timezone.now())


def test_my_finished_image_is_notified_only_while_the_tab_is_hidden(
    open_as, team_a, member, owner, media
):
    member.notify_browser = True
    member.save()
    start = timezone.now() - timedelta(minutes=5)
    seen = stored_job(team_a, member, "A kite over the dunes", index=0, created_at=start)
    mine = stored_job(
        team_a, member, "A heron in the reeds", index=1, created_at=start + timedelta(minutes=1)
    )
    theirs = stored_job(
        team_a, owner, "A teammate's tram", index=2, created_at=start + timedelta(minutes=2)
    )
    for job in (seen, mine, theirs):
        in_flight(job)

    page = open_as(member, permissions=["notifications"], viewport={"width": 1280, "height": 900})
    page.context.add_init_script(HIDE_AND_RECORD)
    page.goto(studio(team_a))
    cards = page.locator("#gallery-grid .job-card")
    expect(cards).to_have_count(3)
    expect(page.locator(".job-card[data-mine]")).to_have_count(2)
    notes = page.locator("output.test-notification")

    # Looking at the tab: the card itself is the news.
    finished(seen)
    expect(page.locator(f"#job-{seen.code}")).to_have_attribute("data-settled", "done")
    expect(notes).to_have_count(0)

    # Hidden: the poller keeps going for my pending image and the browser tells me.
    set_hidden(page, True)
    finished(theirs)
    finished(mine)
    expect(page.locator(f"#job-{mine.code}")).to_have_attribute("data-state", "done")
    expect(page.locator(f"#job-{theirs.code}")).to_have_attribute("data-state", "done")
    expect(notes).to_have_count(1)
    expect(notes).to_have_text("Your image is ready | A heron in the reeds")
    assert_clean(page)


def test_without_the_preference_nothing_is_notified_and_the_hidden_tab_rests(
    open_as, team_a, member, media
):
    job = stored_job(team_a, member, "A quiet harbour", index=0)
    in_flight(job)
    page = open_as(member, permissions=["notifications"])
    page.context.add_init_script(HIDE_AND_RECORD)
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/poll/" in r.url else None)
    page.goto(studio(team_a))
    expect(page.locator(".job-card[data-mine]")).to_have_count(1)
    set_hidden(page, True)
    page.wait_for_timeout(500)
    count = len(polls)
    finished(job)
    page.wait_for_timeout(studio_tests.POLL_SECONDS * 1000 + 1500)
    # The hidden tab asked nothing (the poller rests), so nothing arrived to tell of.
    assert len(polls) == count
    set_hidden(page, False)
    expect(page.locator(f"#job-{job.code}")).to_have_attribute("data-state", "done")
    expect(page.locator("output.test-notification")).to_have_count(0)
    assert_clean(page)


def test_the_account_page_asks_the_browser_on_a_click(open_as, member):
    page = open_as(member, permissions=["notifications"])
    page.goto("/account/")
    box = page.locator("[data-notify-permission-box]")
    expect(box).to_be_visible()
    page.get_by_role("button", name="Allow notifications in this browser").click()
    expect(box).to_contain_text("This browser shows your notifications.")
    page.get_by_label("In this browser, when the studio tab is hidden").check()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator(".messages")).to_contain_text("Saved your notification preferences")
    member.refresh_from_db()
    assert member.notify_browser is True
    assert_clean(page)
    studio_tests.SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=studio_tests.SHOTS / "account.png", full_page=True)


def test_an_admin_adds_a_signed_webhook_sends_a_test_and_reads_the_log(
    open_as, team_a, owner, receiver, public_loopback, monkeypatch
):
    """The channel pages under the strict CSP; the test message is delivered inside the
    request (the queue runs the delivery at once) to a loopback receiver."""
    from django.utils.module_loading import import_string

    from generator.lib import signing

    endpoint = receiver([200])

    def run_inline(path, *args):
        if path == "generator.notify.tasks.deliver":
            import_string(path)(*args)

    monkeypatch.setattr("generator.queue.async_task", run_inline)
    page = open_as(owner, viewport={"width": 1280, "height": 900})
    page.goto(f"/t/{team_a.code}/settings/")
    page.get_by_role("link", name="Send the team's news").click()
    page.get_by_label("Name", exact=True).fill("Ops endpoint")
    page.get_by_label("Signed webhook").check()
    page.get_by_label("Webhook URL or email addresses").fill(f"{endpoint}/hook-7b2e")
    for event in ("Generation failed", "Budget at 80 %", "Share link created"):
        page.get_by_label(event).uncheck()  # every event is ticked to start with
    page.get_by_role("button", name="Add channel").click()
    secret = page.get_by_role("textbox", name="Signing secret").input_value()
    assert secret.startswith("whsec_")

    page.get_by_role("link", name="Ops endpoint").click()
    expect(page.locator("body")).not_to_contain_text("hook-7b2e")
    page.get_by_role("button", name="Send test").click()
    sent = page.locator("#delivery-log tr[data-status='sent']")
    expect(sent).to_have_count(1)
    expect(sent).to_contain_text("Test message")
    (_, headers, body) = endpoint.posts[0]
    assert signing.verify(secret, headers, body)
    assert_clean(page)
    studio_tests.SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=studio_tests.SHOTS / "notification-channel.png", full_page=True)
    page.goto(f"/t/{team_a.code}/notifications/")
    page.screenshot(path=studio_tests.SHOTS / "notification-channels.png", full_page=True)
