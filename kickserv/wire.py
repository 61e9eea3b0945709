"""HTTP/1.1 to Kickserv over asyncio's own transports: the connection pool our calls go through.

Every Kickserv call we make is one request read whole, to one origin, over HTTP/1.1. httpcore's pool
serves that through anyio's streams and h11's state machine; measured on this machine (2026-12-03,
48 concurrent GETs of a small listing against the sandbox over loopback, uvloop, CPU time of the
calling process), a call cost 0.50 ms of CPU over an open connection and 0.7-1.4 ms over a new one,
against 0.05 and 0.10 ms for the same bytes written and read by an `asyncio.Protocol`. A level of
the graph sends its calls one after another as fast as that CPU allows, so the cost shows as wall
time: the dashboard's second level (48 calls on a fresh server) took ~50 ms to leave.

`WirePool` writes the request and reads the answer itself:

- the request as h11 writes it (request line, the headers as given, in order, the body); a header
  with a CR, LF or NUL is refused before anything is sent (`httpx.LocalProtocolError`);
- the answer's head up to `MAX_HEAD` bytes (informational 1xx answers skipped), its body framed by
  `Transfer-Encoding: chunked`, else `Content-Length`, else the end of the connection; no body for
  HEAD, 204 and 304. Anything else (a folded header, a bad status line, two different lengths, a
  transfer coding other than chunked, a body cut short) is `httpx.RemoteProtocolError`;
- a connection is kept for the next request only when the answer was HTTP/1.1, framed, read whole
  with nothing after it, and neither side said `Connection: close`; at most `max_keepalive` idle
  ones, each for `keepalive_expiry` seconds; one the server closed is dropped as soon as it says so;
- at most `max_connections` open; a request beyond waits in turn (`PoolTimeout` after `pool`
  seconds), and an idle connection to another origin makes room;
- `connect`, `read`, `write` and `pool` timeouts as httpx's (`ConnectTimeout`, `ReadTimeout`, ...);
  connection failures as httpx's `ConnectError`, `ReadError`, `WriteError`;
- TLS by asyncio's own (`ssl=`, the context httpx built from the client's `verify` and `cert`);
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
import ipaddress
import re
import socket
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, cast

import httpx

__all__ = ["MAX_HEAD", "RESOLVED_FOR", "Reply", "WirePool"]

MAX_HEAD = 64 * 1024  # bytes of an answer's status line and headers
RESOLVED_FOR = 30.0  # seconds a host name's addresses serve new connections before a new lookup
_BAD_FIELD = re.compile(rb"[\x00\r\n]")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: (.*))?")
_NO_BODY_STATUS = frozenset({204, 304})
_SAFE = frozenset({"GET", "HEAD"})

Trace = Callable[[str, dict[str, Any]], Awaitable[None]]
Origin = tuple[str, str, int]  # scheme, host, port


class Reply:
    """An answer read whole: status, reason, headers as received, body as sent (still encoded)."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class _Stale(Exception):
    """A kept connection the server closed before any byte of an answer: `sent` says whether
    the request was written to it (it may then have been received)."""

    def __init__(self, sent: bool) -> None:
        super().__init__()
        self.sent = sent


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: what arrived, and whether it is still open."""

    def __init__(self, pool: WirePool, origin: Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the server closed its side, or the connection is lost
        self.error: Exception | None = None
        self.idle_since: float | None = None  # in the pool's idle list since
        self.used = 0  # requests sent over it
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._drained: asyncio.Future[None] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not its subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)
        if self.idle_since is not None:
            self.pool._lost(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # what the pool does with it
    def close(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.abort()

    def reusable_now(self) -> bool:
        return not self.ended and not self.buffer and self.transport is not None

    async def write(self, data: bytes, within: float | None) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self.ended:
            if self.used > 1:
                raise _Stale(sent=False)
            raise httpx.WriteError("the connection was closed before the request was written")
        transport.write(data)
        if self._paused and not self.ended:
            loop = asyncio.get_running_loop()
            self._drained = loop.create_future()
            try:
                async with asyncio.timeout(within):
                    await self._drained
            except TimeoutError:
                raise httpx.WriteTimeout("the request could not be written in time") from None
        if self.ended and self.error is not None:
            raise httpx.WriteError(str(self.error) or type(self.error).__name__)

    async def more(self, within: float | None) -> None:
        """Wait for more bytes (or the end); `httpx.ReadTimeout` after `within` seconds."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        handle = None if within is None else loop.call_later(within, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    async def read_reply(self, method: str, within: float | None) -> tuple[Reply, bool]:
        """The answer to the request just written, and whether the connection may be kept."""
        buffer = self.buffer
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise httpx.RemoteProtocolError(
                        f"the answer's head is longer than {MAX_HEAD} bytes"
                    )
                if self.ended:
                    if not buffer and self.used > 1:
                        raise _Stale(sent=True)
                    raise self._cut("Server disconnected without sending a response.")
                await self.more(within)
                continue
            if end > MAX_HEAD:
                raise httpx.RemoteProtocolError(
                    f"the answer's head is longer than {MAX_HEAD} bytes"
                )
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            minor, status, reason, headers = _parse_head(head)
            if 100 <= status < 200:
                if status == 101:
                    raise httpx.RemoteProtocolError("the server switched protocols (101)")
                continue  # informational: the answer follows
            break
        keep = minor == 1
        length: int | None = None
        chunked = False
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-length":
                length = _length(value, length)
            elif lower == b"transfer-encoding":
                if value.strip().lower() != b"chunked" or chunked:
                    raise httpx.RemoteProtocolError(
                        f"unsupported transfer coding {value.decode('latin-1')!r}"
                    )
                chunked = True
            elif lower == b"connection" and b"close" in value.lower():
                keep = False
        if method == "HEAD" or status in _NO_BODY_STATUS:
            body = b""
        elif chunked:
            body = await self._read_chunked(within)
        elif length is not None:
            while len(buffer) < length:
                if self.ended:
                    raise self._cut("peer closed connection without sending complete message body")
                await self.more(within)
            body = bytes(buffer[:length])
            del buffer[:length]
        else:  # the body ends with the connection
            while not self.ended:
                await self.more(within)
            if self.error is not None:
                raise httpx.ReadError(str(self.error) or type(self.error).__name__)
            body = bytes(buffer)
            buffer.clear()
            keep = False
        keep = keep and not buffer and not self.ended
        return Reply(status, reason, headers, body), keep

    async def _read_chunked(self, within: float | None) -> bytes:
        buffer = self.buffer
        parts: list[bytes] = []
        while True:
            line_end = await self._find(b"\r\n", within)
            line = bytes(buffer[:line_end])
            del buffer[: line_end + 2]
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"a bad chunk size line {line[:40]!r}") from None
            if size < 0:
                raise httpx.RemoteProtocolError(f"a bad chunk size line {line[:40]!r}")
            if size == 0:
                while True:  # trailers, up to the empty line
                    line_end = await self._find(b"\r\n", within)
                    del buffer[: line_end + 2]
                    if line_end == 0:
                        return b"".join(parts)
            while len(buffer) < size + 2:
                if self.ended:
                    raise self._cut("peer closed connection without sending complete message body")
                await self.more(within)
            if buffer[size : size + 2] != b"\r\n":
                raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
            parts.append(bytes(buffer[:size]))
            del buffer[: size + 2]

    async def _find(self, marker: bytes, within: float | None) -> int:
        while (at := self.buffer.find(marker)) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise httpx.RemoteProtocolError("a chunk line is too long")
            if self.ended:
                raise self._cut("peer closed connection without sending complete message body")
            await self.more(within)
        return at

    def _cut(self, message: str) -> httpx.TransportError:
        if self.error is not None:
            return httpx.ReadError(str(self.error) or type(self.error).__name__)
        return httpx.RemoteProtocolError(message)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("no answer within the read timeout"))


