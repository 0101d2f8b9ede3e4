"""The client's address: X-Forwarded-For counts only when a trusted proxy passed it on."""

import pytest
from django.test import RequestFactory

from generator.lib.client_address import client_ip


def address(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **headers))


@pytest.fixture
def trusted(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128", "10.0.0.0/8"]


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # nginx on the same host appends the address it saw
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("::1", "2001:db8::7", "2001:db8::7"),
        # whatever the client wrote itself, left of that, is ignored
        ("127.0.0.1", "192.0.2.1, 198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "not-an-address, 198.51.100.7", "198.51.100.7"),
        # a load balancer in a trusted network in front of nginx
        ("127.0.0.1", "192.0.2.1, 198.51.100.7, 10.1.2.3", "198.51.100.7"),
        # a private client is still a client
        ("127.0.0.1", "192.168.1.20", "192.168.1.20"),
        # a trusted peer that forwarded nothing is the client itself
        ("127.0.0.1", None, "127.0.0.1"),
        # every hop is ours: the leftmost is the best we know
        ("127.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2"),
        # an untrusted peer cannot choose its address
        ("203.0.113.9", "198.51.100.7", "203.0.113.9"),
        ("::ffff:203.0.113.9", "198.51.100.7", "::ffff:203.0.113.9"),
    ],
)
def test_the_client_address_through_trusted_proxies(trusted, remote, forwarded, client):
    assert address(remote, forwarded) == client


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert address("127.0.0.1", "198.51.100.7") == "127.0.0.1"
