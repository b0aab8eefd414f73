"""Server-side request forgery guard for outgoing webhooks.

A URL is checked twice: ``check_url`` when it is given (scheme, shape, a
literal address), and ``resolve`` right before each delivery, after DNS: every
address the name resolves to must be public, and the delivery connects to the
checked address itself, so a second lookup cannot swap in another one (DNS
rebinding). Redirects are never followed. ``Allowlist`` admits networks or host
names that would be refused (tests, private deployments)."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")
CLOUD_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
EXTRA_BLOCKED = (ipaddress.ip_network("100.64.0.0/10"),)  # carrier-grade NAT
# One dot-separated part of a host written as a number: 2130706433, 0x7f000001, 0177.0.0.1.
NUMERIC_PART = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)


class UrlRefused(ValueError):
    """The URL may not be called; the message says why (safe to show the submitter)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower-cased; an IPv6 literal without brackets
    port: int
    path: str  # path and query, at least "/"

    def url_for(self, address: str) -> str:
        host = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{host}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Allowlist:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> Allowlist:
        networks, hosts = [], set()
        for entry in entries:
            text = entry.strip().lower()
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text.rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def admits(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def is_forbidden(address: IPAddress) -> bool:
    """Loopback, private, link-local, CGNAT, multicast, unspecified, reserved,
    cloud metadata, and the IPv4-mapped/compatible IPv6 forms of any of them."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return True  # a public service has no reason to hide behind these forms
        if address.packed[:12] == bytes(12):  # ::a.b.c.d (deprecated IPv4-compatible)
            return True
    return (
        address in CLOUD_METADATA
        or not address.is_global
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or any(address in net for net in EXTRA_BLOCKED)
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str, allow: Allowlist) -> Target:
    """Shape checks that need no DNS; raises UrlRefused."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise UrlRefused("the URL contains spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"the URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UrlRefused("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("the URL must not contain a user name or password")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("the URL has no host")
    if _literal(host) is None and all(NUMERIC_PART.fullmatch(p) for p in host.split(".")):
        raise UrlRefused("the host is a number in a non-standard form; write the address as a.b.c.d")
    address = _literal(host)
    if address is not None and is_forbidden(address) and not allow.admits(address) and host not in allow.hosts:
        raise UrlRefused(f"the address {address} is private, loopback, link-local or otherwise not public")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve(target: Target, allow: Allowlist, resolver: Resolver = system_resolver) -> str:
    """The address to connect to: every address of the host must be allowed."""
    literal = _literal(target.host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(target.host, target.port)]
        except (OSError, UnicodeError, ValueError) as exc:
            raise UrlRefused(f"the host {target.host!r} does not resolve: {exc}") from None
    if not addresses:
        raise UrlRefused(f"the host {target.host!r} does not resolve")
    if target.host not in allow.hosts:
        for address in addresses:
            if is_forbidden(address) and not allow.admits(address):
                raise UrlRefused(f"{target.host} resolves to {address}, which is not a public address")
    return str(addresses[0])
