"""Refuse fetches that could reach the user's own machine or network (server-side request forgery).

A search result is attacker-controlled input, so before every request, and again for every redirect hop,
the URL must be http(s) and every address its host resolves to must be globally routable: loopback,
private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 - cloud metadata - and fe80::/10),
CGNAT, multicast and reserved ranges are refused. Users can allow a host name, an IP or a CIDR range.
Checking resolved addresses (not the spelling) also catches tricks such as `http://2130706433/`; IPv6 forms
that embed an IPv4 address (mapped, compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo)
are judged by the embedded address.

DNS rebinding (the guard's lookup answers a public address, the connection's lookup a private one) is closed
by `PinnedBackend`: the connection goes to the address the guard vetted, never to a second lookup, while
the Host header and TLS SNI keep the original name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedURLError(Exception):
    """The URL is not allowed to be fetched; the message says why."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPAT = ipaddress.ip_network("::/96")


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or (ip in _COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_v4(ip)) is not None:
        if not (v4.is_global and not v4.is_multicast):
            return False
        if ip.ipv4_mapped is not None:
            return True
    return ip.is_global and not ip.is_multicast


class SSRFGuard:
    """Checks URLs against the rules above; `allow_hosts` entries are host names, IPs or CIDRs."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for h in allow_hosts:
            h = h.strip().lower()
            if not h:
                continue
            try:
                self.nets.append(ipaddress.ip_network(h.strip("[]"), strict=False))
            except ValueError:
                self.hosts.add(h)

    def _allowed_ip(self, ip: IPAddress) -> bool:
        return any(ip in n for n in self.nets if n.version == ip.version)

    async def check(self, url: str) -> list[str]:
        """Raise BlockedURLError unless `url` may be fetched; returns the vetted addresses to connect to
        (empty for a host allowed by name, which is resolved normally)."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise BlockedURLError(f"refusing {parts.scheme or 'scheme-less'} URL {url!r}: only http(s)")
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedURLError(f"refusing {url!r}: no host")
        if host in self.hosts:
            return []
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as e:
            raise BlockedURLError(f"refusing {url!r}: bad port") from e
        try:
            ips: list[IPAddress] = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as e:
                raise BlockedURLError(f"refusing {url!r}: cannot resolve {host} ({e})") from e
            ips = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        if not ips:
            raise BlockedURLError(f"refusing {url!r}: {host} has no address")
        for ip in ips:
            if not _public(ip) and not self._allowed_ip(ip):
                raise BlockedURLError(
                    f"refusing {url!r}: {host} resolves to non-public address {ip} "
                    f"(allow it with --allow-host {host})"
                )
        return [str(ip) for ip in ips]


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that connects to the addresses the guard vetted for a host.

    `pins[host]` is set by the fetcher right after `SSRFGuard.check`; a host with no pin (allowed by
    name) is connected normally. httpcore takes TLS SNI and the Host header from the URL, not from here.
    """

    def __init__(self, pins: dict[str, list[str]], inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.pins = pins
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = self.pins.get(host.lower().strip("[]")) or [host]
        error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
