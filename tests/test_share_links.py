"""Share links: making, editing and revoking them by role, and the public page a link opens."""

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.urls import reverse
from django.utils import timezone

from generator.lib.login_throttle import SHARE_FAILURE_LIMIT
from generator.models import AuditAction, AuditEntry, ShareLink
from generator.views.shares import PUBLIC_CSP
from tests.factories import make_image
from tests.instants import SOME, at

PROMPT = "a secret prompt about lighthouses"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def image(team_a, member):
    return make_image(team_a, member, prompt=PROMPT, files=True)


def create(client, team, *jobs, **fields):
    data = {"codes": [str(job.code) for job in jobs], "expiry": "30d", "allow_download": "on"}
    data.update(fields)
    return client.post(reverse("share_create", args=[team.code]), data)


def made_link(client, team, *jobs, **fields):
    """Make a link through the page; returns (link, its public path)."""
    response = create(client, team, *jobs, **fields)
    assert response.status_code == 200, response.content
    link = ShareLink.objects.latest("id")
    url = response.context["link_url"]
    return link, url[url.index("/s/") :]


# --- making, editing, revoking -----------------------------------------------------------------


def test_a_member_makes_a_link_that_is_shown_once_and_stored_only_as_a_hash(
    member_client, team_a, image, member
):
    response = create(member_client, team_a, image)
    text = response.content.decode()
    link = ShareLink.objects.get()
    url = response.context["link_url"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert url in text and "shown only this once" in text
    assert token not in link.token_hash and len(token) >= 32
    assert ShareLink.objects.by_token(token) == link
    assert list(link.jobs.all()) == [image] and link.created_by == member
    assert link.expires_at == link.created_at + timedelta(days=30)
    # Not on the team's list of links, which shows everything else about it.
    listing = member_client.get(reverse("share_list", args=[team_a.code])).content.decode()
    assert token not in listing and PROMPT in listing


def test_making_a_link_is_audited_without_secrets(member_client, team_a, image):
    link, _ = made_link(member_client, team_a, image, password="hunter22")
    entry = AuditEntry.objects.get(action=AuditAction.SHARE_CREATED)
    assert entry.target == str(link.code)
    assert entry.details["protected"] is True
    assert "hunter22" not in str(entry.details)


def test_a_viewer_cannot_make_a_link(viewer_client, team_a, image):
    assert create(viewer_client, team_a, image).status_code == 403
    assert not ShareLink.objects.exists()


def test_an_outsider_cannot_share_another_teams_image(outsider_client, team_b, image):
    assert create(outsider_client, team_b, image).status_code == 404


def test_the_image_page_offers_share_to_members_but_not_to_viewers(
    member_client, viewer_client, team_a, image
):
    url = reverse("image_detail", args=[team_a.code, image.code])
    assert b'id="share-box"' in member_client.get(url).content
    assert b'id="share-box"' not in viewer_client.get(url).content


def test_never_expiring_links_need_the_team_to_allow_them(member_client, team_a, image):
    response = create(member_client, team_a, image, expiry="never")
    assert b"does not allow links that never expire" in response.content
    assert not ShareLink.objects.exists()
    page = member_client.get(reverse("image_detail", args=[team_a.code, image.code]))
    assert b'value="never"' not in page.content
    team_a.share_never_expires_allowed = True
    team_a.save()
    link, _ = made_link(member_client, team_a, image, expiry="never")
    assert link.expires_at is None


def test_members_list_their_own_links_and_admins_everyones(
    member_client, owner_client, team_a, image, owner
):
    other = make_image(team_a, owner, prompt="the owner's own picture", files=True)
    made_link(member_client, team_a, image)
    made_link(owner_client, team_a, other)
    mine = member_client.get(reverse("share_list", args=[team_a.code])).content.decode()
    assert PROMPT in mine and "the owner&#x27;s own picture" not in mine
    everyone = owner_client.get(reverse("share_list", args=[team_a.code])).content.decode()
    assert PROMPT in everyone and "the owner&#x27;s own picture" in everyone


def test_a_member_cannot_revoke_someone_elses_link_but_an_admin_can(
    member_client, owner_client, team_admin_client, team_a, image, owner
):
    link, path = made_link(owner_client, team_a, image)
    revoke = reverse("share_revoke", args=[team_a.code, link.code])
    assert member_client.post(revoke).status_code == 403
    link.refresh_from_db()
    assert link.revoked_at is None
    assert team_admin_client.post(revoke).status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.SHARE_REVOKED)
    assert entry.actor_email == "admin@a.example" and entry.target == str(link.code)


