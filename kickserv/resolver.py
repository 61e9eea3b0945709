"""Host names looked up once for the connections opened in a while (`kickserv.wire`'s pool).

asyncio's `create_connection` given a host name asks the system resolver itself, in the loop's
default executor (a few threads), for every connection; a level of the graph opens ~48 at once to
the same host. `Resolver` shares one lookup among them and keeps its answer for `ttl` seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from typing import Any

__all__ = ["Resolver"]


class Resolver:
    """A host name's addresses, looked up once for the connections opened within `ttl` seconds:
    the lookups of a level's new connections (48 on the dashboard's second) share one, where each
    connection would otherwise send its own to the system resolver, through a pool of a few
    threads. A failed lookup is not kept; a host none of whose addresses took a connection is
    looked up again at the next one. An IP address is used as it is."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._known: dict[tuple[str, int], tuple[float, asyncio.Future[list[Any]]]] = {}

    async def addresses(self, host: str, port: int) -> list[tuple[int, str]]:
        """(family, address) pairs to try in order."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, host)]
        key = (host, port)
        now = time.monotonic()
        known = self._known.get(key)
        if known is None or now - known[0] >= self._ttl or _failed(known[1]):
            loop = asyncio.get_running_loop()
            lookup = asyncio.ensure_future(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
            )
            self._known[key] = known = (now, lookup)
        infos = await asyncio.shield(known[1])  # one caller cancelled: the lookup goes on
        found = [(family, sockaddr[0]) for family, _, _, _, sockaddr in infos]
        if not found:
            raise OSError(f"no address found for {host}")
        return found

    def forget(self, host: str, port: int) -> None:
        self._known.pop((host, port), None)


def _failed(lookup: asyncio.Future[list[Any]]) -> bool:
    return lookup.done() and (lookup.cancelled() or lookup.exception() is not None)
