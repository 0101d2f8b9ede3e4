"""Sign-in throttling: guessing slows down per account and stops per address, without letting
an attacker keep the owner out; password-reset requests are limited without revealing accounts.

Clients come through the documented proxy (127.0.0.1, a trusted proxy) and are told apart by
X-Forwarded-For. The clock is pinned: every wait below is moved past, never slept through.
"""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user
from django.core import mail
from django.test import Client
from django.urls import reverse

from generator.lib import login_throttle
from tests.factories import PASSWORD

WRONG = "not-the-right-password-42"
NEW_PASSWORD = "a-fresh-and-unusual-passphrase-9"
WAIT = "Too many failed sign-in attempts. Try again in"
PROXY = "127.0.0.1"
ATTACKER = "198.51.100.66"
OWNER_HOME = "203.0.113.10"
START = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache")]


@pytest.fixture(autouse=True)
def behind_the_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]


@pytest.fixture(autouse=True)
def quick_hashes(settings, owner, member):
    # These tests check hundreds of wrong passwords; the real hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for user in (owner, member):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def browser(address):
    """A browser at `address`, reaching the app through the trusted proxy."""
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


def sign_in(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def text(response):
    return response.content.decode()


def fail(client, email, times):
    for _ in range(times):
        response = sign_in(client, email, WRONG)
        assert response.status_code == 200
        assert "do not match an account" in text(response)
        assert WRONG not in text(response)


def signed_in_as(client, user):
    return get_user(client).pk == user.pk


# --- per account: growing waits --------------------------------------------------------------


def test_after_five_failures_the_next_attempt_waits_and_is_not_checked(owner, clock, monkeypatch):
    attacker = browser(ATTACKER)
    fail(attacker, owner.email, 5)
    monkeypatch.setattr(
        "django.contrib.auth.forms.authenticate",
        lambda *a, **k: pytest.fail("password checked while waiting"),
    )
    response = sign_in(attacker, owner.email, PASSWORD)
    assert response.status_code == 200
    assert f"{WAIT} 1 second." in text(response)
    assert PASSWORD not in text(response)
    assert not signed_in_as(attacker, owner)


def test_the_waits_double_with_every_failure_up_to_the_maximum(owner, clock, settings):
    settings.LOGIN_DELAY_MAX_SECONDS = 20
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 1000
    attacker = browser(ATTACKER)
    fail(attacker, owner.email, 5)
    waits = []
    for _ in range(7):
        wait = login_throttle.sign_in_wait(owner.email, ATTACKER)
        assert re.search(rf"{WAIT} \d+ seconds?\.", text(sign_in(attacker, owner.email, WRONG)))
        waits.append(wait)
        clock.shift(wait)
        fail(attacker, owner.email, 1)
    assert waits == [1, 2, 4, 8, 16, 20, 20]


def test_the_right_password_works_once_the_wait_is_over(owner, clock):
    home = browser(OWNER_HOME)
    fail(home, owner.email, 5)
    clock.shift(1)
    fail(home, owner.email, 1)
    assert f"{WAIT} 2 seconds." in text(sign_in(home, owner.email, PASSWORD))
    clock.shift(2)
    assert sign_in(home, owner.email, PASSWORD).status_code == 302
    assert signed_in_as(home, owner)


def test_the_wait_ignores_email_case_and_spaces(owner, clock):
    attacker = browser(ATTACKER)
    fail(attacker, owner.email.upper(), 5)
    assert WAIT in text(sign_in(browser(OWNER_HOME), f"  {owner.email} ", PASSWORD))


def test_another_email_does_not_wait_for_these_failures(owner, member, clock):
    attacker = browser(ATTACKER)
    fail(attacker, owner.email, 5)
    assert sign_in(attacker, member.email, PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_failure_count(owner, clock):
    home = browser(OWNER_HOME)
    fail(home, owner.email, 4)
    assert sign_in(home, owner.email, PASSWORD).status_code == 302
    home.logout()
    fail(home, owner.email, 4)
    assert sign_in(home, owner.email, PASSWORD).status_code == 302


# --- the attacker cannot keep the owner out --------------------------------------------------


def test_an_attacker_hammering_an_account_does_not_keep_its_owner_out(owner, clock, settings):
    attacker = browser(ATTACKER)
    for _ in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT + 10):
        sign_in(attacker, owner.email, WRONG)
    # The owner, elsewhere, waits out the account's short wait, not a lockout.
    home = browser(OWNER_HOME)
    response = sign_in(home, owner.email, PASSWORD)
    assert f"{WAIT} 1 second." in text(response)
    clock.shift(1)
    assert sign_in(home, owner.email, PASSWORD).status_code == 302
    assert signed_in_as(home, owner)
    # The attacker's address stays shut out, even with the right password.
    response = sign_in(attacker, owner.email, PASSWORD)
    assert f"{WAIT} 15 minutes." in text(response)
    assert not signed_in_as(attacker, owner)


def test_a_patient_attacker_gets_a_guess_per_maximum_wait_and_the_owner_no_longer_wait(
    owner, clock, settings
):
    attacker = browser(ATTACKER)
    waits = []
    for _ in range(20):
        wait = login_throttle.sign_in_wait(owner.email, ATTACKER)
        waits.append(wait)
        clock.shift(wait)
        fail(attacker, owner.email, 1)
    assert waits[-3:] == [settings.LOGIN_DELAY_MAX_SECONDS] * 3
    home = browser(OWNER_HOME)
    assert WAIT in text(sign_in(home, owner.email, PASSWORD))
    clock.shift(login_throttle.sign_in_wait(owner.email, OWNER_HOME))
    assert sign_in(home, owner.email, PASSWORD).status_code == 302


def test_many_addresses_guessing_one_account_still_only_slow_it_down(owner, clock, settings):
    settings.LOGIN_DELAY_MAX_SECONDS = 60
    for number in range(30):
        guesser = browser(f"192.0.2.{number + 1}")
        clock.shift(login_throttle.sign_in_wait(owner.email, f"192.0.2.{number + 1}"))
        fail(guesser, owner.email, 1)
    wait = login_throttle.sign_in_wait(owner.email, OWNER_HOME)
    assert 0 < wait <= 60
    clock.shift(wait)
    assert sign_in(browser(OWNER_HOME), owner.email, PASSWORD).status_code == 302


# --- per address -----------------------------------------------------------------------------


def test_one_address_guessing_many_emails_is_shut_out_and_only_it(owner, clock, settings):
    attacker = browser(ATTACKER)
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        fail(attacker, f"guess{number}@a.example", 1)
    assert f"{WAIT} 15 minutes." in text(sign_in(attacker, owner.email, PASSWORD))
    assert sign_in(browser(OWNER_HOME), owner.email, PASSWORD).status_code == 302


def test_the_address_lock_ends_after_the_lockout(owner, clock, settings):
    attacker = browser(ATTACKER)
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        fail(attacker, f"guess{number}@a.example", 1)
    clock.shift(settings.LOGIN_LOCKOUT_SECONDS - 30)
    assert f"{WAIT} 30 seconds." in text(sign_in(attacker, owner.email, PASSWORD))
    clock.shift(30)
    assert sign_in(attacker, owner.email, PASSWORD).status_code == 302


def test_an_untrusted_peer_cannot_pick_its_address_with_x_forwarded_for(owner, clock, settings):
    direct = Client(REMOTE_ADDR="203.0.113.99")
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        direct.defaults["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{number + 1}"
        fail(direct, f"guess{number}@a.example", 1)
    direct.defaults["HTTP_X_FORWARDED_FOR"] = OWNER_HOME
    assert WAIT in text(sign_in(direct, owner.email, PASSWORD))
    assert sign_in(browser(OWNER_HOME), owner.email, PASSWORD).status_code == 302


def test_without_trusted_proxies_x_forwarded_for_is_ignored(owner, clock, settings):
    settings.TRUSTED_PROXIES = []
    for number in range(settings.LOGIN_ADDRESS_FAILURE_LIMIT):
        fail(browser(f"192.0.2.{number + 1}"), f"guess{number}@a.example", 1)
    # Everyone behind this proxy is one address now: that is what the setting is for.
    assert WAIT in text(sign_in(browser(OWNER_HOME), owner.email, PASSWORD))


def test_the_admin_sign_in_is_throttled_too(owner, clock):
    attacker = browser(ATTACKER)
    for _ in range(5):
        attacker.post(reverse("admin:login"), {"username": owner.email, "password": WRONG})
    response = attacker.post(reverse("admin:login"), {"username": owner.email, "password": WRONG})
    assert WAIT in text(response)


# --- password resets -------------------------------------------------------------------------


def request_reset(client, email):
    return client.post(reverse("password_reset"), {"email": email})


def reset_link(message):
    return re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)


def test_a_password_reset_clears_the_failed_sign_ins(owner, clock):
    fail(browser(ATTACKER), owner.email, 5)
    home = browser(OWNER_HOME)
    assert WAIT in text(sign_in(home, owner.email, PASSWORD))

    assert request_reset(home, owner.email).url == reverse("password_reset_done")
    form_page = home.get(reset_link(mail.outbox[-1]), follow=True)
    done = home.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.url == reverse("password_reset_complete")
    assert login_throttle.sign_in_wait(owner.email, OWNER_HOME) == 0
    assert sign_in(home, owner.email, NEW_PASSWORD).status_code == 302


def test_reset_mails_per_email_are_limited_and_the_answer_never_changes(owner, clock):
    for email in (owner.email, "nobody@example.com"):
        answers = [
            request_reset(browser(f"192.0.2.{n + 1}"), email)
            for n in range(login_throttle.RESET_PER_EMAIL + 2)
        ]
        assert {(a.status_code, a.url) for a in answers} == {(302, reverse("password_reset_done"))}
    assert len(mail.outbox) == login_throttle.RESET_PER_EMAIL
    clock.shift(login_throttle.RESET_WINDOW_SECONDS)
    request_reset(browser(OWNER_HOME), owner.email)
    assert len(mail.outbox) == login_throttle.RESET_PER_EMAIL + 1


def test_reset_requests_per_address_are_limited_alike_for_every_email(owner, clock):
    attacker = browser(ATTACKER)
    for number in range(login_throttle.RESET_PER_ADDRESS):
        assert request_reset(attacker, f"guess{number}@a.example").status_code == 302
    refused = [request_reset(attacker, email) for email in (owner.email, "nobody@example.com")]
    for response in refused:
        assert response.status_code == 200
        assert "Too many password reset requests from your network. Try again in 60 minutes." in (
            text(response)
        )
    assert mail.outbox == []
    assert request_reset(browser(OWNER_HOME), owner.email).status_code == 302
    assert len(mail.outbox) == 1


# --- what the cache holds --------------------------------------------------------------------


def test_the_cache_never_holds_the_email_address_or_password(owner, clock):
    fail(browser(ATTACKER), owner.email, 5)
    request_reset(browser(ATTACKER), owner.email)
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        server = redis.from_url(settings.REDIS_URL)
        rows = [(key, server.dump(key)) for key in server.scan_iter("*")]
    else:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT cache_key, value FROM django_cache")
            rows = cursor.fetchall()
    assert rows, "the failures were recorded somewhere"
    dump = repr(rows)
    for secret in (owner.email, ATTACKER, WRONG, PASSWORD):
        assert secret not in dump
