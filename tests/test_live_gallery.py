"""The gallery is live for the whole team: the poller's since-cursor, new cards under the page's
filters, removals through tombstones, and what an htmx request meets when the session has
expired or the server fails."""

import logging
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generator.cursors import make_live_token
from generator.models import CardRemoval, Job, State
from tests.factories import make_image
from tests.test_studio import HX, card_codes, form_data, studio_url

pytestmark = pytest.mark.django_db


def since_of(html):
    found = re.search(
        r'<div id="poller"[^>]*>(?:<input type="hidden" name="since" value="([^"]+)">)?', html
    )
    assert found, "no poller"
    return found.group(1)


def poller_of(html):
    return re.search(r'<div id="poller"[^>]*>', html).group(0)


def page_since(client, team, **query):
    return since_of(client.get(studio_url(team, **query)).content.decode())


def live_poll(client, team, since, *pending, **filters):
    url = reverse("studio_poll", args=[team.code])
    data = {"since": since, "pending": [f"{j.code}.{s}" for j, s in pending], **filters}
    return client.get(url, data, **HX)


# --- new cards -------------------------------------------------------------------------------


def test_a_teammates_new_job_appears_in_the_next_poll(member_client, sandbox_team, member, owner):
    make_image(sandbox_team, member, state=State.DONE, created_at=timezone.now() - timedelta(1))
    since = page_since(member_client, sandbox_team)
    assert since
    theirs = make_image(sandbox_team, owner, prompt="a teammate's harbour", state=State.QUEUED)

    response = live_poll(member_client, sandbox_team, since)
    html = response.content.decode()
    assert card_codes(html) == [str(theirs.code)]
    assert 'hx-swap-oob="afterbegin:#gallery-grid"' in html
    assert f'name="pending" value="{theirs.code}.queued"' in html
    # Something is pending now, so the poller speeds up, with the next cursor.
    assert 'hx-trigger="every 2s,' in poller_of(html)
    assert since_of(html) and since_of(html) != since
    assert "no-cache" in response["Cache-Control"]


def test_a_card_is_sent_once_even_inside_the_overlap(member_client, sandbox_team, member, owner):
    since = page_since(member_client, sandbox_team)
    theirs = make_image(sandbox_team, owner, state=State.DONE)
    first = live_poll(member_client, sandbox_team, since).content.decode()
    assert card_codes(first) == [str(theirs.code)]
    # Still within the overlap window, yet the cursor says it was sent.
    second = live_poll(member_client, sandbox_team, since_of(first)).content.decode()
    assert card_codes(second) == []
    assert 'hx-swap-oob="afterbegin' not in second


def test_a_job_committed_late_is_still_found(member_client, sandbox_team, owner):
    # Stamped before the page's cursor, committed after it: the overlap catches it.
    since = page_since(member_client, sandbox_team)
    late = make_image(sandbox_team, owner, created_at=timezone.now() - timedelta(seconds=5))
    html = live_poll(member_client, sandbox_team, since).content.decode()
    assert card_codes(html) == [str(late.code)]


def test_cards_the_page_shows_as_pending_are_not_sent_as_new(member_client, sandbox_team, member):
    since = page_since(member_client, sandbox_team)
    mine = make_image(sandbox_team, member, state=State.QUEUED)  # this tab's own, from Generate
    html = live_poll(member_client, sandbox_team, since, (mine, "queued")).content.decode()
    assert card_codes(html) == []
    assert 'hx-trigger="every 2s,' in poller_of(html)


def test_new_cards_respect_the_pages_filters(member_client, sandbox_team, member, owner):
    since = page_since(member_client, sandbox_team, who="mine")
    theirs = make_image(sandbox_team, owner, prompt="a fox in the snow")
    mine = make_image(sandbox_team, member, prompt="a kite over hills")
    mine_dog = make_image(sandbox_team, member, prompt="a dog on a beach")

    html = live_poll(member_client, sandbox_team, since, who="mine").content.decode()
    assert set(card_codes(html)) == {str(mine.code), str(mine_dog.code)}
    html = live_poll(member_client, sandbox_team, since, q="fox").content.decode()
    assert card_codes(html) == [str(theirs.code)]
    # The cards' links keep the filters.
    assert "/?q=fox" in html


def test_a_page_of_older_images_takes_in_no_new_cards(member_client, sandbox_team, owner):
    jobs = [
        make_image(sandbox_team, owner, created_at=timezone.now() - timedelta(minutes=i))
        for i in range(30)
    ]
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    older = re.search(r'href="[^"]*\?(before=[^"]+)"', html).group(1)
    html = member_client.get(f"{studio_url(sandbox_team)}?{older}").content.decode()
    assert since_of(html) is None
    assert len(jobs) == 30


