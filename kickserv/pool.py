"""The HTTP connection pool Kickserv calls go through: httpcore's, with its bookkeeping made linear.

httpcore 1.0's `AsyncConnectionPool` re-examines its whole pool whenever a request arrives or an
answer is closed, and for every idle connection it counts the whole pool again and polls the
connection's socket (is it still open?). With the 50-odd keep-alive connections a level of the
graph opens (`KICKSERV_CONCURRENCY` is 64 by default), that is thousands of checks and a `poll`
syscall per idle connection per request: measured on this machine, 50 concurrent GETs over 50 warm
connections spent ~330 ms of CPU before the last one was written, against ~60 ms over a cold pool.
While a level's calls wait for that CPU they leave one after another instead of together, and
Kickserv sees several rounds where the graph asked for one.

`LinearPool` keeps httpcore's connections, requests and locking and replaces only the assignment of
requests to connections, in one pass over the pool:

- closed connections leave the pool; idle ones beyond `max_keepalive_connections` are closed (the
  oldest first); a pass with nothing to do (no request waits, no more connections than may be
  kept, no sweep due: an answer was closed) looks at no connection;
- a queued request takes the first idle connection to its origin that no other request holds,
  after checking that one (and only that one) has not expired or been closed by the server;
  expired ones met on the way are closed, and every idle connection is checked at most once a
  second (`SWEEP_EVERY`) so that none outlives its keep-alive;
- otherwise a new connection when under `max_connections`, or one in place of an idle connection
  to another origin; otherwise the request waits, as in httpcore.

`PooledTransport` is an `httpx.AsyncHTTPTransport` whose pool is a `LinearPool` (HTTP/1.1 without
a proxy; anything else keeps httpcore's own pool), and the `SendGate` of the calls sent through it.
Its `exchange` is one request read whole, for callers that write httpcore's request themselves
(`kickserv.direct`): without the `httpx.Request` and `httpx.Response` around it.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from typing import Any

import httpcore
import httpx
from httpx._transports.default import map_httpcore_exceptions

__all__ = [
    "SWEEP_EVERY",
    "Answer",
    "LinearPool",
    "PooledTransport",
    "SendGate",
    "SendTicket",
    "send_gate",
]

SWEEP_EVERY = 1.0  # seconds between checks of every idle connection's expiry


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore's connection pool, its request assignment one pass over the pool (see module)."""

    _swept_at = -float("inf")

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        now = time.monotonic()
        sweep = now - self._swept_at >= SWEEP_EVERY
        if (
            not sweep
            and len(self._connections) <= self._max_keepalive_connections
            and all(r.connection is not None for r in self._requests)
        ):
            # Nothing to assign, no idle connection beyond the keep-alive bound, no sweep due (an
            # answer was closed): closed connections leave at the next pass that has work.
            return closing
        if sweep:
            self._swept_at = now
        held = {id(r.connection) for r in self._requests if r.connection is not None}
        kept: list[httpcore.AsyncConnectionInterface] = []
        idle: list[httpcore.AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle() and id(connection) not in held:
                if sweep and connection.has_expired():
                    closing.append(connection)
                    continue
                idle.append(connection)
            kept.append(connection)
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:
            closing.extend(idle[:surplus])
            idle = idle[surplus:]
            gone = {id(c) for c in closing}
            kept = [c for c in kept if id(c) not in gone]
        self._connections = kept

        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            reused = self._reusable(idle, origin, closing)
            if reused is not None:
                pool_request.assign_to_connection(reused)
                continue
            if len(self._connections) >= self._max_connections:
                if not idle:
                    break  # every connection is busy: the rest wait, as in httpcore
                spare = idle.pop(0)  # an idle connection to another origin makes room
                self._connections.remove(spare)
                closing.append(spare)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing

    def _reusable(
        self,
        idle: list[httpcore.AsyncConnectionInterface],
        origin: httpcore.Origin,
        closing: list[httpcore.AsyncConnectionInterface],
    ) -> httpcore.AsyncConnectionInterface | None:
        """The first idle connection to `origin` still open, taken out of `idle`; the expired ones
        found on the way are closed."""
        index = 0
        while index < len(idle):
            connection = idle[index]
            if not connection.can_handle_request(origin) or not connection.is_available():
                index += 1
                continue
            del idle[index]
            if connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


class SendGate:
    """Sends before answers: an answer is handled (decoded, parsed, resolved) only once the calls
    of its level, and of the levels before, that began sending have been written.

    The calls of a level leave together only if the CPU they need before their bytes go out is
    spent before anything else; on a busy machine the first answers come back while later calls of
    the same level are still being prepared, and handling them in between spreads the level over
    several rounds. `kickserv.transport` opens a ticket when an attempt starts its exchange, marks it
    written when httpcore reports the request written, or a TLS handshake begun (the rest is
    Kickserv's round trips, not our CPU), or the exchange ended however; it waits for
    `settled(ticket)` before it decodes an answer and says `answered()` once it hands one back.

    Levels, as the gate sees them: calls opened before an answer was handed back do not depend on
    it, calls opened after may. So an answer waits for the sends opened before the first answer
    handed back after its own call was opened (its level's siblings and what came before), never
    for later ones: the next level, which the answers of its own level may still add to (page 1 of
    a listing telling how many pages follow), and a stream of new calls never hold it back. A wait
    is capped at `max_wait` seconds.
    """

    def __init__(self, max_wait: float = 1.0) -> None:
        self.max_wait = max_wait
        self._next = 0
        self._pending: dict[int, None] = {}  # tickets not yet written, oldest first
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []  # heap by bound
        self._level: list[SendTicket] = []  # opened since the last answer was handed back
        # `sent_since` waiters: (mark, count, future), told on each open and write.
        self._watchers: list[tuple[int, int, asyncio.Future[None]]] = []

    @property
    def pending(self) -> int:
        """Sends begun and not yet written."""
        return len(self._pending)

    @property
    def opened(self) -> int:
        """How many sends have begun so far: a mark for `sent_since`."""
        return self._next

    def open(self) -> SendTicket:
        ticket = SendTicket(self._next)
        self._next += 1
        self._pending[ticket.number] = None
        self._level.append(ticket)
        return ticket

    def written(self, ticket: SendTicket) -> None:
        """The ticket's request is written (or will never be); idempotent."""
        if ticket.number not in self._pending:
            return
        del self._pending[ticket.number]
        if self._watchers:
            self._watch()
        oldest = next(iter(self._pending), self._next)
        waiters = self._waiters
        while waiters and waiters[0][0] <= oldest:
            waiter = heapq.heappop(waiters)[2]
            if not waiter.done():
                waiter.set_result(None)

    def _sent(self, mark: int, count: int) -> bool:
        """`count` sends began since `mark` (an `opened`), and every one begun since is written."""
        pending = self._pending
        return self._next - mark >= count and (not pending or next(reversed(pending)) < mark)

    def _watch(self) -> None:
        kept = []
        for mark, count, future in self._watchers:
            if future.done():
                continue
            if self._sent(mark, count):
                future.set_result(None)
            else:
                kept.append((mark, count, future))
        self._watchers = kept

    async def sent_since(self, mark: int, count: int, within: float) -> None:
        """Return once `count` sends have begun since `mark` (an earlier `opened`) and all those
        begun since are written, or after `within` seconds (a send that never begins, a page
        found cached meanwhile, a slow connect: the caller goes on)."""
        if self._sent(mark, count):
            return
        future = asyncio.get_running_loop().create_future()
        self._watchers.append((mark, count, future))
        try:
            async with asyncio.timeout(within):
                await future
        except TimeoutError:
            pass
        finally:
            future.cancel()  # no-op once told
            self._watchers = [w for w in self._watchers if w[2] is not future]

    def answered(self) -> None:
        """An answer is handed back: calls opened from now on may depend on it (a new level)."""
        for ticket in self._level:
            ticket.bound = self._next
        self._level.clear()

    async def settled(self, ticket: SendTicket) -> None:
        """Return once the sends of `ticket`'s level and the levels before it are written (or
        after `max_wait`)."""
        bound = self._next if ticket.bound is None else ticket.bound
        if next(iter(self._pending), self._next) >= bound:
            return
        waiter = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (bound, ticket.number, waiter))
        try:
            async with asyncio.timeout(self.max_wait):
                await waiter
        except TimeoutError:
            pass
        finally:
            if not waiter.done():
                waiter.cancel()