def test_editing_changes_toggles_password_and_expiry_and_is_audited(
    instant, time_machine, member_client, team_a, image
):
    link, _ = made_link(member_client, team_a, image)
    time_machine.move_to(instant.utc + timedelta(hours=3), tick=False)
    edit = reverse("share_edit", args=[team_a.code, link.code])
    response = member_client.post(
        edit, {"expiry": "1h", "password": "open sesame", "show_prompt": "on"}
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.expires_at == timezone.now() + timedelta(hours=1)
    assert link.show_prompt and not link.allow_download
    assert identify_hasher(link.password) and link.check_password("open sesame")
    entry = AuditEntry.objects.get(action=AuditAction.SHARE_EDITED)
    assert set(entry.details["changed"]) == {
        "expiry",
        "protection",
        "allow_download",
        "show_prompt",
    }
    assert "open sesame" not in str(entry.details)
    # Keeping the expiry and removing the password.
    member_client.post(edit, {"expiry": "", "remove_password": "on", "show_prompt": "on"})
    link.refresh_from_db()
    assert not link.has_password
    assert link.expires_at == timezone.now() + timedelta(hours=1)


def test_the_audit_page_filters_by_the_share_actions(owner_client, team_a, image):
    made_link(owner_client, team_a, image)
    page = owner_client.get(reverse("audit_log", args=[team_a.code]))
    for action in (
        AuditAction.SHARE_CREATED,
        AuditAction.SHARE_EDITED,
        AuditAction.SHARE_REVOKED,
        AuditAction.SHARING_CHANGED,
    ):
        assert f'value="{action.value}"'.encode() in page.content
    filtered = owner_client.get(
        reverse("audit_log", args=[team_a.code]), {"action": AuditAction.SHARE_CREATED}
    )
    assert list(filtered.context["page"].object_list) == list(AuditEntry.objects.all())


# --- the public page -----------------------------------------------------------------------------


def test_the_public_page_opens_without_login_with_its_own_strict_headers(
    member_client, client, team_a, image
):
    _, path = made_link(member_client, team_a, image)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == PUBLIC_CSP
    assert "default-src 'none'" in PUBLIC_CSP and "script-src" not in PUBLIC_CSP
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert "<script" not in text
    og = f'<meta property="og:image" content="http://testserver{path}1/preview/">'
    assert og in text
    preview = client.get(f"{path}1/preview/")
    assert preview.status_code == 200 and preview["Content-Type"] == "image/webp"
    assert "no-store" in preview["Cache-Control"]


def test_the_public_page_shows_no_team_data(member_client, client, team_a, image, member):
    other = make_image(team_a, member, prompt="another image of the team", files=True)
    _, path = made_link(member_client, team_a, image, show_prompt="on")
    text = client.get(path).content.decode()
    assert PROMPT in text
    for secret in (
        team_a.name,
        str(team_a.code),
        member.email,
        member.name,
        str(image.code),
        str(other.code),
        other.generation.prompt,
    ):
        assert secret not in text


def test_the_prompt_is_shown_only_when_the_link_says_so(member_client, client, team_a, image):
    _, hidden = made_link(member_client, team_a, image)
    text = client.get(hidden).content.decode()
    assert PROMPT not in text and "a-secret-prompt" not in text
    download = client.get(f"{hidden}1/original/")
    assert PROMPT.split()[1] not in download["Content-Disposition"]
    _, shown = made_link(member_client, team_a, image, show_prompt="on")
    assert PROMPT in client.get(shown).content.decode()


def test_download_is_offered_and_served_only_when_allowed(member_client, client, team_a, image):
    _, allowed = made_link(member_client, team_a, image)
    assert b"Download original" in client.get(allowed).content
    original = client.get(f"{allowed}1/original/")
    assert original.status_code == 200
    assert b"".join(original.streaming_content) == image.original.open("rb").read()
    assert "attachment" in original["Content-Disposition"]
    _, refused = made_link(member_client, team_a, image, allow_download="")
    assert b"Download original" not in client.get(refused).content
    assert client.get(f"{refused}1/original/").status_code == 404
    assert client.get(f"{refused}1/preview/").status_code == 200


def test_a_set_of_images_is_shown_by_place_in_the_link(
    member_client, client, team_a, image, member
):
    second = make_image(team_a, member, prompt="second", files=True)
    link, path = made_link(member_client, team_a, image, second)
    assert link.kind == "images"
    assert client.get(f"{path}2/preview/").status_code == 200
    assert client.get(f"{path}3/preview/").status_code == 404


def test_views_count_pages_but_not_files(instant, member_client, client, team_a, image):
    link, path = made_link(member_client, team_a, image)
    client.get(path)
    client.get(path)
    client.get(f"{path}1/preview/")
    link.refresh_from_db()
    assert link.views == 2 and link.last_viewed_at == timezone.now()


def test_unknown_links_are_404(client, db):
    assert client.get("/s/no-such-token-at-all/").status_code == 404
    assert client.get("/s/no-such-token-at-all/1/preview/").status_code == 404


def test_a_revoked_link_is_410(member_client, client, team_a, image):
    link, path = made_link(member_client, team_a, image)
    link.revoke()
    response = client.get(path)
    assert response.status_code == 410
    assert b"This link was revoked" in response.content
    assert response["Content-Security-Policy"] == PUBLIC_CSP
    assert client.get(f"{path}1/preview/").status_code == 404


@at(*SOME)
def test_a_link_works_until_its_expiry_and_is_410_after(
    instant, time_machine, member_client, client, team_a, image
):
    _, path = made_link(member_client, team_a, image, expiry="1d")
    time_machine.move_to(instant.utc + timedelta(hours=24, seconds=-1), tick=False)
    assert client.get(path).status_code == 200
    time_machine.move_to(instant.utc + timedelta(hours=24), tick=False)
    response = client.get(path)
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert client.get(f"{path}1/original/").status_code == 404


def test_a_deleted_image_leaves_a_clear_page(member_client, client, team_a, image):
    _, path = made_link(member_client, team_a, image)
    image.delete()
    response = client.get(path)
    assert response.status_code == 410
    assert b"The shared image was deleted" in response.content


def test_turning_sharing_off_stops_links_and_making_them(
    owner_client, member_client, client, team_a, image
):
    _, path = made_link(member_client, team_a, image)
    response = owner_client.post(
        reverse("share_settings", args=[team_a.code]), {"share_never_expires_allowed": ""}
    )
    assert response.status_code == 302
    team_a.refresh_from_db()
    assert not team_a.sharing_enabled
    entry = AuditEntry.objects.get(action=AuditAction.SHARING_CHANGED)
    assert entry.details == {"sharing_enabled": False}
    page = client.get(path)
    assert page.status_code == 404
    assert b"turned sharing off" in page.content
    assert create(member_client, team_a, image).status_code == 403
    detail = member_client.get(reverse("image_detail", args=[team_a.code, image.code]))
    assert b'id="share-box"' not in detail.content


def test_only_admins_change_the_sharing_settings(member_client, team_a):
    response = member_client.post(reverse("share_settings", args=[team_a.code]), {})
    assert response.status_code == 403
    team_a.refresh_from_db()
    assert team_a.sharing_enabled


# --- passwords -----------------------------------------------------------------------------------


def test_a_password_is_asked_first_and_remembered_for_that_link_only(
    member_client, client, team_a, image
):
    link, path = made_link(member_client, team_a, image, password="open sesame")
    assert identify_hasher(link.password) and "open sesame" not in link.password
    asked = client.get(path)
    assert b"Password needed" in asked.content and b"og:image" not in asked.content
    assert client.get(f"{path}1/preview/").status_code == 404
    assert ShareLink.objects.get().views == 0
    wrong = client.post(path, {"password": "nope"})
    assert wrong.status_code == 403 and b"not the password" in wrong.content
    right = client.post(path, {"password": "open sesame"})
    assert right.status_code == 302
    cookie = right.cookies["share_unlock"]
    assert cookie["path"] == path and cookie["httponly"]
    assert b"Download original" in client.get(path).content
    assert client.get(f"{path}1/preview/").status_code == 200
    # A new password locks out everyone who knew the old one.
    link.set_password("another one")
    link.save()
    assert b"Password needed" in client.get(path).content


def test_wrong_passwords_are_throttled_per_link_and_address(
    member_client, client, team_a, image, own_cache
):
    _, path = made_link(member_client, team_a, image, password="open sesame")
    for _ in range(SHARE_FAILURE_LIMIT):
        client.post(path, {"password": "guess"})
    refused = client.post(path, {"password": "open sesame"})
    assert b"Too many wrong passwords" in refused.content
    assert "share_unlock" not in refused.cookies
    # Another address is not held up.
    other = client.post(path, {"password": "open sesame"}, REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 302


def test_the_password_form_works_without_a_csrf_cookie_as_no_referrer_browsers_post_it(
    member_client, team_a, image
):
    from django.test import Client

    _, path = made_link(member_client, team_a, image, password="open sesame")
    browser = Client(enforce_csrf_checks=True)
    assert "csrftoken" not in browser.get(path).cookies
    response = browser.post(path, {"password": "open sesame"}, HTTP_ORIGIN="null")
    assert response.status_code == 302


def test_the_admin_never_shows_a_links_hashes(admin_client, member_client, team_a, image):
    link, _ = made_link(member_client, team_a, image, password="open sesame")
    page = admin_client.get(reverse("admin:generator_sharelink_change", args=[link.pk]))
    assert page.status_code == 200
    assert link.token_hash.encode() not in page.content
    assert link.password.encode() not in page.content


def test_a_download_carries_the_prompt_only_when_the_link_shows_it(
    member_client, client, team_a, image, member
):
    from PIL import Image

    _, hidden = made_link(member_client, team_a, image)
    stored = image.original.open("rb").read()
    assert b"".join(client.get(f"{hidden}1/original/").streaming_content) == stored

    _, shown = made_link(member_client, team_a, image, show_prompt="on")
    data = b"".join(client.get(f"{shown}1/original/").streaming_content)
    chunks = Image.open(io.BytesIO(data)).text
    assert PROMPT in chunks["parameters"]
    # Nothing the public page leaves out: who made it, the team's Akool account and credits.
    record = json.loads(chunks["akool-web"])
    assert record["prompt"] == PROMPT
    assert not {"author", "akool_id", "credits", "code"} & set(record)
    assert member.name not in data.decode("latin-1")