def test_a_teammates_u1_child_appears(member_client, sandbox_team, member, owner):
    parent = make_image(sandbox_team, owner, buttons=["U1", "V1"])
    since = page_since(member_client, sandbox_team)
    child = parent.make_button_child("U1", owner)
    html = live_poll(member_client, sandbox_team, since).content.decode()
    assert card_codes(html) == [str(child.code)]


# --- removals --------------------------------------------------------------------------------


def test_deleted_and_dismissed_cards_are_removed_from_open_pages(
    member_client, owner_client, sandbox_team, member, owner
):
    done = make_image(sandbox_team, owner, state=State.DONE)
    failed = make_image(sandbox_team, owner, state=State.FAILED)
    since = page_since(member_client, sandbox_team)

    for action, removed in (("image_delete", done), ("image_dismiss", failed)):
        url = reverse(action, args=[sandbox_team.code, removed.code])
        assert owner_client.post(url, **HX).status_code == 200

    poller = poller_of(live_poll(member_client, sandbox_team, since).content.decode())
    gone = re.search(r'data-gone="([^"]*)"', poller).group(1).split()
    assert set(gone) == {str(done.code), str(failed.code)}


def test_a_retried_card_is_removed_from_open_pages(
    member_client, owner_client, sandbox_team, owner
):
    failed = make_image(sandbox_team, owner, state=State.FAILED)
    since = page_since(member_client, sandbox_team)
    url = reverse("image_retry", args=[sandbox_team.code, failed.code])
    assert owner_client.post(url, **HX).status_code == 200
    html = live_poll(member_client, sandbox_team, since).content.decode()
    assert str(failed.code) in re.search(r'data-gone="([^"]*)"', poller_of(html)).group(1)
    retried = Job.objects.exclude(pk=failed.pk).get()
    assert card_codes(html) == [str(retried.code)]


def test_tombstones_are_pruned_after_a_day(sandbox_team, team_b):
    old = CardRemoval.objects.create(
        team=sandbox_team,
        code="00000000-0000-0000-0000-000000000001",
        removed_at=timezone.now() - CardRemoval.KEEP - timedelta(minutes=1),
    )
    other_team = CardRemoval.objects.create(
        team=team_b,
        code="00000000-0000-0000-0000-000000000002",
        removed_at=timezone.now() - CardRemoval.KEEP - timedelta(minutes=1),
    )
    CardRemoval.record(sandbox_team, "00000000-0000-0000-0000-000000000003")
    assert not CardRemoval.objects.filter(pk=old.pk).exists()
    assert CardRemoval.objects.filter(pk=other_team.pk).exists()
    assert CardRemoval.objects.filter(team=sandbox_team).count() == 1


def test_a_cursor_older_than_the_tombstones_reloads_the_page(member_client, sandbox_team):
    stale = make_live_token(timezone.now() - CardRemoval.KEEP - timedelta(minutes=1))
    response = live_poll(member_client, sandbox_team, stale)
    assert response["HX-Refresh"] == "true"


# --- cost and trust ----------------------------------------------------------------------------


def test_the_slow_check_answers_in_a_few_queries_however_large_the_gallery(
    member_client, sandbox_team, owner, django_assert_max_num_queries
):
    old = make_image(sandbox_team, owner, created_at=timezone.now() - timedelta(days=3))
    Job.objects.bulk_create(
        Job(
            generation=old.generation,
            team=sandbox_team,
            author=owner,
            state=State.DONE,
            created_at=timezone.now() - timedelta(days=2, minutes=i),
        )
        for i in range(200)
    )
    since = make_live_token(timezone.now())
    # Session, user, membership; then the recent window and the tombstones, from their indexes.
    with django_assert_max_num_queries(5):
        html = live_poll(member_client, sandbox_team, since).content.decode()
    assert card_codes(html) == []
    assert since_of(html)


def test_a_tampered_since_cursor_is_ignored(member_client, sandbox_team, owner):
    since = page_since(member_client, sandbox_team)
    make_image(sandbox_team, owner)
    # An earlier stamp would bring back everything; a changed cursor is not ours.
    for forged in (since[:-2] + ("AA" if not since.endswith("AA") else "BB"), "garbage", ""):
        response = live_poll(member_client, sandbox_team, forged)
        html = response.content.decode()
        assert response.status_code == 200
        assert card_codes(html) == [] and since_of(html) is None


