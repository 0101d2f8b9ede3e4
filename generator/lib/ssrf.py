"""Guard for URLs that come from outside: they must point at the public internet.

Two kinds of URL reach a server-side fetch: links people type (Akool, or the sandbox standing in
for it, fetches them) and result links in Akool's answers and webhooks (our worker fetches
them). A URL naming a private address could make a server reach inside the company's network.

- `check_public_url(url)`: the decision for one URL (raises UnsafeURL), for form validation.
- `guarded_session(trusted=...)`: a requests session that applies the same decision to every
  connection it opens, including each redirect hop, and connects to the very address it vetted
  (no second DNS lookup a rebinding name could answer differently). `trusted` names origins of
  our own (the sandbox, this app) that are exempt.
- `result_session(sandbox)`: the session for downloading a job's result.

The URL is read with urllib3's parser, the one requests connects with, so the guard and the
client can never disagree about the host (Python's urlsplit reads `http://127.0.0.1\\@a.com/`
as a.com; urllib3 connects to 127.0.0.1).
"""

import ipaddress
import socket

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as socket_util
from urllib3.util import parse_url
from urllib3.util.url import LocationParseError

MAX_REDIRECTS = 5
PRIVATE = "The link points at a private or local address; use a public link."

# IPv6 ranges that carry an IPv4 address inside (the address is read out and checked too).
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeURL(requests.exceptions.InvalidURL):
    """A URL the guard refuses. An InvalidURL (so a ValueError, and a RequestException that
    callers of requests already handle); its text is a sentence fit to show."""


def _embedded_ipv4(address):
    """The IPv4 addresses an IPv6 address stands for (mapped, compatible, NAT64, 6to4,
    Teredo); each reaches that IPv4 host through some gateway or stack."""
    found = []
    if address.ipv4_mapped:
        found.append(address.ipv4_mapped)
    if address in NAT64 or address in IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour:
        found.append(address.sixtofour)
    if address.teredo:
        found.extend(address.teredo)  # (server, client)
    return found


def is_public_address(address):
    """Whether a server may connect to `address` (an ip_address or its text)."""
    address = ipaddress.ip_address(str(address).split("%")[0])
    embedded = _embedded_ipv4(address) if address.version == 6 else []
    if address.version == 6 and address in NAT64_LOCAL:
        return False  # local-use NAT64 (RFC 8215): the translator is ours, not public
    if embedded and not address.teredo:
        # The IPv4 address decides: these forms sit in ::/8 or 2002::/16, which ipaddress
        # calls reserved or global whatever they carry.
        return all(is_public_address(inner) for inner in embedded)
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return all(is_public_address(inner) for inner in embedded)


def parse(url):
    """(scheme, host, port) of an http(s) URL as requests will connect to it."""
    if not isinstance(url, str) or "\\" in url:
        raise UnsafeURL("The link has a backslash; write it with forward slashes.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeURL("The link has spaces or control characters.")
    try:
        parsed = parse_url(url)
    except LocationParseError:
        raise UnsafeURL("The link is not a valid URL.") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// links are accepted.")
    if parsed.auth is not None or "@" in (parsed.netloc or ""):
        raise UnsafeURL("The link has a user name or password in it; use a plain link.")
    if not parsed.host:
        raise UnsafeURL("The link has no host name.")
    port = parsed.port or (443 if scheme == "https" else 80)
    return scheme, parsed.host.strip("[]").lower(), port


def origin(url):
    """(scheme, host, port) of a URL, or None when it is not a usable http(s) URL."""
    try:
        return parse(url)
    except UnsafeURL:
        return None


def resolve_public(host, port):
    """The addresses `host` resolves to, all of them public; raises UnsafeURL otherwise.

    Every address must pass, not just the first: a name answering one public and one private
    address would otherwise reach the private one on a retry."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        raise UnsafeURL(f"The host {host} could not be found.") from None
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(is_public_address(a) for a in addresses):
        raise UnsafeURL(PRIVATE)
    return addresses


def check_public_url(url):
    """Raise UnsafeURL unless `url` is http(s) and every address its host resolves to is
    public."""
    _, host, port = parse(url)
    resolve_public(host, port)


# --- a requests session that enforces the guard on every connection -------------------------


class _PinnedMixin:
    """Resolve once, vet every address, connect to a vetted one. Host header, SNI and the
    certificate check still use the name (only the socket's address is pinned)."""

    scheme = "http"
    trusted = frozenset()

    def _new_conn(self):
        host = self._dns_host.rstrip(".").strip("[]").lower()
        if (self.scheme, host, self.port) in self.trusted:
            return super()._new_conn()
        address = resolve_public(host, self.port)[0]
        try:
            return socket_util.create_connection(
                (address, self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,
            )
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        except TimeoutError as error:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
        except OSError as error:
            raise NewConnectionError(self, f"Failed to establish a connection: {error}") from error


class GuardedAdapter(HTTPAdapter):
    """Checks each request's URL (every redirect hop comes through here) and opens
    connections only to vetted addresses, except to the `trusted` origins."""

    def __init__(self, trusted=(), **kwargs):
        self.trusted = frozenset(trusted)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        classes = {}
        for scheme, pool, conn in (
            ("http", HTTPConnectionPool, HTTPConnection),
            ("https", HTTPSConnectionPool, HTTPSConnection),
        ):
            pinned = type(
                f"Guarded{conn.__name__}",
                (_PinnedMixin, conn),
                {"scheme": scheme, "trusted": self.trusted},
            )
            classes[scheme] = type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": pinned})
        self.poolmanager.pool_classes_by_scheme = classes

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Through a proxy the proxy would resolve the name, out of the guard's sight.
        raise UnsafeURL("Fetching through a proxy is not allowed here.")

    def send(self, request, *args, **kwargs):
        parse(request.url)
        try:
            return super().send(request, *args, **kwargs)
        except requests.ConnectionError as error:
            # urllib3 wraps what the connection raised; a refusal is not a network failure
            # (retrying cannot help), so hand it back as itself.
            refusal = _refusal_in(error)
            if refusal is None:
                raise
            raise refusal from None


def _refusal_in(error):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, UnsafeURL):
            return error
        nested = [a for a in getattr(error, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(error, "reason", None)
        error = nested[0] if nested else reason or error.__cause__ or error.__context__
    return None


def guarded_session(trusted=()):
    """A requests session whose every connection passes the guard; `trusted` is a set of
    (scheme, host, port) origins of our own that may be private (see `own_origins`)."""
    session = requests.Session()
    # No proxies from the environment, no .netrc credentials.
    session.trust_env = False
    session.max_redirects = MAX_REDIRECTS
    adapter = GuardedAdapter(trusted)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def own_origins(sandbox=False):
    """Origins of this app: its public address, and with `sandbox` the built-in emulator's
    address (it runs inside this app and may well be loopback)."""
    urls = [settings.PUBLIC_BASE_URL]
    if sandbox:
        urls.append(settings.AKOOL_SANDBOX_URL)
    return {o for o in map(origin, filter(None, urls)) if o}


def result_session(sandbox):
    """The session to download a job's result with (Akool's CDN link from a poll or a
    webhook). A sandbox team's results come from the emulator inside this app, so its
    origin is trusted; anything else must be public."""
    return guarded_session(trusted=own_origins(sandbox=sandbox))
