"""The HTTP transport Kickserv calls go through, and the order their answers are handled in.

`PooledTransport` is an `httpx.AsyncHTTPTransport` whose requests go through a
`kickserv.wire.WirePool` (HTTP/1.1 over asyncio's transports, written and read by us; see that
module for why and what it does); with a proxy, HTTP/2 or another option only httpcore takes, it
keeps httpcore's own pool. Its `exchange` is one request read whole, for callers that write the
request themselves (`kickserv.direct`): without the `httpx.Request` and `httpx.Response` around it.

History: httpcore 1.0's pool re-examined the whole pool (and polled each idle socket) for every
request; with the 50-odd connections a level opens, 50 concurrent GETs over warm connections spent
~330 ms of CPU before the last was written. A `LinearPool` made that one pass (2026-11); the wire
pool replaced it (2026-12-03), its bookkeeping constant per request.

`SendGate` holds an answer until its level's calls are written (see the class).
"""

from __future__ import annotations

import asyncio
import heapq
from typing import Any

import httpcore
import httpx
from httpx._transports.default import map_httpcore_exceptions

from kickserv.wire import Origin, WirePool

__all__ = [
    "Answer",
    "PooledTransport",
    "SendGate",
    "SendTicket",
    "send_gate",
]

# httpx transport options the wire pool does not take: with any of them, httpcore's pool serves.
_HTTPCORE_ONLY = ("http2", "uds", "local_address", "socket_options", "retries", "proxy")


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
    """`httpx.AsyncHTTPTransport` whose requests go through a `kickserv.wire.WirePool` (httpcore's
    own pool when it is a proxy's, may speak HTTP/2, or has options the wire pool does not take),
    with the `SendGate` of the calls made through it."""

    def __init__(self, limits: httpx.Limits, **options: Any) -> None:
        super().__init__(limits=limits, **options)
        plain = type(self._pool) is httpcore.AsyncConnectionPool and options.get("http1", True)
        if plain and not any(options.get(name) for name in _HTTPCORE_ONLY):
            self.wire: WirePool | None = WirePool(
                ssl_context=self._pool._ssl_context,
                max_connections=limits.max_connections,
                max_keepalive=limits.max_keepalive_connections,
                keepalive_expiry=limits.keepalive_expiry,
            )
        else:
            self.wire = None
        self.gate = SendGate()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """A request of `httpx.AsyncClient`'s, through the wire pool when there is one."""
        if self.wire is None:
            return await super().handle_async_request(request)
        url = request.url
        content = await request.aread()
        reply = await self.wire.request(
            request.method,
            origin_of(url),
            url.raw_path,
            request.headers.raw,
            content or None,
            request.extensions,
        )
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=httpx.ByteStream(reply.body),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reply.reason},
        )

    async def exchange(
        self,
        method: str,
        origin: Origin,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
        extensions: dict[str, Any],
    ) -> Answer:
        """One request read whole, for callers that write it themselves (`kickserv.direct`):
        without the httpx request and response objects; httpx's exceptions, the body decoded as
        its Content-Encoding says."""
        if self.wire is not None:
            reply = await self.wire.request(method, origin, target, headers, content, extensions)
            status, raw, body = reply.status, reply.headers, reply.body
        else:
            scheme, host, port = origin
            url = httpcore.URL(scheme=scheme, host=host, port=port, target=target)
            request = httpcore.Request(
                method, url, headers=headers, content=content, extensions=extensions
            )
            with map_httpcore_exceptions():
                response = await self._pool.handle_async_request(request)
                try:
                    body = await response.aread()
                finally:
                    await response.aclose()
            status, raw = response.status, response.headers
        if any(key.lower() == b"content-encoding" for key, _ in raw):
            body = httpx.Response(status, headers=raw, content=body).content
        return Answer(status, raw, body)

    async def aclose(self) -> None:
        if self.wire is not None:
            await self.wire.aclose()
        await super().aclose()

    async def __aexit__(self, *exc_info: Any) -> None:  # httpx's skips `aclose`
        if self.wire is not None:
            await self.wire.aclose()
        await super().__aexit__(*exc_info)


def origin_of(url: httpx.URL) -> Origin:
    """The (scheme, host, port) `url` is sent to, its port made explicit."""
    scheme = url.scheme
    port = url.port if url.port is not None else (443 if scheme == "https" else 80)
    return scheme, url.raw_host.decode("ascii"), port


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
