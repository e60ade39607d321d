"""Refuse fetches that could reach the user's own machine or network (server-side request forgery).

A search result is attacker-controlled input, so before every request, and again for every redirect hop,
the URL must be http(s) and every address its host resolves to must be globally routable: loopback,
private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16 - cloud metadata - and fe80::/10),
CGNAT, multicast and reserved ranges are refused. Users can allow a host name, an IP or a CIDR range.
Checking resolved addresses (not the spelling) also catches tricks such as `http://2130706433/`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedURLError(Exception):
    """The URL is not allowed to be fetched; the message says why."""


def _public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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

    async def check(self, url: str) -> None:
        """Raise BlockedURLError unless `url` may be fetched."""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise BlockedURLError(f"refusing {parts.scheme or 'scheme-less'} URL {url!r}: only http(s)")
        host = (parts.hostname or "").lower()
        if not host:
            raise BlockedURLError(f"refusing {url!r}: no host")
        if host in self.hosts:
            return
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
