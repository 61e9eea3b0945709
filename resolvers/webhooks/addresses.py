"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses.

Checked when an endpoint is registered or changed, and again at every delivery: the host is
resolved, every address it resolves to must be public (not private, loopback, link-local,
multicast, reserved or unspecified, IPv4-mapped ones included), and the delivery connects to the
address that was checked, never resolving again (a DNS answer that changes between the check and
the connection, "DNS rebinding", cannot send it inside). ``allow_private`` (the operator's
``GRAPH_WEBHOOK_ALLOW_PRIVATE``) lifts the address rule, not the scheme rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The URL may not receive webhooks; the message says why (safe to show the caller)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the address to connect to."""

    url: str
    host: str  # as in the URL (the Host header and TLS server name)
    address: str  # the checked IP
    port: int
    scheme: str

    @property
    def pinned_url(self) -> str:
        """``url`` with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        host = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{host}:{self.port}"
        path = parts.path or "/"
        return f"{self.scheme}://{netloc}{path}" + (f"?{parts.query}" if parts.query else "")


def check_url(url: str) -> tuple[str, str, int]:
    """The URL's (scheme, host, port) if its form is acceptable, else ``TargetRefused``."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("The URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused("Webhook URLs must use http or https.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("The URL must not carry a user name or password.")
    if parts.fragment:
        raise TargetRefused("The URL must not have a fragment.")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


async def resolve_target(url: str, allow_private: bool) -> Target:
    """Check ``url`` and resolve its host: the ``Target`` to connect to, or ``TargetRefused``."""
    scheme, host, port = check_url(url)
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            raise TargetRefused(f"The host {host!r} does not resolve.") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"The host {host!r} does not resolve.")
    if not allow_private:
        refused = [str(a) for a in addresses if not is_public(a)]
        if refused:
            raise TargetRefused(
                f"The host {host!r} resolves to a private, loopback, link-local or multicast "
                f"address ({refused[0]}); webhooks go to public addresses only."
            )
    return Target(url=url, host=host, address=str(addresses[0]), port=port, scheme=scheme)
