"""Guard for URLs people type in: they must point at the public internet.

Akool (or our own validation) fetches these URLs; a URL naming a private address could make a
server reach inside the company's network.
"""

import ipaddress
import socket
from urllib.parse import urlparse


class UnsafeURL(ValueError):
    pass


def check_public_url(url):
    """Raise UnsafeURL unless `url` is http(s) and every address its host resolves to is public."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// links are accepted.")
    host = parsed.hostname
    if not host:
        raise UnsafeURL("The link has no host name.")
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("The link has an invalid port.") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(f"The host {host} could not be found.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global:
            raise UnsafeURL("The link points at a private or local address; use a public link.")
