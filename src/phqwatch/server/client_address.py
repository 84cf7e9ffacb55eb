"""The client's address: the direct peer, unless that peer is a configured trusted proxy.

A forwarded header (`X-Forwarded-For` or RFC 7239 `Forwarded`, whichever `Settings.forwarded_header`
names) is read only when the direct peer is in `Settings.trusted_proxies`. Walking the header from the
right, trusted proxies are skipped and the first untrusted address is the client: everything left of it
was written by the client and may be forged. An entry that is not an IP address (`unknown`, an
obfuscated name) stops the walk at the last trusted hop, so such clients share that hop's address.

The ASGI server must not rewrite the peer itself: `SERVER_OPTIONS` turns uvicorn's own proxy-header
handling off (it believes `X-Forwarded-For` from loopback by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TypedDict

from starlette.requests import Request

IPAddress = IPv4Address | IPv6Address


class ServerOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: str


#: Keyword arguments for `uvicorn.run`/`uvicorn.Config`: the app, not uvicorn, decides whom to believe.
SERVER_OPTIONS: ServerOptions = {"proxy_headers": False, "forwarded_allow_ips": ""}


@lru_cache(maxsize=16)
def _networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(e.strip(), strict=False) for e in entries)


def parse_ip(raw: str) -> IPAddress | None:
    """An address from a header entry or peer: quotes, `[v6]`, `:port` and IPv4-mapped IPv6 handled."""
    s = raw.strip().strip('"').strip()
    if s.startswith("["):  # [2001:db8::1]:4711
        s = s[1:].split("]", 1)[0]
    elif s.count(":") == 1:  # 192.0.2.1:8080
        s = s.split(":", 1)[0]
    try:
        ip = ip_address(s)
    except ValueError:
        return None
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def forwarded_chain(values: Sequence[str], header: str) -> list[str]:
    """The hop entries of every instance of the header, left to right (raw strings, not yet parsed)."""
    out: list[str] = []
    for value in values:
        for element in value.split(","):
            if header == "x-forwarded-for":
                out.append(element.strip())
                continue
            found = ""
            for pair in element.split(";"):
                key, _, val = pair.partition("=")
                if key.strip().lower() == "for":
                    found = val.strip()
            out.append(found)
    return out


def resolve(peer: str, chain: Sequence[str], trusted: Sequence[str]) -> str:
    """The client address given the direct `peer`, the forwarded `chain` and the trusted networks."""
    nets = _networks(tuple(trusted))
    peer_ip = parse_ip(peer)
    if peer_ip is None or not any(peer_ip in n for n in nets):
        return str(peer_ip) if peer_ip is not None else peer
    current = str(peer_ip)
    for entry in reversed(chain):
        ip = parse_ip(entry)
        if ip is None:
            return current
        current = str(ip)
        if not any(ip in n for n in nets):
            return current
    return current


def client_address(request: Request) -> str:
    """The client address of a request under the app's settings (the peer when nothing is trusted)."""
    peer = request.client.host if request.client else "unknown"
    settings = request.app.state.ctx.settings
    if not settings.trusted_proxies:
        return peer
    header = settings.forwarded_header
    return resolve(peer, forwarded_chain(request.headers.getlist(header), header), settings.trusted_proxies)