def test_another_teams_jobs_never_arrive(member_client, sandbox_team, team_b, outsider):
    since = page_since(member_client, sandbox_team)
    make_image(team_b, outsider)
    CardRemoval.record(team_b, "00000000-0000-0000-0000-000000000009")
    html = live_poll(member_client, sandbox_team, since).content.decode()
    assert card_codes(html) == [] and "data-gone" not in poller_of(html)


# --- the submitting tab ----------------------------------------------------------------------


def test_generate_asks_the_poller_to_follow_and_keeps_the_pages_filters(
    member_client, sandbox_team
):
    url = reverse("studio_generate", args=[sandbox_team.code])
    here = f"http://testserver{studio_url(sandbox_team)}?who=mine"
    response = member_client.post(url, form_data(), HTTP_HX_CURRENT_URL=here, **HX)
    assert "poll-now" in response["HX-Trigger-After-Settle"]
    assert "/?who=mine" in response.content.decode()


# --- session expiry --------------------------------------------------------------------------


def test_an_htmx_request_without_a_session_gets_a_full_page_login_redirect(sandbox_team, db):
    here = f"http://testserver{studio_url(sandbox_team)}?who=mine"
    url = reverse("studio_poll", args=[sandbox_team.code])
    response = Client().get(url, HTTP_HX_CURRENT_URL=here, **HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == (f"/login/?next=/t/{sandbox_team.code}/%3Fwho%3Dmine")
    # Without htmx, Django's own redirect is left alone.
    plain = Client().get(url)
    assert plain.status_code == 302 and plain["Location"].startswith("/login/?next=")


def test_the_login_redirect_never_sends_people_to_another_site(sandbox_team, db):
    url = reverse("studio_poll", args=[sandbox_team.code])
    for foreign in ("https://evil.example/t/x/", "//evil.example/", "javascript:alert(1)"):
        response = Client().get(url, HTTP_HX_CURRENT_URL=foreign, **HX)
        assert response["HX-Redirect"] == "/login/?next=/"


def test_a_post_after_the_session_expired_ends_on_the_login_page_not_a_403(
    member_client, sandbox_team
):
    # CSRF is cookie-based: the token outlives the session, so the POST passes the CSRF check
    # and meets the login redirect, which htmx follows as a full page.
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))
    token = client.cookies["csrftoken"].value
    url = reverse("studio_generate", args=[sandbox_team.code])
    here = f"http://testserver{studio_url(sandbox_team)}"
    response = client.post(
        url, {"prompt": "a kite"}, HTTP_X_CSRFTOKEN=token, HTTP_HX_CURRENT_URL=here, **HX
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/login/?next=/t/{sandbox_team.code}/"


# --- server failures -------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_an_htmx_request_that_fails_gets_a_short_plain_message(
    member_client, sandbox_team, settings, monkeypatch, caplog, debug
):
    from generator.middleware import HTMX_FAILURE_MESSAGE
    from generator.views import gallery

    settings.DEBUG = debug

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail from deep inside")

    monkeypatch.setattr(gallery, "gallery_context", broken)
    member_client.raise_request_exception = False
    url = reverse("studio_gallery", args=[sandbox_team.code])
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = member_client.get(url, **HX)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == HTMX_FAILURE_MESSAGE
    assert "Traceback" not in response.content.decode()
    # Still logged, with the exception, for whoever runs the site.
    assert any(r.exc_info and "secret detail" in str(r.exc_info[1]) for r in caplog.records)


def test_a_failing_full_page_request_keeps_djangos_500(member_client, sandbox_team, monkeypatch):
    from generator.views import studio

    monkeypatch.setattr(studio, "gallery_context", lambda *a, **k: 1 / 0)
    member_client.raise_request_exception = False
    response = member_client.get(studio_url(sandbox_team))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_an_htmx_request_for_a_deleted_image_gets_a_plain_message(member_client, sandbox_team):
    from generator.middleware import HTMX_NOT_FOUND_MESSAGE

    url = reverse("image_detail", args=[sandbox_team.code, uuid.uuid4()])
    response = member_client.get(url, **HX)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == HTMX_NOT_FOUND_MESSAGE
    # A full page still gets the site's 404 page.
    assert member_client.get(url)["Content-Type"].startswith("text/html")


def test_an_htmx_refusal_says_why_in_plain_words(viewer_client, sandbox_team, owner):
    job = make_image(sandbox_team, owner, state=State.FAILED)
    url = reverse("image_retry", args=[sandbox_team.code, job.code])
    response = viewer_client.post(url, **HX)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "This needs the Member role or higher."
