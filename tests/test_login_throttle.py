"""Sign-in throttling: five wrong passwords lock an email for a while, without checking more."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from generator import login_throttle
from tests.fixtures_people import PASSWORD

WRONG = "not-the-right-password-42"
LOCKED = "Too many failed sign-in attempts. Try again in"


@pytest.fixture(autouse=True)
def empty_cache(db):
    cache.clear()
    yield
    cache.clear()


def sign_in(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def fail_five_times(client, email):
    for _ in range(5):
        response = sign_in(client, email, WRONG)
        assert response.status_code == 200
        assert "do not match an account" in response.content.decode()
        assert WRONG not in response.content.decode()


def test_five_failures_lock_out_even_the_right_password(client, owner):
    fail_five_times(client, owner.email)
    response = sign_in(client, owner.email, PASSWORD)
    html = response.content.decode()
    assert response.status_code == 200
    assert f"{LOCKED} 15 minutes." in html
    assert "_auth_user_id" not in client.session
    assert PASSWORD not in html


def test_a_locked_out_attempt_does_not_check_the_password(client, owner, monkeypatch):
    fail_five_times(client, owner.email)
    monkeypatch.setattr(
        "django.contrib.auth.forms.authenticate",
        lambda *a, **k: pytest.fail("password checked while locked"),
    )
    assert LOCKED in sign_in(client, owner.email, PASSWORD).content.decode()


def test_the_lock_ignores_email_case_and_spaces(client, owner):
    fail_five_times(client, owner.email.upper())
    assert LOCKED in sign_in(client, f"  {owner.email} ", PASSWORD).content.decode()


def test_the_right_password_works_after_the_lockout_window(client, owner, monkeypatch):
    fail_five_times(client, owner.email)
    later = login_throttle._now() + 15 * 60 + 1
    monkeypatch.setattr(login_throttle, "_now", lambda: later)
    response = sign_in(client, owner.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(owner.pk)


def test_the_message_counts_down_the_minutes(client, owner, monkeypatch):
    fail_five_times(client, owner.email)
    later = login_throttle._now() + 14 * 60 + 30
    monkeypatch.setattr(login_throttle, "_now", lambda: later)
    assert f"{LOCKED} 1 minute." in sign_in(client, owner.email, PASSWORD).content.decode()


def test_another_email_is_not_locked_by_these_failures(client, owner, member):
    fail_five_times(client, owner.email)
    response = sign_in(client, member.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)


def test_a_successful_sign_in_clears_the_failure_count(client, owner):
    for _ in range(4):
        sign_in(client, owner.email, WRONG)
    assert sign_in(client, owner.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        sign_in(client, owner.email, WRONG)
    assert sign_in(client, owner.email, PASSWORD).status_code == 302


def test_one_address_guessing_many_emails_is_locked_out(client, owner):
    for number in range(5 * login_throttle.IP_LIMIT_FACTOR):
        sign_in(client, f"guess{number}@a.example", WRONG)
    assert LOCKED in sign_in(client, owner.email, PASSWORD).content.decode()
    other_address = sign_in(client.__class__(REMOTE_ADDR="192.0.2.7"), owner.email, PASSWORD)
    assert other_address.status_code == 302


def test_the_cache_never_holds_the_email_or_password(client, owner):
    fail_five_times(client, owner.email)
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
    assert owner.email not in dump
    assert WRONG not in dump
    assert PASSWORD not in dump
