"""/healthz: public, JSON, 200 only when database, broker, a worker and storage all answer
and the stored secrets decrypt."""

import json
from datetime import UTC, datetime

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.urls import reverse
from django_q.status import Stat

# The slow checks keep their answer in the cache, which outlives a test with Redis and is
# shared with tests running at the same time: each test has a cache of its own.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("own_cache")]


@pytest.fixture
def no_worker(monkeypatch):
    # Pinned: with REDIS_URL set, a concurrent test run's cluster could otherwise be seen.
    monkeypatch.setattr(Stat, "get_all", staticmethod(lambda broker=None: []))


@pytest.fixture
def worker_running(monkeypatch):
    monkeypatch.setattr(Stat, "get_all", staticmethod(lambda broker=None: [object()]))


def get(client):
    response = client.get(reverse("healthz"))
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response, json.loads(response.content)


def assert_no_secrets(response):
    body = response.content.decode()
    assert settings.SECRET_KEY not in body
    password = settings.DATABASES["default"].get("PASSWORD")
    if password:
        assert password not in body
    for key in settings.FIELD_ENCRYPTION_KEYS:
        assert key not in body


def test_without_a_worker_reports_fail(client, db, no_worker):
    response, body = get(client)
    assert response.status_code == 503
    assert body == {
        "status": "fail",
        "checks": {
            "database": "ok",
            "broker": "ok",
            "worker": "no worker seen",
            "storage": "ok",
            "encryption": "ok",
        },
    }
    assert_no_secrets(response)


@pytest.mark.skipif(bool(settings.REDIS_URL), reason="a shared Redis may hold other clusters")
def test_no_cluster_runs_in_a_plain_test(client, db):
    response, body = get(client)
    assert response.status_code == 503
    assert body["checks"]["worker"] == "no worker seen"


def test_all_ok_with_a_worker_seen(client, db, worker_running):
    response, body = get(client)
    assert response.status_code == 200
    assert body == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "broker": "ok",
            "worker": "ok",
            "storage": "ok",
            "encryption": "ok",
        },
    }
    assert_no_secrets(response)


def test_storage_failure_names_only_the_exception_class(client, db, worker_running, monkeypatch):
    def broken_save(*args, **kwargs):
        raise PermissionError(f"cannot write /secret/path with {settings.SECRET_KEY}")

    monkeypatch.setattr(default_storage, "save", broken_save)
    response, body = get(client)
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["storage"] == "error: PermissionError"
    assert body["checks"]["database"] == "ok"
    assert "/secret/path" not in response.content.decode()
    assert_no_secrets(response)


def test_broker_failure_is_reported(client, db, worker_running, monkeypatch):
    class DeadBroker:
        def ping(self):
            raise ConnectionError("redis://:hunter2@cache:6379 refused")

    monkeypatch.setattr("generator.views.health.get_broker", lambda: DeadBroker())
    response, body = get(client)
    assert response.status_code == 503
    assert body["checks"]["broker"] == "error: ConnectionError"
    assert "hunter2" not in response.content.decode()


def test_needs_no_login_and_accepts_only_get(client, db):
    assert client.post(reverse("healthz")).status_code == 405
    assert client.get(reverse("healthz")).status_code in (200, 503)


def test_storage_check_leaves_no_file_behind(client, db, worker_running):
    get(client)
    if default_storage.exists("healthz"):
        assert default_storage.listdir("healthz")[1] == []


def test_storage_is_written_at_most_once_a_minute(client, worker_running, monkeypatch):
    saves = []
    real_save = default_storage.save

    def counting_save(*args, **kwargs):
        saves.append(args[0])
        return real_save(*args, **kwargs)

    monkeypatch.setattr(default_storage, "save", counting_save)
    with time_machine.travel(datetime(2025, 6, 1, 12, 0, tzinfo=UTC), tick=False) as clock:
        for _ in range(3):
            assert get(client)[1]["checks"]["storage"] == "ok"
        assert len(saves) == 1
        clock.shift(61)
        assert get(client)[1]["checks"]["storage"] == "ok"
        assert len(saves) == 2


def test_secrets_that_fit_no_configured_key_fail_the_encryption_check(
    client, worker_running, team_a, settings
):
    team_a.set_credentials("ak-live-0123456789", "client-0123")
    team_a.save()
    assert get(client)[1]["checks"]["encryption"] == "ok"
    cache.delete("healthz:encryption")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    response, body = get(client)
    assert_no_secrets(response)
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["encryption"] == (
        "stored secrets do not decrypt with FIELD_ENCRYPTION_KEYS"
    )
    assert body["checks"]["database"] == "ok"
