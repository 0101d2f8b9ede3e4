"""Shared fixtures, and a network that ends at loopback for the whole test run."""

import ipaddress
import socket
import uuid

import pytest
from django.core.cache import caches

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address):
    if isinstance(address, (str, bytes)):  # unix socket path
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _is_local(address):
        raise ConnectionRefusedError(f"test run blocks outbound connections (to {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        raise ConnectionRefusedError(f"test run blocks outbound connections (to {address!r})")
    return _real_connect_ex(self, address)


def pytest_configure(config):
    # No test reaches the internet: anything but loopback or a unix socket is refused.
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex


@pytest.fixture(autouse=True)
def fresh_card_cache():
    """Rendered cards are kept per process across requests; a test starts without any, so one
    that changes a row behind the app's back (a factory's bare UPDATE) still sees it."""
    caches["fragments"].clear()


@pytest.fixture
def own_cache(settings):
    """The cache under a key prefix of this test's own, so counts and cached answers start from
    nothing without emptying a cache that other tests share (with Redis, its database also
    holds the task queue of a worker another test is running). Call it to start afresh."""

    def fresh():
        prefix = f"test-{uuid.uuid4().hex}"
        settings.CACHES = {
            name: {**config, "KEY_PREFIX": prefix} for name, config in settings.CACHES.items()
        }

    fresh()
    return fresh


# Fixtures owned by feature areas, shared by several test files.
from tests.browser import *  # noqa: E402, F403
from tests.fixtures_http import *  # noqa: E402, F403
from tests.fixtures_people import *  # noqa: E402, F403
from tests.fixtures_pipeline import *  # noqa: E402, F403
from tests.fixtures_sandbox import *  # noqa: E402, F403
from tests.instants import *  # noqa: E402, F403
