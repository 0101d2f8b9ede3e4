"""Gallery cards are rendered once per version of their row and per viewer's rights, then served
from memory: what each viewer sees must stay exactly what a fresh render shows them."""

import re

from django.test import Client
from django.urls import reverse

from generator.models import Favourite, Job, State
from generator.templatetags.card_cache import CSRF_MARK, PATH_MARK
from tests.factories import make_image, make_user


def card(html, job):
    match = re.search(rf'<article id="job-{job.code}".*?</article>', html, re.S)
    assert match, f"no card for {job.code}"
    return match.group(0)


def studio(client, team, query=""):
    response = client.get(reverse("studio", args=[team.code]) + query)
    assert response.status_code == 200
    return response.content.decode()


def test_a_cached_card_carries_this_requests_token_and_page(member_client, team_a, member):
    job = make_image(team_a, member)
    first = studio(member_client, team_a)
    second = studio(member_client, team_a, "?status=done")
    for html in (first, second):
        assert CSRF_MARK not in html and PATH_MARK not in html
    token = member_client.cookies["csrftoken"].value
    assert token
    # Every form of the card carries a valid token of this session and returns to this page.
    served = card(second, job)
    assert 'name="csrfmiddlewaretoken" value="' in served
    assert re.search(r'name="next" value="/t/[^"]+/\?status=done"', served)
    star = reverse("image_star", args=[team_a.code, job.code])
    response = member_client.post(
        star,
        {
            "csrfmiddlewaretoken": re.search(r'csrfmiddlewaretoken" value="([^"]+)"', served)[1],
            "place": "card",
        },
        enforce_csrf_checks=True,
    )
    assert response.status_code in (200, 302)
    assert Favourite.objects.filter(user=member, job=job).exists()


def test_each_viewer_sees_their_own_rights_on_a_shared_card(
    member_client, viewer_client, team_admin_client, team_a, member
):
    job = make_image(team_a, member)
    # The author sees the card first, so a cached copy with their rights exists...
    assert "delete/" in card(studio(member_client, team_a), job)
    # ...yet another member (who may generate too) and a viewer never get the delete button,
    # and an admin does.
    teammate = Client()
    teammate.force_login(make_user("second@a.example", team_a))
    assert "delete/" not in card(studio(teammate, team_a), job)
    assert "delete/" not in card(studio(viewer_client, team_a), job)
    assert "delete/" in card(studio(team_admin_client, team_a), job)
    assert "delete/" in card(studio(member_client, team_a), job)


def test_a_star_and_a_change_of_state_show_at_once(member_client, team_a, member):
    job = make_image(team_a, member, state=State.FAILED, error_message="Akool refused it.")
    assert "Akool refused it." in card(studio(member_client, team_a), job)
    fresh = Job.objects.get(pk=job.pk)
    fresh.claim(State.FAILED, State.DONE, error_message="")
    html = card(studio(member_client, team_a), job)
    assert "Akool refused it." not in html and 'data-state="done"' in html
    assert 'aria-pressed="false"' in html
    Favourite.objects.create(user=member, job=job)
    assert 'aria-pressed="true"' in card(studio(member_client, team_a), job)
