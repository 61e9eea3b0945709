"""kickserv.wire: a host name is looked up once for the connections a level opens, and an address
that refuses gives way to the next. Real sockets on 127.0.0.1; the system resolver is counted (and,
where the test needs addresses it cannot give, answered) on the running loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from kickserv import wire
from kickserv.wire import WirePool

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
TIMEOUTS = {"timeout": {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}}


@contextlib.asynccontextmanager
async def answering(delay: float = 0.05) -> AsyncIterator[int]:
    """A server on 127.0.0.1 that answers every request OK after `delay` (so that concurrent
    requests need connections of their own); yields its port."""
    writers: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(delay)
                writer.write(OK)
                await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in writers:
            writer.transport.abort()
        await server.wait_closed()


class Lookups:
    """Counts the loop's getaddrinfo calls; answers `addresses` for every name when given."""

    def __init__(self, addresses: list[str] | None = None) -> None:
        self.names: list[str] = []
        self.fail = False  # answer as a resolver that knows no such name
        self.addresses = addresses
        self.loop = asyncio.get_running_loop()
        self._real = self.loop.getaddrinfo

    async def __call__(self, host: Any, port: Any, **options: Any) -> list[Any]:
        self.names.append(host)
        if self.fail:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if self.addresses is None:
            return await self._real(host, port, **options)
        await asyncio.sleep(0.01)  # a lookup takes a while: concurrent callers overlap it
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
            for address in self.addresses
        ]


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(addresses: list[str] | None = None) -> Lookups:
        counted = Lookups(addresses)
        monkeypatch.setattr(counted.loop, "getaddrinfo", counted)
        return counted

    return install


def new_pool() -> WirePool:
    return WirePool(ssl_context=None, max_connections=50, max_keepalive=50, keepalive_expiry=5.0)


async def get_many(pool: WirePool, host: str, port: int, count: int) -> None:
    replies = await asyncio.gather(
        *(
            pool.request(
                "GET", ("http", host, port), b"/x", [(b"Host", host.encode())], None, TIMEOUTS
            )
            for _ in range(count)
        )
    )
    assert [r.body for r in replies] == [b"ok"] * count


async def test_a_level_of_new_connections_looks_the_host_up_once(lookups):
    counted = lookups()
    pool = new_pool()
    try:
        async with answering() as port:
            await get_many(pool, "localhost", port, 12)
            assert pool.connections == 12
            assert counted.names == ["localhost"]
            await get_many(pool, "127.0.0.1", port, 3)  # an address: no lookup
            assert counted.names == ["localhost"]
    finally:
        await pool.aclose()


async def test_past_its_time_a_name_is_looked_up_again(lookups, monkeypatch):
    monkeypatch.setattr(wire, "RESOLVED_FOR", 0.0)
    counted = lookups()
    pool = new_pool()
    try:
        async with answering() as port:
            await get_many(pool, "localhost", port, 3)
            assert counted.names == ["localhost"] * 3
    finally:
        await pool.aclose()


async def test_an_address_that_refuses_gives_way_to_the_next(lookups):
    # Nothing listens on 127.0.0.2: the connection is refused there, and made on 127.0.0.1.
    counted = lookups(["127.0.0.2", "127.0.0.1"])
    pool = new_pool()
    try:
        async with answering() as port:
            await get_many(pool, "kickserv.test", port, 4)
            assert counted.names == ["kickserv.test"]
            counted.addresses = ["127.0.0.2"]
            with pytest.raises(httpx.ConnectError):
                await get_many(pool, "kickserv.other", port, 1)
            with pytest.raises(httpx.ConnectError):
                await get_many(pool, "kickserv.other", port, 1)
            # a host none of whose addresses took a connection is looked up again
            assert counted.names == ["kickserv.test", "kickserv.other", "kickserv.other"]
    finally:
        await pool.aclose()


async def test_a_failed_lookup_is_a_connect_error_and_is_not_kept(lookups):
    counted = lookups()
    counted.fail = True
    pool = new_pool()
    try:
        for _ in range(2):
            with pytest.raises(httpx.ConnectError):
                await get_many(pool, "no-such-host.invalid", 80, 1)
        assert counted.names == ["no-such-host.invalid"] * 2
        assert pool.connections == 0
    finally:
        await pool.aclose()
