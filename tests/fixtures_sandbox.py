"""Fixtures for talking to the built-in Akool sandbox, shared by every test file.

- `sandbox_account`: a provisioned sandbox account (needs the database).
- `sandbox_url`: the live server's sandbox base URL, with fast job timings and a private
  PNG cache; pending webhooks are dropped at teardown. Use with
  `@pytest.mark.django_db(transaction=True)` (the live server runs in another thread).
- `sandbox_client`: an AkoolClient for `sandbox_account` against `sandbox_url`.
- `sandbox_client_factory`: `make(api_key=..., **AkoolClient kwargs)` for more clients.

Clients made here close their HTTP sessions at teardown: a kept-alive connection pins a live
server thread, and with it a database connection that stops PostgreSQL from dropping the
test database.
"""

import pytest

__all__ = [
    "sandbox_account",
    "sandbox_cache",
    "sandbox_client",
    "sandbox_client_factory",
    "sandbox_pictures",
    "sandbox_team",
    "sandbox_url",
]


@pytest.fixture(scope="session")
def sandbox_pictures(tmp_path_factory):
    """The sandbox's painted pictures, kept for the whole run: they depend only on size,
    palette and composition, and painting them is most of what a result download costs."""
    return tmp_path_factory.mktemp("sandbox-pictures")


@pytest.fixture
def sandbox_cache(settings, tmp_path_factory, sandbox_pictures):
    """Sandbox PNGs go to a temporary folder instead of DATA_DIR/sandbox."""
    settings.SANDBOX_CACHE_DIR = tmp_path_factory.mktemp("sandbox-cache")
    (settings.SANDBOX_CACHE_DIR / "pictures").symlink_to(sandbox_pictures, True)
    return settings.SANDBOX_CACHE_DIR


@pytest.fixture
def sandbox_account(db):
    from generator.sandbox.accounts import provision_account

    return provision_account()


@pytest.fixture
def sandbox_url(live_server, settings, sandbox_cache, monkeypatch):
    from django.db import connections

    from generator.sandbox import webhooks

    # Live server threads must not keep database connections between requests: a thread
    # idling on a kept-alive client socket would otherwise hold one open past the test, and
    # PostgreSQL refuses to drop a test database that still has sessions.
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)

    settings.AKOOL_SANDBOX_URL = live_server.url + "/sandbox/akool"
    settings.SANDBOX_QUEUE_SECONDS = 0.1
    settings.SANDBOX_GENERATION_SECONDS = 0.3
    settings.SANDBOX_WEBHOOK_BACKOFF_SECONDS = 0.05
    yield settings.AKOOL_SANDBOX_URL
    # Callbacks still queued belong to this test; they must not post into the next one.
    webhooks.reset()


@pytest.fixture
def sandbox_client_factory(sandbox_url):
    import requests

    from generator.akool.client import AkoolClient, clear_token_cache

    sessions = []

    def make(api_key, **kwargs):
        kwargs.setdefault("connect_timeout", 2)
        kwargs.setdefault("read_timeout", 10)
        kwargs.setdefault("get_retries", 2)
        kwargs.setdefault("backoff", 0.01)
        session = requests.Session()
        sessions.append(session)
        return AkoolClient(sandbox_url, api_key, session=session, **kwargs)

    clear_token_cache()
    yield make
    clear_token_cache()
    for session in sessions:
        session.close()


@pytest.fixture
def sandbox_client(sandbox_client_factory, sandbox_account):
    return sandbox_client_factory(sandbox_account.api_key, client_id=sandbox_account.client_id)


@pytest.fixture
def sandbox_team(team_a):
    """Team A on the built-in sandbox, with fresh emulator credentials."""
    from tests.factories import on_sandbox

    return on_sandbox(team_a)
