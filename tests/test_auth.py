"""Signing in with an email address, signing out, passwords, and open sign-up."""

import re

import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse

from generator.models import User
from tests.factories import PASSWORD

NEW_PASSWORD = "another-long-passphrase-77"

# Sign-in failures and reset requests are counted per client address in the cache, which a
# Redis cache keeps between runs: every test here counts from nothing.
pytestmark = pytest.mark.usefixtures("own_cache")


def test_the_login_form_asks_for_an_email(client, db):
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert re.search(r'<label for="id_username">Email</label>', html)
    assert 'type="email"' in html


def test_signing_in_with_email_in_any_case(client, owner, team_a):
    response = client.post(
        reverse("login"), {"username": "Owner@A.example", "password": PASSWORD}, follow=True
    )
    assert get_user(client) == owner
    assert response.redirect_chain[-1][0] == reverse("studio", args=[team_a.code])


def test_a_wrong_password_is_a_clear_error(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": "nope"})
    assert response.status_code == 200
    assert b"do not match an account" in response.content
    assert not get_user(client).is_authenticated


def test_anonymous_people_are_sent_to_login(client, db):
    response = client.get(reverse("home"))
    assert response.url.startswith(reverse("login"))


def test_signing_out_is_a_post(owner_client):
    response = owner_client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("login")
    assert b"You have signed out." in response.content
    assert not get_user(owner_client).is_authenticated


def test_password_reset_mails_a_working_link(client, owner):
    response = client.post(reverse("password_reset"), {"email": "OWNER@a.example"})
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [owner.email]
    link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.url == reverse("password_reset_complete")
    assert client.login(username=owner.email, password=NEW_PASSWORD)


def test_password_reset_for_an_unknown_address_reveals_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


def test_changing_the_password(owner_client, owner):
    response = owner_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.url == reverse("password_change_done")
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)


def test_a_wrong_old_password_is_a_field_error(owner_client):
    response = owner_client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]


# --- open sign-up ----------------------------------------------------------------------------


def test_signup_is_404_unless_allowed(client, settings, db):
    settings.ALLOW_SIGNUP = False
    assert client.get(reverse("signup")).status_code == 404
    assert client.post(reverse("signup"), {"email": "a@b.example"}).status_code == 404
    assert b"Create an account" not in client.get(reverse("login")).content


def test_open_signup_creates_an_account_and_signs_in(client, settings, db):
    settings.ALLOW_SIGNUP = True
    assert b"Create an account" in client.get(reverse("login")).content
    response = client.post(
        reverse("signup"),
        {
            "email": "Fresh@Example.com",
            "name": "Fresh",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.url == reverse("team_list")
    user = User.objects.get(email="fresh@example.com")
    assert get_user(client) == user


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "OWNER@a.example"}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"password2": "mismatch"}, "password2"),
    ],
)
def test_signup_errors_are_field_errors(client, settings, owner, data, field):
    settings.ALLOW_SIGNUP = True
    payload = {
        "email": "new@example.com",
        "name": "",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        **data,
    }
    response = client.post(reverse("signup"), payload)
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert User.objects.count() == 1
