"""kickserv.wire: the wire pool against real sockets. Each server is an `asyncio.start_server` on
127.0.0.1 that runs a script per connection, writing exact bytes, and is closed by the test."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest

from kickserv import http11
from kickserv.pool import PooledTransport
from kickserv.wire import MAX_HEAD, Reply, WirePool

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
TIMEOUTS = {"connect": 1.0, "read": 1.0, "write": 1.0, "pool": 1.0}

Script = Callable[["Peer"], Awaitable[None]]


class Peer:
    """One connection the server accepted: its number (0 first) and its streams."""

    def __init__(
        self,
        server: Server,
        number: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.number = number
        self.reader = reader
        self.writer = writer

    async def request(self) -> bytes:
        """The next request whole (head and Content-Length body), recorded; b"" at the end."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        request = head + await self.reader.readexactly(length)
        self.server.requests.append((self.number, request))
        return request

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def ended(self) -> bool:
        """Whether the client closed or aborted the connection (waits up to 1 s)."""
        try:
            async with asyncio.timeout(1):
                return await self.reader.read(1) == b""
        except ConnectionError:
            return True

    def reset(self) -> None:
        """Close with a RST (SO_LINGER 0), as a server whose keep-alive ran out may."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


class Server:
    """Runs `script(peer)` for each connection; `accepted` counts them, `requests` holds
    (connection number, request bytes) as read."""

    def __init__(self, script: Script, ssl_context: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.ssl = ssl_context
        self.accepted = 0
        self.peers: list[Peer] = []
        self.requests: list[tuple[int, bytes]] = []
        self.errors: list[BaseException] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.port = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = Peer(self, self.accepted, reader, writer)
        self.accepted += 1
        self.peers.append(peer)
        task = asyncio.current_task()
        assert task is not None
        self._tasks.append(task)
        try:
            await self.script(peer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        except BaseException as exc:  # seen by the test's assertions, not lost in a log
            self.errors.append(exc)
        finally:
            writer.transport.abort()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self._server.close()
        for peer in self.peers:
            peer.writer.transport.abort()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        assert not self.errors, self.errors

    @property
    def origin(self) -> tuple[str, str, int]:
        return ("https" if self.ssl else "http", "127.0.0.1", self.port)

    def seen(self, number: int | None = None) -> list[bytes]:
        return [r for n, r in self.requests if number is None or n == number]


def answering(*answers: bytes, then_close: bool = False) -> Script:
    """A script answering each request on its connection with the next of `answers` (the last
    one repeated), closing after the answers when `then_close`."""

    async def script(peer: Peer) -> None:
        for index in range(1_000):
            if not await peer.request():
                return
            await peer.send(answers[min(index, len(answers) - 1)])
            if then_close and index == len(answers) - 1:
                return

    return script


@contextlib.asynccontextmanager
async def pool_of(**options: Any) -> AsyncIterator[WirePool]:
    settings: dict[str, Any] = {
        "ssl_context": None,
        "max_connections": 10,
        "max_keepalive": 10,
        "keepalive_expiry": 5.0,
    }
    settings.update(options)
    pool = WirePool(**settings)
    try:
        yield pool
    finally:
        await pool.aclose()


async def call(
    wire_pool: WirePool,
    server: Server,
    method: str = "GET",
    target: bytes = b"/path",
    headers: list[tuple[bytes, bytes]] | None = None,
    content: bytes | None = None,
    trace: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None,
    **timeouts: float,
) -> Reply:
    extensions: dict[str, Any] = {"timeout": {**TIMEOUTS, **timeouts}}
    if trace is not None:
        extensions["trace"] = trace
    if headers is None:
        headers = [(b"Host", f"127.0.0.1:{server.port}".encode())]
        if content is not None:
            headers.append((b"Content-Length", str(len(content)).encode()))
    return await wire_pool.request(method, server.origin, target, headers, content, extensions)


async def eventually(condition: Callable[[], bool], within: float = 1.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.005)


# 1. Framing ---------------------------------------------------------------------------------


async def test_the_request_is_written_as_given_and_a_content_length_body_read():
    answer = b"HTTP/1.1 201 Created\r\nX-Id: 7\r\ncontent-length: 12\r\n\r\nhello, world"
    async with Server(answering(answer)) as server, pool_of() as pool:
        reply = await call(pool, server, "POST", b"/jobs?a=1", content=b'{"x": 1}')
    assert (reply.status, reply.reason, reply.body) == (201, b"Created", b"hello, world")
    assert reply.headers == [(b"X-Id", b"7"), (b"content-length", b"12")]
    host = f"127.0.0.1:{server.port}".encode()
    assert server.seen() == [
        b"POST /jobs?a=1 HTTP/1.1\r\nHost: " + host + b'\r\nContent-Length: 8\r\n\r\n{"x": 1}'
    ]


async def test_a_chunked_body_with_extensions_and_trailers_is_read_and_the_connection_kept():
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b'7 ; x="y"\r\n, world\r\n'
        b"0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n"
    )
    async with Server(answering(answer, OK)) as server, pool_of() as pool:
        first = await call(pool, server)
        second = await call(pool, server)
        assert (pool.connections, pool.idle) == (1, 1)
    assert first.body == b"hello, world"
    assert second.body == b"ok"  # the trailers were read to their end: the next answer is whole
    assert server.accepted == 1


def h11_reads(answer: bytes) -> tuple[int, bytes]:
    """The status and body h11, as a client, reads from `answer` (whole, or it raises)."""
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="GET", target="/", headers=[("Host", "kickserv")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(answer)
    status, body = 0, b""
    while not isinstance(event := connection.next_event(), h11.EndOfMessage):
        assert event is not h11.NEED_DATA
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
    return status, body


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\nX-Id: 7\nContent-Length: 5\n\nhello",
        b"HTTP/1.1 200 OK\r\nX-Id: 7\nContent-Length: 5\r\n\nhello",
        b"HTTP/1.1 200 OK\nX-Id: 7\nContent-Length: 5\n\r\nhello",
        b"HTTP/1.1 200 OK\nX-Id: 7\nTransfer-Encoding: chunked\n\n5\r\nhello\r\n0\r\n\n",
        b"HTTP/1.1 200 OK\nX-Id: 7\nTransfer-Encoding: chunked\n\n"
        b"5\r\nhello\r\n0\r\nX-Trailer: 1\nX-Other: 2\r\n\n",
    ],
    ids=["lf", "mixed", "lf then crlf", "chunked", "chunked with trailers"],
)
async def test_a_head_and_trailers_with_bare_lf_line_ends_are_read_as_h11_reads_them(answer):
    async with Server(answering(answer, OK)) as server, pool_of() as pool:
        first = await call(pool, server)
        second = await call(pool, server)
        assert (pool.connections, pool.idle) == (1, 1)
    assert (first.status, first.body) == (200, b"hello")
    assert (b"X-Id", b"7") in first.headers
    assert h11_reads(answer) == (200, b"hello")  # what httpx read it as before the wire pool
    assert second.body == b"ok"  # the first answer was read to its very end: the next one is whole
    assert server.accepted == 1


async def test_a_body_until_the_close_is_read_whole_and_the_connection_not_kept():
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of")
        await asyncio.sleep(0.02)
        await peer.send(b" it")
        peer.writer.close()

    async with Server(script) as server, pool_of() as pool:
        reply = await call(pool, server)
        assert (pool.connections, pool.idle) == (0, 0)
    assert reply.body == b"all of it"


@pytest.mark.parametrize(
    ("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304), ("HEAD", 404)]
)
async def test_head_204_and_304_have_no_body_whatever_their_content_length(method, status):
    head = f"HTTP/1.1 {status} X\r\nContent-Length: 5\r\nETag: e\r\n\r\n".encode()
    async with Server(answering(head, OK)) as server, pool_of() as pool:
        first = await call(pool, server, method, read=0.5)
        second = await call(pool, server)  # the same connection: nothing was taken for a body
    assert (first.status, first.body) == (status, b"")
    assert second.body == b"ok"
    assert server.accepted == 1


async def test_informational_answers_before_the_answer_are_skipped():
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    async with Server(answering(answer)) as server, pool_of() as pool:
        reply = await call(pool, server)
        again = await call(pool, server)
    assert (reply.status, reply.headers, reply.body) == (200, [(b"Content-Length", b"2")], b"ok")
    assert again.status == 200 and server.accepted == 1


async def test_an_answer_in_tiny_writes_is_read_whole(monkeypatch):
    received: list[int] = []
    data_received = http11.Connection.data_received

    def counting(self: Any, data: bytes) -> None:
        received.append(len(data))
        data_received(self, data)

    monkeypatch.setattr(http11.Connection, "data_received", counting)
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
    body = b"3\r\nabc\r\n2;e\r\nde\r\n0\r\n\r\n"

    async def script(peer: Peer) -> None:
        peer.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await peer.request()
        for at in range(len(head)):
            await peer.send(head[at : at + 1])
            await asyncio.sleep(0.001)
        for at in range(0, len(body), 3):
            await peer.send(body[at : at + 3])
            await asyncio.sleep(0.001)
        await peer.request()
        await peer.send(OK)

    async with Server(script) as server, pool_of() as pool:
        reply = await call(pool, server)
        assert (await call(pool, server)).body == b"ok"
    assert (reply.status, reply.headers, reply.body) == (
        200,
        [(b"Transfer-Encoding", b"chunked"), (b"X-A", b"b")],
        b"abcde",
    )
    assert len(received) > len(head)  # it did arrive in pieces
    assert server.accepted == 1


# 2. Keep-alive ------------------------------------------------------------------------------


async def test_a_second_request_reuses_the_connection():
    async with Server(answering(OK)) as server, pool_of() as pool:
        for _ in range(3):
            assert (await call(pool, server)).body == b"ok"
        assert (pool.connections, pool.idle) == (1, 1)
    assert server.accepted == 1 and len(server.seen(0)) == 3


async def test_a_connection_token_that_only_contains_close_keeps_the_connection():
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: x-closed-caption\r\n\r\nok"
    async with Server(answering(answer)) as server, pool_of() as pool:
        for _ in range(2):
            assert (await call(pool, server)).body == b"ok"
        assert (pool.connections, pool.idle) == (1, 1)
    assert server.accepted == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nconnection: Keep-Alive, Close\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
    ],
    ids=["connection-close", "close-in-a-list", "http-1.0", "bytes-after-the-body"],
)
async def test_a_connection_is_not_kept_after(answer):
    async with Server(answering(answer)) as server, pool_of() as pool:
        first = await call(pool, server)
        second = await call(pool, server)
        assert (pool.connections, pool.idle) == (0, 0)
    assert first.body == second.body == b"ok"
    assert server.accepted == 2  # the server kept its side open: the client chose not to reuse


async def test_at_most_max_keepalive_connections_stay_idle():
    arrived = asyncio.Event()
    closed: list[int] = []

    async def script(peer: Peer) -> None:
        await peer.request()
        if len(server.requests) == 2:
            arrived.set()
        await arrived.wait()  # both requests open a connection of their own
        await peer.send(OK)
        while await peer.request():
            await peer.send(OK)
        closed.append(peer.number)

    async with Server(script) as server, pool_of(max_keepalive=1) as pool:
        await asyncio.gather(call(pool, server), call(pool, server))
        assert (pool.connections, pool.idle) == (1, 1)
        await eventually(lambda: len(closed) == 1)  # the client closed the other at once
        await call(pool, server)
        assert (pool.connections, pool.idle) == (1, 1)
    assert server.accepted == 2 and len(server.requests) == 3
    assert [number for number, _ in server.requests[2:]] == [1 - closed[0]]


async def test_max_keepalive_zero_and_keepalive_expiry_zero_keep_nothing():
    for options in ({"max_keepalive": 0}, {"keepalive_expiry": 0.0}):
        async with Server(answering(OK)) as server, pool_of(**options) as pool:
            await call(pool, server)
            await call(pool, server)
        assert server.accepted == 2, options


async def test_a_connection_idle_longer_than_keepalive_expiry_is_not_reused():
    async with Server(answering(OK)) as server, pool_of(keepalive_expiry=0.1) as pool:
        await call(pool, server)
        await call(pool, server)
        assert server.accepted == 1
        await asyncio.sleep(0.15)
        await call(pool, server)
        assert (pool.connections, pool.idle) == (1, 1)
    assert server.accepted == 2


# 3. Errors ----------------------------------------------------------------------------------

BROKEN = {
    "bad status line": b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
    "not http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "http/2 status line": b"HTTP/2 200\r\nContent-Length: 0\r\n\r\n",
    "folded header": b"HTTP/1.1 200 OK\r\nX-A: a\r\n  b\r\nContent-Length: 0\r\n\r\n",
    "header without a colon": b"HTTP/1.1 200 OK\r\nX-A a\r\nContent-Length: 0\r\n\r\n",
    "space before the colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "two lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "a bad length": b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
    "gzip transfer coding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
    "chunked twice": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "a bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "a chunk size int() would take": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0x2\r\nok\r\n0\r\n\r\n",
    "a signed chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"+2\r\nok\r\n0\r\n\r\n",
    "a space inside a header name": b"HTTP/1.1 200 OK\r\nX A: a\r\nContent-Length: 0\r\n\r\n",
    "a chunk without its CRLF": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nokXX0\r\n\r\n",
    "a chunk ended by a bare LF": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nok\n0\r\n\r\n",
    "switching protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
    "a head too long": b"HTTP/1.1 200 OK\r\nX-Big: "
    + b"a" * MAX_HEAD
    + b"\r\nContent-Length: 0\r\n\r\n",
    "a head too long, unfinished": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (MAX_HEAD + 10),
}


@pytest.mark.parametrize("name", list(BROKEN))
async def test_a_broken_answer_is_a_remote_protocol_error(name):
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(BROKEN[name])
        await peer.ended()  # the server does not close: the client must decide on its own

    async with Server(script) as server, pool_of() as pool:
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            await call(pool, server, read=2.0)
        assert time.monotonic() - started < 1.0  # not a read timeout in disguise
        assert (pool.connections, pool.idle) == (0, 0)
    assert server.accepted == 1


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Len",
        b"",
    ],
    ids=["length", "chunk", "chunks", "trailers", "head", "nothing"],
)
async def test_an_answer_cut_short_by_the_close_is_a_remote_protocol_error(answer):
    async with Server(answering(answer, then_close=True)) as server, pool_of() as pool:
        with pytest.raises(httpx.RemoteProtocolError):
            await call(pool, server)
        assert pool.connections == 0
    assert server.accepted == 1  # a new connection's failure is not retried, even for a GET


async def test_no_answer_in_time_is_a_read_timeout():
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.ended()

    async with Server(script) as server, pool_of() as pool:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await call(pool, server, read=0.1)
        assert 0.09 < time.monotonic() - started < 0.8
        assert pool.connections == 0
    assert server.accepted == 1


async def test_nothing_listening_is_a_connect_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refused
        async with pool_of() as pool:
            with pytest.raises(httpx.ConnectError):
                await pool.request(
                    "GET", ("http", "127.0.0.1", port), b"/", [], None, {"timeout": TIMEOUTS}
                )
            assert pool.connections == 0


@pytest.mark.parametrize(
    "header",
    [
        (b"X-A", b"a\r\nX-Injected: 1"),
        (b"X-A", b"a\nb"),
        (b"X-A", b"a\x00b"),
        (b"X-A\r\nX-B", b"c"),
        (b"", b"c"),
    ],
)
async def test_a_header_with_cr_lf_or_nul_is_refused_before_anything_is_sent(header):
    async with Server(answering(OK)) as server, pool_of() as pool:
        with pytest.raises(httpx.LocalProtocolError):
            await call(pool, server, headers=[(b"Host", b"h"), header])
        assert pool.connections == 0
        await asyncio.sleep(0.02)
    assert server.accepted == 0 and server.requests == []


# 4. A kept connection the server closed -----------------------------------------------------


def closing_the_kept_connection(how: str) -> Script:
    """Connection 0 answers one request, then ends without answering the next (`how`: "fin" or
    "rst" once it has read it, "unread" by a reset as its first bytes arrive, "at-once" by a
    close right after the answer, which the client may or may not have seen when it writes);
    the others answer each request."""

    async def script(peer: Peer) -> None:
        if peer.number != 0:
            return await answering(OK)(peer)
        await peer.request()
        await peer.send(OK)
        if how == "at-once":
            peer.writer.close()
            return
        if how == "unread":
            await peer.reader._wait_for_data("test")  # type: ignore[attr-defined]
            peer.reset()
            return
        await peer.request()
        if how == "rst":
            peer.reset()
        else:
            peer.writer.close()

    return script


@pytest.mark.parametrize("how", ["fin", "rst", "unread", "at-once"])
async def test_a_get_over_a_kept_connection_closed_unanswered_is_sent_again_once(how):
    async with Server(closing_the_kept_connection(how)) as server, pool_of() as pool:
        await call(pool, server)
        reply = await call(pool, server, target=b"/second")
        assert (pool.connections, pool.idle) == (1, 1)
    assert reply.body == b"ok"
    assert server.accepted == 2
    assert [r.split(b" ")[1] for r in server.seen(1)] == [b"/second"]


@pytest.mark.parametrize("how", ["fin", "rst", "unread"])
async def test_a_post_over_a_kept_connection_closed_unanswered_is_not_sent_again(how):
    async with Server(closing_the_kept_connection(how)) as server, pool_of() as pool:
        await call(pool, server)
        with pytest.raises(httpx.RemoteProtocolError):
            await call(pool, server, "POST", b"/jobs", content=b"{}")
        assert pool.connections == 0
        await asyncio.sleep(0.02)
    assert server.accepted == 1
    assert sum(r.startswith(b"POST") for r in server.seen()) <= 1


async def test_a_get_is_sent_again_only_once():
    async def script(peer: Peer) -> None:
        await peer.request()
        if peer.number == 0:
            await peer.send(OK)
            await peer.request()
        peer.writer.close()  # unanswered

    async with Server(script) as server, pool_of() as pool:
        await call(pool, server)
        with pytest.raises(httpx.RemoteProtocolError):
            await call(pool, server)
        assert pool.connections == 0
    assert server.accepted == 2


# 5. Pool limits -----------------------------------------------------------------------------


async def test_with_one_connection_a_second_request_waits_and_reuses_it():
    go = asyncio.Event()

    async def held(peer: Peer) -> None:
        await peer.request()
        await go.wait()
        await peer.send(OK)
        await answering(OK)(peer)

    async with Server(held) as server, pool_of(max_connections=1) as pool:
        first = asyncio.create_task(call(pool, server, target=b"/1"))
        second = asyncio.create_task(call(pool, server, target=b"/2"))
        await eventually(lambda: len(server.requests) == 1)
        await asyncio.sleep(0.05)
        assert len(server.requests) == 1 and pool.connections == 1  # the second waits its turn
        with pytest.raises(httpx.PoolTimeout):
            await call(pool, server, target=b"/3", pool=0.05)
        go.set()
        replies = await asyncio.gather(first, second)
        assert (pool.connections, pool.idle) == (1, 1)
    assert [r.body for r in replies] == [b"ok", b"ok"]
    assert server.accepted == 1
    assert [r.split(b" ")[1] for r in server.seen(0)] == [b"/1", b"/2"]


async def test_a_cancelled_request_frees_its_slot_and_aborts_its_connection():
    ends: list[bool] = []

    async def script(peer: Peer) -> None:
        await peer.request()
        if peer.number == 0:  # a slow server: never answers
            ends.append(await peer.ended())
            return
        await peer.send(OK)
        await answering(OK)(peer)

    async with Server(script) as server, pool_of(max_connections=1) as pool:
        slow = asyncio.create_task(call(pool, server))
        waiting = asyncio.create_task(call(pool, server, target=b"/waiting"))
        await eventually(lambda: len(server.requests) == 1)
        waiting.cancel()  # one waiting its turn, then the one on the wire
        slow.cancel()
        for task in (waiting, slow):
            with pytest.raises(asyncio.CancelledError):
                await task
        assert pool.connections == 0
        await eventually(lambda: bool(ends))
        assert (await call(pool, server)).body == b"ok"
        assert (await call(pool, server)).body == b"ok"
        assert (pool.connections, pool.idle) == (1, 1)
    assert ends == [True]  # the client closed the slow one
    assert server.accepted == 2 and b"/waiting" not in b"".join(server.seen())


# 6. An idle connection the server closes ----------------------------------------------------


@pytest.mark.parametrize("how", ["fin", "rst"])
async def test_an_idle_connection_the_server_closes_leaves_the_pool_at_once(how):
    close = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(OK)
        await close.wait()
        if how == "rst":
            peer.reset()
        else:
            peer.writer.close()
            await peer.writer.wait_closed()

    async with Server(script) as server, pool_of(max_connections=1) as pool:
        await call(pool, server)
        assert (pool.connections, pool.idle) == (1, 1)
        close.set()
        await eventually(lambda: (pool.connections, pool.idle) == (0, 0), within=0.5)
        assert (await call(pool, server)).body == b"ok"
    assert server.accepted == 2


# 7. TLS -------------------------------------------------------------------------------------


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    if not Path(openssl).exists():
        pytest.skip("the openssl command line tool is not installed: no certificate to test TLS")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def serving_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


async def test_tls_with_a_trusted_certificate_and_without(certificate):
    cert, key = certificate
    events: list[str] = []

    async def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async with Server(answering(OK), serving_tls(cert, key)) as server:
        trusted = ssl.create_default_context(cafile=str(cert))
        async with pool_of(ssl_context=trusted) as pool:
            for _ in range(2):
                reply = await call(
                    pool, server, target=b"/secure", headers=[(b"Host", b"localhost")], trace=trace
                )
                assert reply.body == b"ok"
        assert server.accepted == 1  # kept and reused over TLS
        assert events == [
            "connection.start_tls.started",
            "connection.connect_tcp.complete",
            "http11.send_request_body.complete",
            "http11.send_request_body.complete",
        ]
        for context in (None, ssl.create_default_context()):
            async with pool_of(ssl_context=context) as pool:
                with pytest.raises(httpx.ConnectError):
                    await call(pool, server)
                assert pool.connections == 0
    assert server.seen() == [
        b"GET /secure HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /secure HTTP/1.1\r\nHost: localhost\r\n\r\n",
    ]


# 8. The trace hook --------------------------------------------------------------------------


async def test_the_trace_hook_is_told_each_new_connection_and_each_request_written():
    events: list[str] = []

    async def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async with (
        Server(
            answering(OK, OK, OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        ) as server,
        pool_of() as pool,
    ):
        for _ in range(4):
            await call(pool, server, trace=trace)
    assert events == [
        "connection.connect_tcp.complete",
        "http11.send_request_body.complete",
        "http11.send_request_body.complete",
        "http11.send_request_body.complete",
        "connection.connect_tcp.complete",
        "http11.send_request_body.complete",
    ]
    assert server.accepted == 2


# Through httpx's client -----------------------------------------------------------------------


async def test_through_httpx_async_client_and_pooled_transport():
    body = gzip.compress(b'{"id": 7}')
    answers = [
        b"HTTP/1.1 200 Fine\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
        + body,
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    ]
    async with Server(answering(*answers)) as server:
        transport = PooledTransport(httpx.Limits(max_connections=2, max_keepalive_connections=2))
        assert transport.wire is not None
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=1.0) as http:
            got = await http.get("/customers/7.json", params={"q": "a b"})
            assert (got.status_code, got.reason_phrase, got.json()) == (200, "Fine", {"id": 7})
            assert got.headers.get_list("set-cookie") == ["a=1", "b=2"]
            assert got.http_version == "HTTP/1.1"
            made = await http.post("/jobs.json", json={"x": 1})
            assert (made.status_code, made.content) == (201, b"{}")
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/broken")
            assert transport.wire.connections == 0
    assert server.accepted == 1
    first, second, _ = server.seen()
    assert first.startswith(b"GET /customers/7.json?q=a+b HTTP/1.1\r\nHost: 127.0.0.1:")
    assert second.endswith(b'\r\n\r\n{"x":1}') and b"Content-Length: 7\r\n" in second


async def test_through_httpx_a_read_timeout_is_httpx_read_timeout():
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.ended()

    async with Server(script) as server:
        transport = PooledTransport(httpx.Limits(max_connections=2))
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(transport=transport, base_url=base, timeout=0.1) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.get("/slow")


# Races: each of these failed before the fix in kickserv/wire.py that came with them -----------


async def test_a_pool_timeout_as_the_connection_comes_free_is_a_pool_timeout():
    """The waiter's pool timeout and the answer that frees the one connection arrive in the same
    turn of the loop (the loop is held while both become due): the waiter gets `PoolTimeout`."""
    answered = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await answered.wait()
        await answering(OK)(peer)

    async with Server(script) as server, pool_of(max_connections=1) as pool:
        holder = asyncio.create_task(call(pool, server))
        await eventually(lambda: len(server.requests) == 1)
        waiter = asyncio.create_task(call(pool, server, pool=0.05))
        await asyncio.sleep(0.01)  # waiting its turn
        server.peers[0].writer.write(OK)  # on the client's socket now
        time.sleep(0.1)  # noqa: ASYNC251 - held on purpose: the pool timeout is due too
        answered.set()
        assert (await holder).body == b"ok"
        with pytest.raises(httpx.PoolTimeout):
            await waiter
        assert (pool.connections, pool.idle) == (1, 1)
        assert (await call(pool, server)).body == b"ok"


async def test_closing_the_pool_fails_a_request_waiting_its_turn_with_an_httpx_error():
    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.ended()

    async with Server(script) as server, pool_of(max_connections=1) as pool:
        holder = asyncio.create_task(call(pool, server))
        await eventually(lambda: len(server.requests) == 1)
        waiter = asyncio.create_task(call(pool, server))
        await asyncio.sleep(0.01)
        await pool.aclose()
        with pytest.raises(httpx.TransportError):
            await holder
        with pytest.raises(httpx.PoolTimeout):
            await waiter
        assert not waiter.cancelled()


async def test_a_get_in_the_turn_a_reset_idle_connection_is_seen_goes_on_a_new_one():
    """The server resets an idle connection; asyncio reads the reset (the transport is closing)
    and tells the protocol one turn of the loop later. A request taking that connection in
    between is not failed with a WriteError: it goes on a new connection."""
    closing = asyncio.Event()

    async def script(peer: Peer) -> None:
        await peer.request()
        await peer.send(OK)
        if peer.number == 0:
            await closing.wait()
            peer.reset()
        else:
            await answering(OK)(peer)

    async with Server(script) as server, pool_of() as pool:
        await call(pool, server)
        (idle,) = pool._idle
        closing.set()
        for _ in range(100):  # loop turns until asyncio has read the reset, not yet told of it
            transport = idle.transport
            assert transport is not None and not idle.ended
            if transport.is_closing():
                break
            await asyncio.sleep(0)
        else:
            pytest.fail("the reset was not read")
        reply = await call(pool, server)
        assert reply.body == b"ok" and server.accepted == 2