def _length(value: bytes, before: int | None) -> int:
    text = value.strip()
    if not text.isdigit():
        raise httpx.RemoteProtocolError(f"a bad Content-Length {value[:20]!r}")
    length = int(text)
    if before is not None and before != length:
        raise httpx.RemoteProtocolError("two different Content-Length headers")
    return length


def _parse_head(head: bytes) -> tuple[int, int, bytes, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    matched = _STATUS_LINE.fullmatch(lines[0])
    if matched is None:
        raise httpx.RemoteProtocolError(f"a bad status line {lines[0][:60]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            raise httpx.RemoteProtocolError(f"a bad header line {line[:60]!r}")
        headers.append((name, value.strip(b" \t")))
    return int(matched[1]), int(matched[2]), matched[3] or b"", headers


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
        self._idle: list[_Connection] = []  # the most recently used last
        self._open = 0  # connections open or opening, idle ones included
        self._queue: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._every: set[_Connection] = set()  # open ones, idle or not: closed with the pool
        self._resolver = _Resolver(RESOLVED_FOR)

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
            except _Stale as stale:
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
    ) -> _Connection:
        if self._closed:
            raise httpx.PoolTimeout("the connection pool is closed")
        if not fresh:
            kept = self._take_idle(origin)
            if kept is not None:
                return kept
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else time.monotonic() + pool_timeout
        while self._open >= self._max and not self._make_room():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            await self._wait_turn(left)
            if not fresh:
                kept = self._take_idle(origin)
                if kept is not None:
                    return kept
        self._open += 1
        try:
            return await self._connect(origin, timeouts.get("connect"), extensions.get("trace"))
        except BaseException:
            self._open -= 1
            self._next_turn()
            raise

    def _take_idle(self, origin: Origin) -> _Connection | None:
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
    ) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        secure = scheme == "https"
        if secure and trace is not None:
            await trace("connection.start_tls.started", {})
        connection = _Connection(self, origin)
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

    def _release(self, connection: _Connection, *, keep: bool) -> None:
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

    def _drop(self, connection: _Connection) -> None:
        self._forget(connection)
        self._open -= 1

    def _forget(self, connection: _Connection) -> None:
        connection.close()
        self._every.discard(connection)

    def _lost(self, connection: _Connection) -> None:
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
        for connection in self._idle:
            connection.idle_since = None
        self._idle = []
        every, self._every = self._every, set()
        for connection in every:
            connection.close()
        for turn in self._queue:
            if not turn.done():
                turn.cancel()
        self._queue.clear()
        if every:
            await asyncio.sleep(0)  # asyncio closes the sockets in its next turn: let it


class _Resolver:
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
