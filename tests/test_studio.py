"""The studio with Django's test client: the form, the gallery, the poller, the image view."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.template.defaultfilters import pluralize
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generator import source_links
from generator.models import Favourite, Generation, Job, Role, State
from generator.pricing import CREDITS_PER_IMAGE, estimate_credits
from tests.factories import make_image, make_user
from tests.instants import SOME, at

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def many_jobs(team, author, count, **kwargs):
    start = timezone.now() - timedelta(hours=1)
    return [
        make_image(
            team,
            author,
            prompt=f"picture number {i}",
            created_at=start + timedelta(seconds=i),
            **kwargs,
        )
        for i in range(count)
    ]


def next_page_url(html):
    return re.search(r'id="load-more"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def card_codes(html):
    return re.findall(r'<article id="job-([0-9a-f-]{36})"', html)


def studio_url(team, **query):
    url = reverse("studio", args=[team.code])
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


def image_url(name, team, job, *extra):
    return reverse(name, args=[team.code, job.code, *extra])


def form_data(**overrides):
    data = {
        "prompt": "a lighthouse at dawn",
        "mode": "t2i",
        "scale": "1:1",
        "resolution": "1080p",
        "batch": "1",
        "model_name": "",
        "negative_prompt": "",
    }
    data.update(overrides)
    return data


# --- the page and the form -------------------------------------------------------------------


def test_a_new_sandbox_team_shows_the_form_and_says_try_a_prompt(member_client, sandbox_team):
    response = member_client.get(studio_url(sandbox_team))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="generate-form"' in html
    assert "try a prompt" in html
    # Every field of the form is there, with the image-to-image ones marked for hiding.
    for name in (
        "prompt",
        "negative_prompt",
        "mode",
        "model_name",
        "scale",
        "resolution",
        "batch",
        "similar",
        "source_url",
        "source_file",
    ):
        assert f'name="{name}"' in html
    assert 'class="mode-only when-off" data-show-when="mode=i2i"' in html
    one_4k = CREDITS_PER_IMAGE["4k"]  # 4K × 1 image by default
    assert f"Estimated cost: <strong>{one_4k} credit{pluralize(one_4k)}</strong>" in html
    assert "Akool&#x27;s charge may differ" in html or "Akool's charge may differ" in html
    assert response["Vary"].count("HX-Request") == 1


def test_a_team_without_a_key_tells_members_to_ask_an_admin(member_client, team_a):
    html = member_client.get(studio_url(team_a)).content.decode()
    assert 'id="generate-form"' not in html
    assert "ask an admin to add an Akool key in Team settings" in html


def test_a_team_without_a_key_links_admins_to_the_settings(owner_client, team_a):
    html = owner_client.get(studio_url(team_a)).content.decode()
    assert reverse("team_settings", args=[team_a.code]) + "#connection" in html


def test_bad_input_comes_back_as_the_form_partial_with_field_errors(member_client, sandbox_team):
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data(prompt="", batch="9", scale="Original"), **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith("<form")
    assert html.count('class="errorlist"') >= 3  # prompt, batch and scale
    assert 'aria-invalid="true"' in html
    assert Generation.objects.count() == 0
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_bad_input_without_htmx_renders_the_whole_page_with_errors(member_client, sandbox_team):
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data(prompt=""))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'class="errorlist"' in html
    assert 'id="gallery-grid"' in html


def test_a_valid_submit_starts_the_jobs_and_returns_their_pending_cards(
    member_client, member, sandbox_team
):
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data(batch="3", prompt="three foxes"), **HX)
    html = response.content.decode()
    generation = Generation.objects.get()
    assert generation.author == member and generation.batch == 3
    jobs = list(generation.jobs.all())
    assert len(jobs) == 3 and {j.state for j in jobs} == {State.DRAFT}
    # The fresh form first, then the three cards into the top of the grid; the page's poller
    # is told to poll at once, and so follows them.
    assert html.lstrip().startswith('<form id="generate-form"')
    assert 'hx-swap-oob="afterbegin:#gallery-grid"' in html
    assert sorted(card_codes(html)) == sorted(str(j.code) for j in jobs)
    assert html.count('name="pending"') == 3
    assert "poll-now" in response["HX-Trigger-After-Settle"]
    assert "Started 3 images" in html
    # The prompt and the settings stay, to refine and generate again.
    assert "three foxes</textarea>" in html
    assert re.search(r'value="1080p"[^>]*checked', html)


def test_a_valid_submit_without_htmx_redirects_back_to_the_studio(member_client, sandbox_team):
    url = reverse("studio_generate", args=[sandbox_team.code])
    response = member_client.post(url, form_data())
    assert response.status_code == 302 and response.url == studio_url(sandbox_team)
    assert Job.objects.count() == 1


def test_a_team_without_a_key_refuses_to_generate(member_client, team_a):
    url = reverse("studio_generate", args=[team_a.code])
    html = member_client.post(url, form_data(), **HX).content.decode()
    assert "no Akool API key" in html
    assert Generation.objects.count() == 0


def test_a_viewer_sees_no_form_and_cannot_post(viewer_client, sandbox_team, owner):
    make_image(sandbox_team, owner)
    html = viewer_client.get(studio_url(sandbox_team)).content.decode()
    assert 'id="generate-form"' not in html and "View only" in html
    assert "image_delete" not in html and "/delete/" not in html
    assert "/retry/" not in html
    response = viewer_client.post(reverse("studio_generate", args=[sandbox_team.code]), form_data())
    assert response.status_code == 403
    assert Generation.objects.filter(prompt="a lighthouse at dawn").count() == 0


def test_the_estimate_is_credits_per_image_times_batch(member_client, sandbox_team):
    assert estimate_credits("1080p", 3) == 3 * CREDITS_PER_IMAGE["1080p"]
    assert estimate_credits("4k", "4") == 4 * CREDITS_PER_IMAGE["4k"]
    assert estimate_credits("nonsense", "x") == max(CREDITS_PER_IMAGE.values())
    url = reverse("studio_estimate", args=[sandbox_team.code])
    html = member_client.get(url, {"resolution": "4k", "batch": "3"}, **HX).content.decode()
    assert f"{3 * CREDITS_PER_IMAGE['4k']} credits" in html and 'id="estimate"' in html


def test_rerun_prefills_the_form_with_the_generation(member_client, sandbox_team, owner):
    job = make_image(sandbox_team, owner, prompt="an owl in snow", resolution="1080p")
    html = member_client.get(studio_url(sandbox_team, rerun=job.generation.code)).content.decode()
    assert "an owl in snow</textarea>" in html
    assert re.search(r'value="1080p"[^>]*checked', html)


def test_use_as_source_prefills_image_to_image_with_a_signed_link_that_works(
    member_client, client, sandbox_team, owner
):
    job = make_image(sandbox_team, owner, files=True)
    html = member_client.get(studio_url(sandbox_team, source=job.code)).content.decode()
    assert re.search(r'value="i2i"[^>]*checked', html)
    link = re.search(r'name="source_url" value="([^"]+)"', html).group(1)
    path = urlparse(link).path
    assert path.startswith("/source/")
    # Akool fetches it without signing in.
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client.get("/source/not-a-token/").status_code == 404
    # The form shows which image it is.
    assert reverse("image_file", args=[sandbox_team.code, job.code, "thumb"]) in html


@at(*SOME)
def test_a_use_as_source_link_works_for_its_lifetime_and_then_stops(
    instant, time_machine, member_client, client, sandbox_team, owner
):
    job = make_image(sandbox_team, owner, files=True)
    html = member_client.get(studio_url(sandbox_team, source=job.code)).content.decode()
    link = re.search(r'name="source_url" value="([^"]+)"', html).group(1)
    path = urlparse(link).path
    # The link's lifetime of real time, whatever the clocks do meanwhile.
    time_machine.move_to(instant.utc + source_links.LIFETIME - timedelta(seconds=1), tick=False)
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    time_machine.move_to(instant.utc + source_links.LIFETIME + timedelta(seconds=1), tick=False)
    assert client.get(path).status_code == 404
    # Still recognised as the team's own image, so a form left open gets a fresh link.
    assert source_links.source_for_url(link, sandbox_team) == job


# --- the gallery -----------------------------------------------------------------------------


def test_the_gallery_pages_by_keyset_with_no_overlap(member_client, sandbox_team, owner):
    jobs = many_jobs(sandbox_team, owner, 60)
    newest_first = [str(j.code) for j in reversed(jobs)]

    html = member_client.get(studio_url(sandbox_team)).content.decode()
    first = card_codes(html)
    assert first == newest_first[:24]
    next_url = next_page_url(html)
    assert 'hx-trigger="revealed"' in html
    assert "offset" not in next_url and "page=" not in next_url

    html = member_client.get(next_url, **HX).content.decode()
    second = card_codes(html)
    assert second == newest_first[24:48]
    assert not set(first) & set(second)

    next_url = next_page_url(html)
    html = member_client.get(next_url, **HX).content.decode()
    assert card_codes(html) == newest_first[48:]
    assert 'id="load-more"' not in html


def test_load_more_without_htmx_is_the_full_page_at_that_point(member_client, sandbox_team, owner):
    many_jobs(sandbox_team, owner, 30)
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    href = re.search(r'id="load-more".*?<a [^>]*href="([^"]+)"', html, re.S).group(1)
    html = member_client.get(href.replace("&amp;", "&")).content.decode()
    assert "<html" in html and len(card_codes(html)) == 6


def test_a_tampered_cursor_is_ignored(member_client, sandbox_team, owner):
    many_jobs(sandbox_team, owner, 30)
    html = member_client.get(studio_url(sandbox_team, before="1999-01-01|5")).content.decode()
    assert len(card_codes(html)) == 24


def gallery_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_gallery_page_costs_the_same_queries_however_many_jobs(
    member_client, sandbox_team, owner, member, django_assert_max_num_queries
):
    many_jobs(sandbox_team, owner, 30, files=False)
    Favourite.objects.create(user=member, job=Job.objects.first())
    small = gallery_queries(member_client, studio_url(sandbox_team))
    many_jobs(sandbox_team, member, 90)
    with django_assert_max_num_queries(small):
        member_client.get(studio_url(sandbox_team))
    with django_assert_max_num_queries(small):
        member_client.get(studio_url(sandbox_team, q="picture", status="done"))


def test_done_cards_use_the_thumbnail_lazily_with_its_size(member_client, sandbox_team, owner):
    job = make_image(sandbox_team, owner, prompt="a quiet harbour")
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    img = re.search(r"<img class=\"thumb\"[^>]*>", html).group(0)
    assert reverse("image_file", args=[sandbox_team.code, job.code, "thumb"]) in img
    assert 'loading="lazy"' in img and 'width="40"' in img and 'height="30"' in img
    assert 'alt="a quiet harbour"' in img and 'data-placeholder="#336699"' in img
    assert "style=" not in html


def test_dismissed_cards_are_hidden(member_client, sandbox_team, member):
    job = make_image(sandbox_team, member, state=State.FAILED, error_message="Nope.")
    Job.objects.filter(pk=job.pk).update(dismissed=True)
    assert str(job.code) not in member_client.get(studio_url(sandbox_team)).content.decode()


def test_failed_unknown_and_expired_cards_show_the_reason_and_the_right_action(
    member_client, sandbox_team, member
):
    failed = make_image(sandbox_team, member, state=State.FAILED, error_message="Bad prompt.")
    unknown = make_image(sandbox_team, member, state=State.UNKNOWN, error_message="Lost answer.")
    make_image(sandbox_team, member, state=State.EXPIRED, error_message="Link expired.")
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    for message in ("Bad prompt.", "Lost answer.", "Link expired."):
        assert message in html
    assert html.count(">Retry</button>") == 2
    assert html.count("Retry — may charge again") == 1
    unknown_card = html.split(f'id="job-{unknown.code}"')[1].split("</article>")[0]
    assert "may charge again" in unknown_card and "data-confirm" in unknown_card
    failed_card = html.split(f'id="job-{failed.code}"')[1].split("</article>")[0]
    assert "Dismiss" in failed_card


# --- filters and search ----------------------------------------------------------------------


def test_filters_and_search_narrow_the_gallery_and_stay_in_links(
    member_client, sandbox_team, owner, member
):
    mine = make_image(sandbox_team, member, prompt="my lighthouse at dusk")
    theirs = make_image(sandbox_team, owner, prompt="their lighthouse at noon", resolution="1080p")
    i2i = make_image(sandbox_team, owner, prompt="a cat, restyled", mode="i2i")
    failed = make_image(sandbox_team, owner, prompt="broken", state=State.FAILED)
    pending = make_image(sandbox_team, owner, prompt="coming soon", state=State.PROCESSING)

    def codes(**query):
        return set(
            card_codes(member_client.get(studio_url(sandbox_team, **query)).content.decode())
        )

    assert codes(who="mine") == {str(mine.code)}
    assert codes(q="lighthouse") == {str(mine.code), str(theirs.code)}
    assert codes(q="LIGHTHOUSE", who="mine") == {str(mine.code)}
    assert codes(mode="i2i") == {str(i2i.code)}
    assert codes(resolution="1080p") == {str(theirs.code)}
    assert codes(status="failed") == {str(failed.code)}
    assert codes(status="pending") == {str(pending.code)}
    assert str(failed.code) not in codes(status="done")
    # A stale or wrong value is ignored rather than an error.
    assert len(codes(status="bogus", mode="x")) == 5

    html = member_client.get(studio_url(sandbox_team, q="lighthouse", who="mine")).content.decode()
    detail = reverse("image_detail", args=[sandbox_team.code, mine.code])
    assert f"{detail}?q=lighthouse&amp;who=mine" in html
    assert 'value="lighthouse"' in html  # the search box keeps its text
    assert re.search(r'<option value="mine" selected>', html)


def test_the_filter_form_gets_just_the_gallery_and_pushes_a_clean_url(
    member_client, sandbox_team, member
):
    make_image(sandbox_team, member, prompt="a red barn")
    response = member_client.get(
        studio_url(sandbox_team) + "?q=barn&who=&status=&mode=&resolution=",
        HTTP_HX_TARGET="gallery",
        **HX,
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="gallery"') and "<html" not in html
    assert response["HX-Push-Url"] == studio_url(sandbox_team, q="barn")
    assert "HX-Request" in response["Vary"]


def test_favourites_toggle_and_filter(member_client, owner_client, sandbox_team, member, owner):
    job = make_image(sandbox_team, owner)
    other = make_image(sandbox_team, owner)
    url = image_url("image_star", sandbox_team, job)
    html = member_client.post(url, {"place": "card"}, **HX).content.decode()
    assert Favourite.objects.filter(user=member, job=job).exists()
    assert html.lstrip().startswith(f'<form id="star-card-{job.code}"')
    assert 'aria-pressed="true"' in html
    # The lightbox's star is updated too only when the page says it shows it (else the
    # out-of-band swap would have no target).
    assert f'id="star-detail-{job.code}"' not in html and "hx-swap-oob" not in html
    html = member_client.post(url, {"place": "card", "twin": "1"}, **HX).content.decode()
    assert 'aria-pressed="false"' in html
    assert f'id="star-detail-{job.code}"' in html and 'hx-swap-oob="true"' in html
    html = member_client.post(url, {"place": "card"}, **HX).content.decode()
    assert 'aria-pressed="true"' in html

    def fav_codes(client):
        return set(card_codes(client.get(studio_url(sandbox_team, fav=1)).content.decode()))

    assert fav_codes(member_client) == {str(job.code)}
    assert fav_codes(owner_client) == set()  # stars are personal
    assert str(other.code) not in fav_codes(member_client)

    html = member_client.post(url, {"place": "card"}, **HX).content.decode()
    assert not Favourite.objects.filter(user=member, job=job).exists()
    assert 'aria-pressed="false"' in html
    # Without htmx it goes back where it came from.
    response = member_client.post(url, {"next": studio_url(sandbox_team, who="mine")})
    assert response.status_code == 302 and response.url == studio_url(sandbox_team, who="mine")
    response = member_client.post(url, {"next": "https://evil.example/"})
    assert response.url == studio_url(sandbox_team)
    # A bare word is not a view name to look up (that was a 500).
    for word in ("0", "studio", "logout"):
        response = member_client.post(url, {"next": word})
        assert response.status_code == 302 and response.url == studio_url(sandbox_team)


# --- the poller ------------------------------------------------------------------------------


def poll(client, team, *jobs_and_states):
    url = reverse("studio_poll", args=[team.code])
    return client.get(url, {"pending": [f"{j.code}.{s}" for j, s in jobs_and_states]}, **HX)


def test_the_poller_returns_only_changed_cards(member_client, sandbox_team, member):
    a = make_image(sandbox_team, member, state=State.QUEUED)
    b = make_image(sandbox_team, member, state=State.PROCESSING)
    c = make_image(sandbox_team, member, state=State.DONE)
    # The page saw a and b queued and c processing; b and c moved since.
    html = poll(
        member_client, sandbox_team, (a, "queued"), (b, "queued"), (c, "processing")
    ).content.decode()
    assert set(card_codes(html)) == {str(b.code), str(c.code)}
    assert html.count('hx-swap-oob="true"') == 2
    assert html.lstrip().startswith('<div id="poller"')
    assert 'hx-trigger="every 2s,' in html  # a and b are still pending
    assert "Cache-Control" in poll(member_client, sandbox_team).headers


def test_the_poller_slows_down_when_nothing_is_pending(
    member_client, sandbox_team, member, settings
):
    done = make_image(sandbox_team, member, state=State.DONE)
    html = poll(member_client, sandbox_team, (done, "storing")).content.decode()
    assert card_codes(html) == [str(done.code)]
    poller = re.search(r'<div id="poller"[^>]*>', html).group(0)
    assert f'hx-trigger="every {settings.GALLERY_SLOW_POLL_SECONDS}s,' in poller


def test_the_poller_removes_cards_that_are_gone(member_client, sandbox_team, member):
    job = make_image(sandbox_team, member, state=State.FAILED)
    code = job.code
    Job.objects.filter(pk=job.pk).update(dismissed=True)
    html = poll(member_client, sandbox_team, (job, "processing")).content.decode()
    assert f'<div id="job-{code}" hx-swap-oob="delete">' in html


def test_the_poller_ignores_other_teams_jobs(member_client, sandbox_team, team_b, outsider):
    foreign = make_image(team_b, outsider, state=State.DONE)
    html = poll(member_client, sandbox_team, (foreign, "queued")).content.decode()
    assert card_codes(html) == []


def test_a_page_with_pending_cards_polls_fast(member_client, sandbox_team, member, settings):
    make_image(sandbox_team, member, state=State.DONE)
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    slow = f'hx-trigger="every {settings.GALLERY_SLOW_POLL_SECONDS}s,'
    assert slow in re.search(r'<div id="poller"[^>]*>', html).group(0)
    pending = make_image(sandbox_team, member, state=State.SUBMITTING)
    html = member_client.get(studio_url(sandbox_team)).content.decode()
    assert 'hx-trigger="every 2s,' in re.search(r'<div id="poller"[^>]*>', html).group(0)
    assert f'name="pending" value="{pending.code}.submitting"' in html
    assert "Sending" in html and "data-elapsed" in html


# --- image view ------------------------------------------------------------------------------


def test_the_image_view_shows_everything_and_its_neighbours(member_client, sandbox_team, owner):
    older, middle, newer = many_jobs(sandbox_team, owner, 3)
    html = member_client.get(image_url("image_detail", sandbox_team, middle)).content.decode()
    assert "<html" in html and "picture number 1" in html
    newer_url = image_url("image_detail", sandbox_team, newer)
    older_url = image_url("image_detail", sandbox_team, older)
    assert f'data-nav="newer" aria-keyshortcuts="ArrowLeft" href="{newer_url}"' in html
    assert f'data-nav="older" aria-keyshortcuts="ArrowRight" href="{older_url}"' in html
    for fact in ("80 × 60 px", "1.2\xa0KB", "Olivia Owner", "Credits", "4K"):
        assert fact in html
    assert image_url("image_file", sandbox_team, middle, "preview") in html
    assert f"?rerun={middle.generation.code}" in html and f"?source={middle.code}" in html


def test_neighbours_follow_the_filter(member_client, sandbox_team, owner):
    a = make_image(sandbox_team, owner, prompt="cat one", created_at=timezone.now() - timedelta(3))
    make_image(sandbox_team, owner, prompt="dog", created_at=timezone.now() - timedelta(2))
    c = make_image(sandbox_team, owner, prompt="cat two", created_at=timezone.now() - timedelta(1))
    html = member_client.get(
        image_url("image_detail", sandbox_team, c), {"q": "cat"}
    ).content.decode()
    assert f"{image_url('image_detail', sandbox_team, a)}?q=cat" in html


def test_the_image_view_in_the_lightbox_is_the_partial(member_client, sandbox_team, owner):
    job = make_image(sandbox_team, owner)
    response = member_client.get(
        image_url("image_detail", sandbox_team, job), HTTP_HX_TARGET="lightbox-body", **HX
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="image-detail"' in html and "data-close-lightbox" in html
    assert "HX-Request" in response["Vary"]


def test_lineage_links_parent_and_children(member_client, sandbox_team, owner):
    parent = make_image(sandbox_team, owner, buttons=["U1", "U2", "V1"])
    child = make_image(sandbox_team, owner, parent=parent, button="U1")
    html = member_client.get(image_url("image_detail", sandbox_team, parent)).content.decode()
    assert image_url("image_detail", sandbox_team, child) in html and "Made from this image" in html
    html = member_client.get(image_url("image_detail", sandbox_team, child)).content.decode()
    assert image_url("image_detail", sandbox_team, parent) in html and "Upscale 1 of" in html
    # An upscale offers no more U/V buttons.
    assert 'name="button"' not in html


def test_pressing_u1_creates_a_linked_child_and_disables_u1(member_client, sandbox_team, owner):
    parent = make_image(sandbox_team, owner, buttons=["U1", "U2", "V1", "V2"])
    url = image_url("image_button", sandbox_team, parent)
    response = member_client.post(url, {"button": "U1"}, HTTP_HX_TARGET="image-detail", **HX)
    html = response.content.decode()
    child = Job.objects.get(parent=parent)
    assert child.button == "U1" and child.state == State.DRAFT
    assert html.lstrip().startswith('<div id="image-detail"')
    assert card_codes(html) == [str(child.code)]
    assert 'hx-swap-oob="afterbegin:#gallery-grid"' in html
    assert "poll-now" in response["HX-Trigger-After-Settle"]
    assert re.search(r'value="U1" class="[^"]*is-used"[^>]*disabled', html)
    assert 'title="already used"' in html
    # A second press is refused with the reason, and creates nothing.
    html = member_client.post(url, {"button": "U1"}, **HX).content.decode()
    assert "already been used" in html
    assert Job.objects.filter(parent=parent).count() == 1


def test_buttons_without_htmx_redirect_to_the_image(member_client, sandbox_team, owner):
    parent = make_image(sandbox_team, owner, buttons=["V3"])
    response = member_client.post(image_url("image_button", sandbox_team, parent), {"button": "V3"})
    assert response.status_code == 302
    assert response.url == image_url("image_detail", sandbox_team, parent)
    assert Job.objects.filter(parent=parent, button="V3").exists()


def test_retry_starts_a_fresh_job_and_drops_the_failed_card(member_client, sandbox_team, member):
    failed = make_image(sandbox_team, member, state=State.FAILED, prompt="try again please")
    response = member_client.post(image_url("image_retry", sandbox_team, failed), **HX)
    html = response.content.decode()
    failed.refresh_from_db()
    assert failed.dismissed
    fresh = Job.objects.exclude(pk=failed.pk).get()
    assert fresh.generation.prompt == "try again please" and fresh.state == State.DRAFT
    assert card_codes(html) == [str(fresh.code)]
    assert f'<div id="job-{failed.code}" hx-swap-oob="delete">' in html
    assert response["HX-Reswap"] == "none"


def test_retry_of_a_done_image_is_refused(member_client, sandbox_team, member):
    done = make_image(sandbox_team, member)
    html = member_client.post(image_url("image_retry", sandbox_team, done), **HX).content.decode()
    assert "Only failed images can be retried" in html
    assert Job.objects.count() == 1


def test_dismiss_hides_a_failed_card(member_client, sandbox_team, member):
    failed = make_image(sandbox_team, member, state=State.FAILED)
    response = member_client.post(image_url("image_dismiss", sandbox_team, failed), **HX)
    assert f'<div id="job-{failed.code}" hx-swap-oob="delete">' in response.content.decode()
    failed.refresh_from_db()
    assert failed.dismissed


# --- delete ----------------------------------------------------------------------------------


def files_of(job):
    return [job.original.path, job.thumbnail.path, job.preview.path]


def test_a_member_moves_their_own_image_to_the_trash_with_its_files_kept(
    member_client, sandbox_team, member, django_capture_on_commit_callbacks
):
    import os

    job = make_image(sandbox_team, member, files=True)
    paths = files_of(job)
    assert all(os.path.exists(p) for p in paths)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(image_url("image_delete", sandbox_team, job), **HX)
    assert response.status_code == 200
    assert f'<div id="job-{job.code}" hx-swap-oob="delete">' in response.content.decode()
    assert not Job.objects.kept().filter(pk=job.pk).exists()
    # Restorable until the trash is purged (tests/test_trash.py), so the files stay.
    assert all(os.path.exists(p) for p in paths)


def test_a_member_cannot_delete_someone_elses_image(member_client, sandbox_team, owner):
    job = make_image(sandbox_team, owner)
    response = member_client.post(image_url("image_delete", sandbox_team, job))
    assert response.status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()


def test_an_admin_deletes_anyones_image(team_admin_client, sandbox_team, member):
    job = make_image(sandbox_team, member)
    response = team_admin_client.post(image_url("image_delete", sandbox_team, job))
    assert response.status_code == 302 and not Job.objects.kept().filter(pk=job.pk).exists()


def test_a_viewer_cannot_delete(viewer_client, sandbox_team, viewer):
    job = make_image(sandbox_team, viewer)  # even one made while they were a member
    assert viewer_client.post(image_url("image_delete", sandbox_team, job)).status_code == 403


def test_a_pending_image_cannot_be_deleted(member_client, sandbox_team, member):
    job = make_image(sandbox_team, member, state=State.STORING)
    assert member_client.post(image_url("image_delete", sandbox_team, job)).status_code == 409
    assert Job.objects.filter(pk=job.pk).exists()


# --- files -----------------------------------------------------------------------------------


def test_members_get_the_files_and_the_original_downloads_with_a_good_name(
    viewer_client, sandbox_team, owner
):
    job = make_image(sandbox_team, owner, prompt="A Red Kite, over the hills at dawn!", files=True)
    thumb = viewer_client.get(image_url("image_file", sandbox_team, job, "thumb"))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert "private" in thumb["Cache-Control"]
    download = viewer_client.get(
        image_url("image_file", sandbox_team, job, "original"), {"download": "1"}
    )
    assert download["Content-Type"] == "image/png"
    name = f"akool-a-red-kite-over-the-hills-{job.code.hex[:8]}.png"
    assert download["Content-Disposition"] == f'attachment; filename="{name}"'


def test_files_of_unfinished_or_missing_images_are_404(member_client, sandbox_team, member):
    pending = make_image(sandbox_team, member, state=State.PROCESSING)
    no_files = make_image(sandbox_team, member)
    for job, kind in ((pending, "thumb"), (no_files, "preview")):
        assert (
            member_client.get(image_url("image_file", sandbox_team, job, kind)).status_code == 404
        )


def test_media_is_not_served_publicly(client, member_client, sandbox_team, member):
    job = make_image(sandbox_team, member, files=True)
    assert client.get("/media/" + job.thumbnail.name).status_code == 404
    assert member_client.get("/media/" + job.thumbnail.name).status_code == 404


# --- access ----------------------------------------------------------------------------------

STUDIO_URLS = [
    ("studio", "get", False),
    ("studio_generate", "post", False),
    ("studio_estimate", "get", False),
    ("studio_gallery", "get", False),
    ("studio_poll", "get", False),
    ("image_detail", "get", True),
    ("image_file", "get", True),
    ("image_star", "post", True),
    ("image_delete", "post", True),
    ("image_dismiss", "post", True),
    ("image_retry", "post", True),
    ("image_button", "post", True),
]


def url_for(name, team, job):
    if name == "image_file":
        return reverse(name, args=[team.code, job.code, "thumb"])
    if name.startswith("image_"):
        return reverse(name, args=[team.code, job.code])
    return reverse(name, args=[team.code])


@pytest.mark.parametrize(("name", "method", "_"), STUDIO_URLS, ids=[u[0] for u in STUDIO_URLS])
def test_outsiders_get_404_on_every_studio_url(
    outsider_client, sandbox_team, owner, name, method, _
):
    job = make_image(
        sandbox_team,
        owner,
        state=State.FAILED if name == "image_retry" else State.DONE,
        files=True,
        buttons=["U1"],
    )
    response = getattr(outsider_client, method)(url_for(name, sandbox_team, job), {"button": "U1"})
    assert response.status_code == 404
    assert Job.objects.count() == 1 and job.favourites.count() == 0


@pytest.mark.parametrize(("name", "method", "_"), STUDIO_URLS, ids=[u[0] for u in STUDIO_URLS])
def test_anonymous_people_are_sent_to_log_in(client, sandbox_team, owner, name, method, _):
    job = make_image(sandbox_team, owner)
    response = getattr(client, method)(url_for(name, sandbox_team, job))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "name", ["studio_generate", "image_delete", "image_dismiss", "image_retry", "image_button"]
)
def test_viewers_get_403_on_every_change(viewer_client, sandbox_team, owner, name):
    job = make_image(
        sandbox_team,
        owner,
        state=State.FAILED if name != "image_button" else State.DONE,
        buttons=["U1"],
    )
    response = viewer_client.post(url_for(name, sandbox_team, job), {"button": "U1"})
    assert response.status_code == 403


def test_a_job_of_another_team_is_404_even_for_members(
    member_client, sandbox_team, team_b, outsider
):
    foreign = make_image(team_b, outsider, files=True)
    url = reverse("image_detail", args=[sandbox_team.code, foreign.code])
    assert member_client.get(url).status_code == 404
    url = reverse("image_file", args=[sandbox_team.code, foreign.code, "original"])
    assert member_client.get(url).status_code == 404


def test_a_former_member_loses_access(sandbox_team, owner):
    from django.test import Client

    person = make_user("leaver@a.example", sandbox_team, Role.MEMBER)
    job = make_image(sandbox_team, owner, files=True)
    client = Client()
    client.force_login(person)
    assert client.get(image_url("image_file", sandbox_team, job, "thumb")).status_code == 200
    sandbox_team.memberships.filter(user=person).delete()
    assert client.get(image_url("image_file", sandbox_team, job, "thumb")).status_code == 404


@pytest.mark.skipif(connection.vendor != "postgresql", reason="full-text search is PostgreSQL's")
def test_on_postgresql_search_matches_word_forms(member_client, sandbox_team, member):
    fox = make_image(sandbox_team, member, prompt="A fox runs through fresh snow")
    make_image(sandbox_team, member, prompt="A harbour at dawn")
    html = member_client.get(studio_url(sandbox_team, q="foxes running")).content.decode()
    assert card_codes(html) == [str(fox.code)]


def test_use_as_source_needs_a_reachable_app_for_a_real_akool_team(
    member_client, team_a, owner, settings
):
    settings.PUBLIC_BASE_URL = ""
    team_a.backend = "akool"
    team_a.set_credentials("k" * 32)
    team_a.save()
    job = make_image(team_a, owner)
    html = member_client.get(reverse("image_detail", args=[team_a.code, job.code])).content.decode()
    assert "Use as source" not in html
    html = member_client.get(studio_url(team_a, source=job.code)).content.decode()
    assert "/source/" not in html
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    html = member_client.get(studio_url(team_a, source=job.code)).content.decode()
    assert 'value="https://studio.example.com/source/' in html


def test_viewers_may_star_because_stars_are_personal(viewer_client, viewer, sandbox_team, owner):
    job = make_image(sandbox_team, owner)
    response = viewer_client.post(image_url("image_star", sandbox_team, job), {"place": "card"})
    assert response.status_code == 302
    assert Favourite.objects.filter(user=viewer, job=job).exists()


def test_deleting_the_team_removes_its_files_but_not_other_teams(
    owner_client,
    sandbox_team,
    member,
    team_b,
    outsider,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    import os

    from django.utils.module_loading import import_string

    # Run queued tasks inline so the clean-up happens inside the test.
    monkeypatch.setattr(
        "generator.queue.async_task", lambda path, *args: import_string(path)(*args)
    )
    ours, theirs = (
        make_image(sandbox_team, member, files=True),
        make_image(team_b, outsider, files=True),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("team_delete", args=[sandbox_team.code]), {"confirm": sandbox_team.name}
        )
    assert response.status_code == 302
    assert not any(os.path.exists(p) for p in files_of(ours))
    assert all(os.path.exists(p) for p in files_of(theirs))


def test_every_card_link_resolves_to_its_own_image_action(owner_client, sandbox_team, owner):
    """Cards build their links from one reversed URL plus a suffix; each must be a real route
    for that same image (a renamed route would otherwise break silently)."""
    from django.urls import resolve

    jobs = {
        State.DONE: make_image(sandbox_team, owner),
        State.FAILED: make_image(sandbox_team, owner, state=State.FAILED),
        State.UNKNOWN: make_image(sandbox_team, owner, state=State.UNKNOWN),
    }
    html = owner_client.get(studio_url(sandbox_team)).content.decode()
    seen = set()
    for job in jobs.values():
        card = html[html.index(f'id="job-{job.code}"') :]
        card = card[: card.index("</article>")]
        for link in re.findall(r'(?:href|src|action|hx-post|hx-get)="([^"?]+)', card):
            match = resolve(link)
            assert match.kwargs["job_code"] == job.code, link
            seen.add(match.url_name + match.kwargs.get("kind", ""))
    assert seen == {
        "image_detail",
        "image_filethumb",
        "image_fileoriginal",
        "image_star",
        "image_delete",
        "image_retry",
        "image_dismiss",
    }
