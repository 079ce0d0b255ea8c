"""The SSRF guard (API-2.md section 17): a hook's URL is `https://` and reaches only public
addresses, unless the operator says otherwise (`CALLGUARD_WEBHOOK_ALLOW_HTTP`,
`CALLGUARD_WEBHOOK_ALLOW_PRIVATE`).

The URL is checked when a hook is created (scheme, credentials, port, a literal address or
`localhost`), and its host is resolved and checked again at every attempt: the name is resolved
once, every address it resolves to must be public, and the attempt connects to one of exactly
those addresses (app/webhooks/delivery.py pins it), so a DNS answer that changes between the
check and the connection (rebinding) cannot reach anything else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_URL = 2048
# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The URL, or an address its host resolves to, is not one callguard delivers to."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(problem)


class Unresolved(Exception):
    """The host has no address now (an attempt that fails, and is retried)."""


def _carried(address: IPAddress) -> IPAddress | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, NAT64, 6to4, Teredo's client),
    which is where a packet to it may end up, or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _kind(address: IPAddress) -> str | None:
    for kind, hit in (
        ("a loopback", address.is_loopback),
        ("an unspecified", address.is_unspecified),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
        ("not a public", not address.is_global),
    ):
        if hit:
            return kind
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a delivery may not go to this address (None: it is public). An IPv6 address that
    carries an IPv4 one is judged by the IPv4 address it reaches."""
    carried = _carried(address)
    if carried is not None:
        kind = _kind(carried)
        return None if kind is None else f"{address} ({carried}) is {kind} address"
    kind = _kind(address)
    return None if kind is None else f"{address} is {kind} address"


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host spells literally, in any form a resolver takes (`127.1`,
    `2130706433`, `0x7f.0.0.1` are 127.0.0.1), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def checked_url(url: str, *, allow_http: bool, allow_private: bool) -> httpx.URL:
    """The URL parsed, or `Refused` with the reason: what can be known without resolving."""
    if len(url) > MAX_URL:
        raise Refused(f"longer than {MAX_URL} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise Refused(f"not a URL ({exc})") from None
    if parsed.scheme != "https" and not (allow_http and parsed.scheme == "http"):
        raise Refused("must be an https:// URL")
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise Refused("has no host")
    if parsed.userinfo:
        raise Refused("must not carry a user name or password")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise Refused("has a port out of range")
    if not allow_private:
        address = literal_address(host)
        if address is not None:
            problem = refusal(address)
            if problem is not None:
                raise Refused(problem)
        elif host == "localhost" or host.endswith((".localhost", ".localhost.")):
            raise Refused(f"{host} is a loopback name")
    return parsed


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order, once each."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    found: list[str] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) is dropped
        if address not in found:
            found.append(address)
    return found


async def addresses(
    url: httpx.URL, *, allow_private: bool, resolve: Resolver = system_resolver
) -> list[IPAddress]:
    """The addresses an attempt may connect to: the host resolved once, every address
    checked (one refused refuses them all: a name that mixes public and private answers is
    not trusted)."""
    host = url.raw_host.decode("ascii")
    literal = literal_address(host)
    if literal is not None:
        found = [literal]
    else:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found = [ipaddress.ip_address(a) for a in await resolve(host, port)]
        except (socket.gaierror, UnicodeError) as exc:
            raise Unresolved(f"{host} does not resolve ({exc})") from None
        if not found:
            raise Unresolved(f"{host} resolves to no address")
    if not allow_private:
        for address in found:
            problem = refusal(address)
            if problem is not None:
                raise Refused(problem)
    return found