class SendTicket:
    """One exchange's place in its `SendGate`: its number, and the first number opened after an
    answer was handed back (None while none has been)."""

    __slots__ = ("bound", "number")

    def __init__(self, number: int) -> None:
        self.number = number
        self.bound: int | None = None


class PooledTransport(httpx.AsyncHTTPTransport):
    """`httpx.AsyncHTTPTransport` whose connection pool is a `LinearPool` (httpcore's own when it
    is a proxy's or may speak HTTP/2), with the `SendGate` of the calls made through it."""

    def __init__(self, limits: httpx.Limits, **options: Any) -> None:
        super().__init__(limits=limits, **options)
        if type(self._pool) is httpcore.AsyncConnectionPool and not options.get("http2"):
            self._pool.__class__ = LinearPool
        self.gate = SendGate()

    async def exchange(
        self,
        method: str,
        url: httpcore.URL,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
        extensions: dict[str, Any],
    ) -> Answer:
        """One request through the pool, its answer read whole: what `handle_async_request` and
        `httpx.Response.aread` do with it (httpx's exceptions for httpcore's, the body decoded as
        its Content-Encoding says), without the httpx request and response objects."""
        request = httpcore.Request(
            method, url, headers=headers, content=content, extensions=extensions
        )
        with map_httpcore_exceptions():
            response = await self._pool.handle_async_request(request)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        raw = response.headers
        if any(key.lower() == b"content-encoding" for key, _ in raw):
            body = httpx.Response(response.status, headers=raw, content=body).content
        return Answer(response.status, raw, body)


class Answer:
    """An answer read whole (`PooledTransport.exchange`): what `kickserv.transport` reads of an
    `httpx.Response`, its headers made into `httpx.Headers` only when asked for."""

    __slots__ = ("_raw", "content", "status_code")

    def __init__(self, status_code: int, raw: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.status_code = status_code
        self.content = content
        self._raw = raw

    @property
    def headers(self) -> httpx.Headers:
        return httpx.Headers(self._raw)


def send_gate(http: httpx.AsyncClient) -> SendGate | None:
    """The `SendGate` of `http`'s transport, when it is a `PooledTransport` (which reports when a
    request is written); None otherwise (an injected transport: nothing is held back)."""
    transport = getattr(http, "_transport", None)
    return transport.gate if isinstance(transport, PooledTransport) else None
