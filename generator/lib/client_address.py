"""The client's address: X-Forwarded-For is believed only as far as TRUSTED_PROXIES reach.

Anyone can send an X-Forwarded-For header, so it counts only when the connection comes from a
trusted proxy. Each proxy appends the address it received the request from; walking the chain
from the right past our own proxies, the first address that is not one of them is the client.
Whatever lies left of it was written by the client and is ignored.
"""

import ipaddress
from functools import cache

from django.conf import settings
from ipware import get_client_ip

_HEADER = ("HTTP_X_FORWARDED_FOR",)
# A chain longer than this many of our own proxies is not a real deployment.
_MAX_PROXY_HOPS = 16


@cache
def _networks(proxies):
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def _is_trusted(address, networks):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Membership across IP versions is False, never an error.
    return any(ip in network for network in networks)


def client_ip(request):
    """The address to hold a request's sender to, as a string ("" when there is none)."""
    if request is None:
        return ""
    peer = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(peer, networks):
        return peer
    client = peer
    for hops in range(_MAX_PROXY_HOPS):
        # The address `hops` places left of the chain's end; None once the chain is used up
        # (then every hop was a proxy of ours and the leftmost is the best we know).
        address, _routable = get_client_ip(
            request, proxy_count=hops, request_header_order=_HEADER, strict=False
        )
        if address is None:
            break
        client = address
        if not _is_trusted(address, networks):
            break
    return client
