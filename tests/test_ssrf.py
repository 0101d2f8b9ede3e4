"""The SSRF guard: the decision for one URL, and the session that enforces it on every
connection (parser differentials, IPv4 hidden in IPv6, DNS rebinding, redirects)."""

import io
import socket

import pytest
import requests

from generator.akool.client import AkoolClient, DownloadError, ErrorKind
from generator.lib import ssrf


@pytest.fixture
def dns(monkeypatch):
    """Names resolve from `table` ({name: [address, ...]}); lookups are counted per name."""
    table, lookups = {}, []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        lookups.append(host)
        if host not in table:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return table, lookups


# --- the decision for one URL ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        # Python's urlsplit sees example.com; urllib3 (so requests) connects to 127.0.0.1.
        "http://127.0.0.1\\@example.com/",
        "http://127.0.0.1:80\\@example.com/a.png",
        "http://example.com\\@127.0.0.1/",
        # Credentials in the link: refused, whatever host follows.
        "http://user@example.com/",
        "http://user:pw@example.com/",
        "http://example.com@127.0.0.1/",
    ],
)
def test_links_read_differently_by_the_http_client_are_refused(url, dns):
    dns[0]["example.com"] = ["93.184.216.34"]
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_public_url(url)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:7",  # NAT64 of 10.0.0.7
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "64:ff9b:1::7f00:1",  # local-use NAT64
        "64:ff9b:1:ffff::5db8:d822",  # local-use NAT64, even of a public address
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:7::1",  # 6to4 of 10.0.0.7
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::a00:7",  # IPv4-compatible 10.0.0.7
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.7",
        "2001:0:5db8:d822:0:f5ff:f5ff:fff8",  # Teredo, client 10.0.0.7
        "2001:0:a00:7::1",  # Teredo, server 10.0.0.7
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "127.0.0.1",
        "10.1.2.3",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
    ],
)
def test_private_addresses_are_refused_however_they_are_written(address, dns):
    dns[0]["wrapped.example"] = [address]
    with pytest.raises(ssrf.UnsafeURL, match="private or local"):
        ssrf.check_public_url("https://wrapped.example/a.png")
    assert not ssrf.is_public_address(address)


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:2800:220:1::1"],
)
def test_public_addresses_pass(address, dns):
    dns[0]["public.example"] = [address]
    ssrf.check_public_url("https://public.example/a.png")
    assert ssrf.is_public_address(address)


def test_one_private_address_among_public_ones_is_enough_to_refuse(dns):
    dns[0]["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_public_url("https://mixed.example/")


@pytest.mark.parametrize("url", ["ftp://example.com/a", "file:///etc/passwd", "//x/", "http://"])
def test_only_http_links_with_a_host_pass(url):
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_public_url(url)


# --- the guarded session: real requests to loopback listeners --------------------------------


def test_the_parser_differential_reaches_loopback_without_the_guard_and_not_with_it(web_server):
    inside = web_server({})
    port = inside.rsplit(":", 1)[1]
    url = f"http://127.0.0.1:{port}\\@example.com/"
    # What the guard defends against: plain requests goes to 127.0.0.1.
    requests.get(url, timeout=5)
    assert inside.requests == [("/%5C@example.com/", f"127.0.0.1:{port}")]
    with pytest.raises(ssrf.UnsafeURL):
        ssrf.check_public_url(url)
    with ssrf.guarded_session() as session, pytest.raises(ssrf.UnsafeURL):
        session.get(url, timeout=5)
    assert len(inside.requests) == 1


def test_the_session_connects_to_the_address_it_vetted_with_one_lookup(
    web_server, public_loopback, dns, monkeypatch
):
    server = web_server({"/a.png": (200, {}, b"picture")})
    port = server.rsplit(":", 1)[1]
    table, lookups = dns
    resolve = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        # Public on the first lookup, private on any later one.
        table["rebind.example"] = ["10.0.0.7"] if "rebind.example" in lookups else ["127.0.0.1"]
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with ssrf.guarded_session() as session:
        response = session.get(f"http://rebind.example:{port}/a.png", timeout=5)
    assert response.content == b"picture"
    assert lookups.count("rebind.example") == 1
    # The name, not the address, is what the server was asked for.
    assert server.requests == [("/a.png", f"rebind.example:{port}")]


def test_every_redirect_is_checked_again(web_server, public_loopback):
    inside = web_server({"/secret": (200, {}, b"internal")}, host="127.0.0.2")
    outside = web_server({"/go": (302, {"Location": f"{inside}/secret"}, b"")})
    with ssrf.guarded_session() as session, pytest.raises(ssrf.UnsafeURL):
        session.get(f"{outside}/go", timeout=5)
    assert outside.requests and inside.requests == []


def test_trusted_origins_of_the_app_may_be_private(web_server, settings):
    app = web_server({"/x": (200, {}, b"ours")})
    settings.AKOOL_SANDBOX_URL = f"{app}/sandbox/akool"
    settings.PUBLIC_BASE_URL = ""
    with ssrf.result_session(sandbox=True) as session:
        assert session.get(f"{app}/x", timeout=5).content == b"ours"
    with ssrf.result_session(sandbox=False) as session, pytest.raises(ssrf.UnsafeURL):
        session.get(f"{app}/x", timeout=5)


def test_the_session_ignores_proxy_settings_from_the_environment(web_server, monkeypatch):
    inside = web_server({"/": (200, {}, b"proxied")})
    monkeypatch.setenv("HTTP_PROXY", inside)
    with ssrf.guarded_session() as session, pytest.raises(requests.RequestException):
        session.get("http://unresolvable.invalid/", timeout=5)
    assert inside.requests == []


def test_a_result_link_to_loopback_is_a_permanent_download_failure(web_server, settings):
    """A webhook signed with the team's key still cannot make the worker fetch inside."""
    inside = web_server({"/r.png": (200, {}, b"internal")})
    settings.PUBLIC_BASE_URL = ""
    client = AkoolClient("https://akool.test", "k" * 32)
    with pytest.raises(DownloadError) as caught:
        client.download(
            f"{inside}/r.png",
            io.BytesIO(),
            max_bytes=1000,
            deadline=5,
            session=ssrf.result_session(sandbox=False),
        )
    assert caught.value.kind == ErrorKind.PERMANENT and not caught.value.expired
    assert inside.requests == []
