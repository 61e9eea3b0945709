"""HTTP/1.1 to Kickserv over asyncio's own transports: the connection pool our calls go through.

Every Kickserv call we make is one request read whole, to one origin, over HTTP/1.1. httpcore's pool
serves that through anyio's streams and h11's state machine; measured on this machine (2026-12-03,
48 concurrent GETs of a small listing against the sandbox over loopback, uvloop, CPU time of the
calling process), a call cost 0.50 ms of CPU over an open connection and 0.7-1.4 ms over a new one,
against 0.05 and 0.10 ms for the same bytes written and read by an `asyncio.Protocol`. A level of
the graph sends its calls one after another as fast as that CPU allows, so the cost shows as wall
time: the dashboard's second level (48 calls on a fresh server) took ~50 ms to leave.

`WirePool` writes the request and reads the answer itself (each connection a
`kickserv.http11.Connection`):

- the request as h11 writes it (request line, the headers as given, in order, the body); a header
  with a CR, LF or NUL is refused before anything is sent (`httpx.LocalProtocolError`);
- the answer's head up to `MAX_HEAD` bytes (informational 1xx answers skipped), its body framed by
  `Transfer-Encoding: chunked`, else `Content-Length`, else the end of the connection; no body for
  HEAD, 204 and 304. The head's and the trailers' lines may end in a bare LF, as h11 reads them;
  chunk-size lines and chunk ends need CRLF, as h11 wants them. Anything else (a folded header, a
  bad status line, two different lengths, a transfer coding other than chunked, a body cut short)
  is `httpx.RemoteProtocolError`;
- a connection is kept for the next request only when the answer was HTTP/1.1, framed, read whole
  with nothing after it, and neither side said `Connection: close`; at most `max_keepalive` idle
  ones, each for `keepalive_expiry` seconds; one the server closed is dropped as soon as it says so;
- at most `max_connections` open; a request beyond waits in turn (`PoolTimeout` after `pool`
  seconds), and an idle connection to another origin makes room;
- `connect`, `read`, `write` and `pool` timeouts as httpx's (`ConnectTimeout`, `ReadTimeout`, ...);
  connection failures as httpx's `ConnectError`, `ReadError`, `WriteError`;
- TLS by asyncio's own (`ssl=`, the context httpx built from the client's `verify` and `cert`);
- a host name looked up once for the connections opened within `RESOLVED_FOR` seconds, its
  addresses tried in turn (`kickserv.resolver`);
- a request about to go over a kept connection the server has just closed goes over a new one; a
  GET or HEAD written to a kept connection that the server closed before answering any byte (its
  keep-alive ran out as we wrote) is sent again, once, over a new connection (a write is not: it
  may have been received);
- httpcore's trace hook (`extensions["trace"]`) told the events callers read:
  ``connection.connect_tcp.complete``, ``connection.start_tls.started`` and
  ``http11.send_request_body.complete``.

A cancelled exchange aborts its connection. Proxies, HTTP/2, Unix sockets and the rest of httpx's
options keep httpcore (`kickserv.pool.PooledTransport` decides).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kickserv.http11 import MAX_HEAD, Connection, Origin, Reply, Stale
from kickserv.resolver import Resolver

__all__ = ["MAX_HEAD", "RESOLVED_FOR", "Origin", "Reply", "WirePool"]

RESOLVED_FOR = 30.0  # seconds a host name's addresses serve new connections before a new lookup
_BAD_FIELD = re.compile(rb"[\x00\r\n]")
_SAFE = frozenset({"GET", "HEAD"})

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


class WirePool:
    """Connections to Kickserv, each request written and its answer read by us (see module)."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None,
        max_connections: int | None,
        max_keepalive: int | None,
        keepalive_expiry: float | None,
    ) -> None:
        self._ssl = ssl_context
        self._max = max_connections if max_connections is not None else 1 << 30
        keep = max_keepalive if max_keepalive is not None else self._max
        self._max_keep = min(keep, self._max)
        self._expiry = keepalive_expiry
        self._idle: list[Connection] = []  # the most recently used last
        self._open = 0  # connections open or opening, idle ones included
        self._queue: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._every: set[Connection] = set()  # open ones, idle or not: closed with the pool
        self._resolver = Resolver(RESOLVED_FOR)

    @property
    def connections(self) -> int:
        """Connections open (or opening), idle ones included."""
        return self._open

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def request(
        self,
        method: str,
        origin: Origin,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
        extensions: dict[str, Any],
    ) -> Reply:
        """`method` `target` on `origin` with `headers` (written as given) and `content`; the
        answer read whole. `extensions` are httpcore's: `timeout`, `trace`."""
        head = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
        for name, value in headers:
            if _BAD_FIELD.search(name) or _BAD_FIELD.search(value) or not name:
                raise httpx.LocalProtocolError(f"illegal header {name[:40]!r}")
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        if content:
            head.append(content)
        data = b"".join(head)
        timeouts = extensions.get("timeout") or {}
        for fresh in (False, True):
            connection = await self._acquire(origin, timeouts, extensions, fresh)
            try:
                connection.used += 1
                trace: Trace | None = extensions.get("trace")
                await connection.write(data, timeouts.get("write"))
                if trace is not None:
                    await trace("http11.send_request_body.complete", {"request": None})
                reply, keep = await connection.read_reply(method, timeouts.get("read"))
            except Stale as stale:
                self._release(connection, keep=False)
                if not fresh and (not stale.sent or method in _SAFE):
                    continue  # its keep-alive ran out as we wrote: once more, on a new one
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response."
                ) from None
            except BaseException:
                self._release(connection, keep=False)
                raise
            self._release(connection, keep=keep)
            return reply
        raise AssertionError("unreachable")  # pragma: no cover

    async def _acquire(
        self, origin: Origin, timeouts: dict[str, Any], extensions: dict[str, Any], fresh: bool
    ) -> Connection:
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else time.monotonic() + pool_timeout
        while True:
            if self._closed:
                raise httpx.PoolTimeout("the connection pool is closed")
            if not fresh:
                kept = self._take_idle(origin)
                if kept is not None:
                    return kept
            if self._open < self._max or self._make_room():
                break
            await self._wait_turn(
                None if deadline is None else max(0.0, deadline - time.monotonic())
            )
        self._open += 1
        try:
            return await self._connect(origin, timeouts.get("connect"), extensions.get("trace"))
        except BaseException:
            self._open -= 1
            self._next_turn()
            raise

    def _take_idle(self, origin: Origin) -> Connection | None:
        idle = self._idle
        now = time.monotonic()
        for index in range(len(idle) - 1, -1, -1):
            connection = idle[index]
            if connection.origin != origin:
                continue
            del idle[index]
            connection.idle_since, since = None, connection.idle_since
            expired = self._expiry is not None and since is not None and now - since >= self._expiry
            if expired or not connection.reusable_now():
                self._drop(connection)
                continue
            return connection
        return None

    def _make_room(self) -> bool:
        """Close the oldest idle connection (to another origin: one to ours would have been
        taken) so that a new one may open; False when none is idle."""
        if not self._idle:
            return False
        connection = self._idle.pop(0)
        connection.idle_since = None
        self._drop(connection)
        return True

    async def _wait_turn(self, within: float | None) -> None:
        """Wait until a connection is released (`httpx.PoolTimeout` after `within` seconds)."""
        turn = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            async with asyncio.timeout(within):
                await turn
        except BaseException as exc:
            if turn.done() and not turn.cancelled():
                self._next_turn()  # the turn it was given goes to the next in line
            else:
                turn.cancel()
                if turn in self._queue:  # `_next_turn` may have passed it over already
                    self._queue.remove(turn)
            if isinstance(exc, TimeoutError):
                raise httpx.PoolTimeout("no connection to Kickserv came free in time") from None
            raise

    def _next_turn(self) -> None:
        while self._queue:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    async def _connect(
        self, origin: Origin, within: float | None, trace: Trace | None
    ) -> Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        secure = scheme == "https"
        if secure and trace is not None:
            await trace("connection.start_tls.started", {})
        connection = Connection(origin, self._lost)
        self._every.add(connection)
        context = None
        if secure:
            context = self._ssl if self._ssl is not None else ssl.create_default_context()
        try:
            async with asyncio.timeout(within):
                addresses = await self._resolver.addresses(host, port)
                for index, (family, address) in enumerate(addresses):
                    try:
                        await loop.create_connection(
                            lambda: connection,
                            address,
                            port,
                            family=family,
                            ssl=context,
                            server_hostname=host if secure else None,
                            ssl_handshake_timeout=within if secure else None,
                        )
                        break
                    except OSError:
                        if index == len(addresses) - 1:
                            self._resolver.forget(host, port)
                            raise
        except TimeoutError:
            self._forget(connection)
            raise httpx.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except (OSError, ssl.SSLError) as exc:
            self._forget(connection)
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        except BaseException:
            self._forget(connection)
            raise
        if trace is not None:
            await trace("connection.connect_tcp.complete", {"return_value": None})
        return connection

    def _release(self, connection: Connection, *, keep: bool) -> None:
        if keep and not self._closed and connection.reusable_now():
            self._idle.append(connection)
            connection.idle_since = time.monotonic()
            while len(self._idle) > self._max_keep:
                oldest = self._idle.pop(0)
                oldest.idle_since = None
                self._drop(oldest)
        else:
            self._drop(connection)
        self._next_turn()

    def _drop(self, connection: Connection) -> None:
        self._forget(connection)
        self._open -= 1

    def _forget(self, connection: Connection) -> None:
        connection.close()
        self._every.discard(connection)

    def _lost(self, connection: Connection) -> None:
        """An idle connection the server closed: it leaves the pool now."""
        if connection in self._idle:
            self._idle.remove(connection)
            connection.idle_since = None
            self._every.discard(connection)
            self._open -= 1
            self._next_turn()

    async def aclose(self) -> None:
        """Close every connection, idle or in use (an exchange under way fails), and refuse
        new requests."""
        self._closed = True
        self._open = 0
        for connection in self._idle:
            connection.idle_since = None
        self._idle = []
        every, self._every = self._every, set()
        for connection in every:
            connection.close()
        for turn in self._queue:
            if not turn.done():
                turn.set_result(None)  # its request fails with PoolTimeout, not a cancellation
        self._queue.clear()
        if every:
            await asyncio.sleep(0)  # asyncio closes the sockets in its next turn: let it
