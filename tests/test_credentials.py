"""Akool credentials: write-only in the UI, encrypted at rest, rotatable, testable."""

import logging

import pytest
import responses
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from generator.lib.crypto import DecryptionError
from generator.models import UNREADABLE_KEY, Backend, Generation, Team

API_KEY = "Zq8vKc3Lr7Tw1Hn5Bx9Md2Fs6Gp4Jy0A"
CLIENT_ID = "AKc2xV9bQ7tL3mN8pR1sW4y="
CREDIT_URL = "/api/open/v3/faceswap/quota/info"


def raw_columns(team):
    """The stored bytes, read past the ORM (which would decrypt them)."""
    table = connection.ops.quote_name(Team._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT api_key, client_id FROM {table} WHERE id = %s", [team.pk])
        return cursor.fetchone()


def save_key(client, team, **extra):
    data = {"backend": Backend.AKOOL, "api_key": API_KEY, "client_id": "", **extra}
    return client.post(reverse("credentials_save", args=[team.code]), data)


@pytest.fixture
def keyed_team(team_a):
    team_a.backend = Backend.AKOOL
    team_a.set_credentials(API_KEY, CLIENT_ID)
    team_a.save()
    return team_a


def flashes(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- saving ----------------------------------------------------------------------------------


def test_an_admin_saves_a_key_and_only_its_last_four_are_shown(team_admin_client, team_a):
    response = save_key(team_admin_client, team_a, client_id=CLIENT_ID, use_token_auth="on")
    assert response.status_code == 302
    team = Team.objects.get(pk=team_a.pk)
    assert (team.backend, team.api_key, team.client_id) == (Backend.AKOOL, API_KEY, CLIENT_ID)
    assert team.use_token_auth
    assert team.masked_key == "••••" + API_KEY[-4:]
    assert any(API_KEY[-4:] in m and API_KEY not in m for m in flashes(response))


def test_the_database_never_holds_the_plaintext(keyed_team):
    api_key, client_id = raw_columns(keyed_team)
    assert api_key and API_KEY not in api_key
    assert client_id and CLIENT_ID not in client_id
    assert Fernet(django_settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(api_key.encode()) == (
        API_KEY.encode()
    )


def test_the_key_is_required_for_the_real_service(owner_client, team_a):
    response = save_key(owner_client, team_a, api_key="")
    assert response.status_code == 200
    assert "Enter the API key" in response.context["credentials_form"].errors["api_key"][0]


def test_token_auth_needs_a_client_id_and_the_typed_key_is_not_echoed(owner_client, team_a):
    response = save_key(owner_client, team_a, use_token_auth="on")
    assert response.status_code == 200
    assert response.context["credentials_form"].errors["client_id"]
    assert API_KEY.encode() not in response.content
    assert not Team.objects.get(pk=team_a.pk).has_credentials


def test_a_key_with_spaces_is_refused(owner_client, team_a):
    response = save_key(owner_client, team_a, api_key="abc def")
    assert response.context["credentials_form"].errors["api_key"]


def test_choosing_the_built_in_emulator_provisions_credentials(owner_client, keyed_team, settings):
    settings.AKOOL_SANDBOX = True
    response = owner_client.post(
        reverse("credentials_save", args=[keyed_team.code]), {"backend": Backend.SANDBOX}
    )
    assert response.status_code == 302
    team = Team.objects.get(pk=keyed_team.pk)
    assert team.backend == Backend.SANDBOX
    assert team.has_credentials and team.api_key != API_KEY


def test_the_emulator_is_not_offered_when_it_is_off(owner_client, team_a, settings):
    settings.AKOOL_SANDBOX = False
    page = owner_client.get(reverse("team_settings", args=[team_a.code]))
    assert b'value="sandbox"' not in page.content
    response = owner_client.post(
        reverse("credentials_save", args=[team_a.code]), {"backend": Backend.SANDBOX}
    )
    assert response.context["credentials_form"].errors["backend"]


def test_removing_the_key(owner_client, keyed_team):
    owner_client.post(reverse("credentials_remove", args=[keyed_team.code]))
    team = Team.objects.get(pk=keyed_team.pk)
    assert not team.has_credentials
    assert (team.api_key, team.client_id, team.use_token_auth) == ("", "", False)


# --- never shown -----------------------------------------------------------------------------


def test_the_key_never_appears_in_any_page(owner_client, admin_client, keyed_team, owner, member):
    pages = [
        (owner_client, reverse("team_settings", args=[keyed_team.code])),
        (owner_client, reverse("studio", args=[keyed_team.code])),
        (owner_client, reverse("team_list")),
        (admin_client, reverse("admin:generator_team_changelist")),
        (admin_client, reverse("admin:generator_team_change", args=[keyed_team.pk])),
        (admin_client, reverse("admin:generator_membership_changelist")),
        (admin_client, reverse("admin:generator_user_change", args=[owner.pk])),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        for secret in (API_KEY, CLIENT_ID, keyed_team.webhook_token):
            assert secret.encode() not in response.content, url
    changelist = admin_client.get(reverse("admin:generator_team_changelist"))
    assert keyed_team.masked_key.encode() in changelist.content


def test_the_admin_form_cannot_touch_the_key(admin_client, keyed_team):
    url = reverse("admin:generator_team_change", args=[keyed_team.pk])
    response = admin_client.post(
        url,
        {
            "name": "Renamed",
            "backend": Backend.AKOOL,
            "time_zone": "UTC",
            "api_key": "attacker",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    team = Team.objects.get(pk=keyed_team.pk)
    assert (team.name, team.api_key) == ("Renamed", API_KEY)


def test_the_key_never_reaches_the_logs(owner_client, team_a, caplog):
    caplog.set_level(logging.DEBUG)
    save_key(owner_client, team_a)
    with responses.RequestsMock() as mock:
        mock.get(django_settings.AKOOL_BASE_URL + CREDIT_URL, json={"code": 1101, "msg": "bad"})
        owner_client.post(reverse("credentials_test", args=[team_a.code]))
    assert API_KEY not in caplog.text


# --- encryption keys -------------------------------------------------------------------------


def test_a_wrong_encryption_key_raises_instead_of_returning_ciphertext(keyed_team, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    team = Team.objects.get(pk=keyed_team.pk)  # loading is fine: only reading a secret fails
    with pytest.raises(DecryptionError):
        team.api_key  # noqa: B018
    with pytest.raises(DecryptionError):
        team.client_id  # noqa: B018
    assert team.credentials_unreadable


# --- a wrong FIELD_ENCRYPTION_KEYS: only what needs the key stops -----------------------------


@pytest.fixture
def wrong_key(keyed_team, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    return keyed_team


def test_with_a_wrong_key_every_page_still_opens(owner_client, admin_client, wrong_key):
    code = wrong_key.code
    for url in (
        reverse("team_list"),
        reverse("studio", args=[code]),
        reverse("team_settings", args=[code]),
        reverse("usage", args=[code]),
        reverse("audit_log", args=[code]),
    ):
        assert owner_client.get(url).status_code == 200, url
    assert admin_client.get(reverse("admin:generator_team_changelist")).status_code == 200
    change = reverse("admin:generator_team_change", args=[wrong_key.pk])
    assert admin_client.get(change).status_code == 200
    # Saving the team's other fields keeps the stored secrets as they were.
    before = raw_columns(wrong_key)
    team = Team.objects.get(pk=wrong_key.pk)
    team.name = "Renamed"
    team.save()
    assert raw_columns(wrong_key) == before


def test_with_a_wrong_key_admins_are_told_the_two_ways_out(owner_client, wrong_key):
    html = owner_client.get(reverse("studio", args=[wrong_key.code])).content.decode()
    assert "The Akool API key of Team A cannot be read." in html
    assert "FIELD_ENCRYPTION_KEYS" in html
    assert reverse("team_settings", args=[wrong_key.code]) + "#connection" in html
    assert "enter the API key again" in html
    assert "put the previous key back" in html


def test_with_a_wrong_key_members_are_told_to_ask_an_admin(member_client, wrong_key):
    html = member_client.get(reverse("studio", args=[wrong_key.code])).content.decode()
    assert UNREADABLE_KEY.replace("'", "&#x27;") in html
    assert "FIELD_ENCRYPTION_KEYS" not in html


def test_with_a_wrong_key_generating_is_refused_with_the_reason(member_client, wrong_key):
    url = reverse("studio_generate", args=[wrong_key.code])
    data = {"prompt": "a lighthouse", "mode": "t2i", "scale": "1:1", "resolution": "1080p"}
    html = member_client.post(url, {**data, "batch": "1"}, HTTP_HX_REQUEST="true").content
    assert UNREADABLE_KEY.replace("'", "&#x27;").encode() in html
    assert not Generation.objects.exists()


def test_with_a_wrong_key_the_balance_and_connection_test_say_why(owner_client, wrong_key):
    usage = owner_client.get(reverse("usage", args=[wrong_key.code])).content.decode()
    assert "cannot be read on this server" in usage
    response = owner_client.post(reverse("credentials_test", args=[wrong_key.code]))
    assert any("cannot be read with this server" in m for m in flashes(response))


def test_entering_the_key_again_mends_the_team(owner_client, wrong_key):
    assert save_key(owner_client, wrong_key, client_id=CLIENT_ID).status_code == 302
    team = Team.objects.get(pk=wrong_key.pk)
    assert not team.credentials_unreadable
    assert (team.api_key, team.client_id) == (API_KEY, CLIENT_ID)
    html = owner_client.get(reverse("studio", args=[team.code])).content.decode()
    assert "cannot be read" not in html


def test_putting_the_old_key_back_mends_the_team(
    owner_client, wrong_key, settings, field_encryption_keys
):
    settings.FIELD_ENCRYPTION_KEYS = [*settings.FIELD_ENCRYPTION_KEYS, *field_encryption_keys]
    assert not Team.objects.get(pk=wrong_key.pk).credentials_unreadable
    html = owner_client.get(reverse("studio", args=[wrong_key.code])).content.decode()
    assert "cannot be read" not in html


def test_rotation_re_encrypts_under_the_new_key_so_the_old_one_can_go(
    keyed_team, team_b, settings, capsys
):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = raw_columns(keyed_team)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_keys")

    assert "Re-encrypted the credentials of 1 team." in capsys.readouterr().out
    after = raw_columns(keyed_team)
    assert after != before
    assert Fernet(new_key).decrypt(after[0].encode()) == API_KEY.encode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    team = Team.objects.get(pk=keyed_team.pk)
    assert (team.api_key, team.client_id) == (API_KEY, CLIENT_ID)


def test_rotation_without_the_old_key_fails_and_changes_nothing(keyed_team, settings):
    before = raw_columns(keyed_team)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("rotate_encryption_keys")
    assert raw_columns(keyed_team) == before


# --- test connection -------------------------------------------------------------------------


def test_connection_shows_the_balance_in_the_htmx_result_box(owner_client, keyed_team):
    with responses.RequestsMock() as mock:
        call = mock.get(
            django_settings.AKOOL_BASE_URL + CREDIT_URL,
            json={"code": 1000, "msg": "OK", "data": {"credit": 12345}},
        )
        response = owner_client.post(
            reverse("credentials_test", args=[keyed_team.code]), headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
    assert call.calls[0].request.headers["x-api-key"] == API_KEY
    html = response.content.decode()
    assert "Connected — balance: 12,345 credits" in html
    assert "<html" not in html  # just the partial
    assert "HX-Request" in response["Vary"]
    assert API_KEY not in html


def test_a_rejected_key_shows_a_human_sentence(owner_client, keyed_team):
    with responses.RequestsMock() as mock:
        mock.get(
            django_settings.AKOOL_BASE_URL + CREDIT_URL,
            json={"code": 1101, "msg": "Invalid authorization"},
        )
        response = owner_client.post(
            reverse("credentials_test", args=[keyed_team.code]), headers={"HX-Request": "true"}
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "alert-error" in html
    assert "rejected the credentials" in html
    assert "Traceback" not in html and API_KEY not in html


def test_connection_test_works_without_javascript(owner_client, keyed_team):
    with responses.RequestsMock() as mock:
        mock.get(
            django_settings.AKOOL_BASE_URL + CREDIT_URL,
            json={"code": 1000, "msg": "OK", "data": {"credit": 7.5}},
        )
        response = owner_client.post(
            reverse("credentials_test", args=[keyed_team.code]), follow=True
        )
    assert response.status_code == 200
    assert "Connected — balance: 7.50 credits" in response.content.decode()


def test_an_unreachable_service_is_a_sentence_not_a_500(owner_client, keyed_team):
    # No mock: the test run refuses outbound connections, like a network outage would.
    response = owner_client.post(
        reverse("credentials_test", args=[keyed_team.code]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"alert-error" in response.content


def test_testing_without_a_key_says_so(owner_client, team_a):
    response = owner_client.post(
        reverse("credentials_test", args=[team_a.code]), headers={"HX-Request": "true"}
    )
    assert b"No API key is saved yet." in response.content
