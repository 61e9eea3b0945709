"""uvicorn's httptools protocol with the two limits it lacks: the size of a request's head and the
time it may take to arrive.

uvicorn's httptools protocol feeds the parser every byte a client sends and keeps a header in memory
until its line ends, however long (one 191 MB header line grew a server by about 360 MB), and it has
no timeout for a head that never finishes: a client trickling one header byte at a time holds its
connection (and a file descriptor) forever. ``GuardedHttpToolsProtocol`` adds what a careful
gateway has (nginx's ``large_client_header_buffers`` and ``client_header_timeout``):

- **head size**: the bytes a request's head (request line and headers) may take,
  ``GRAPH_MAX_HEADER_BYTES``; past it the client gets ``431 Request Header Fields Too Large`` and
  the connection is closed, before the parser keeps more;
- **head timeout**: from a connection's opening (or the first read of a request's head that does
  not finish it, on a kept-alive connection) to the end of the head, ``GRAPH_HEADER_TIMEOUT_S``;
  past it the client gets ``408 Request Timeout`` and the connection is closed. A connection
  opened and left silent is closed the same way. (The body has its own timeout: ``GRAPH_BODY_TIMEOUT_S``, ``graph.server.requests``.)

It stays on httptools (h11, which can bound a head with ``h11_max_incomplete_event_size``, is pure
Python and has no head timeout either). Every worker reads the limits from the environment, as it
builds its app (``serve.create_app_from_env``); ``configure`` sets them in one process (tests).

It also writes a response whole: uvicorn writes a response's head (status line and headers) and
then its body, two writes, so two ``send`` system calls and two TCP segments for every small
answer, and as much work again for the client reading them. ``HeadHeld``, the transport each
response cycle writes through, holds the head until the body's first write and sends both in one;
a head whose body does not follow within the same turn of the event loop (a stream that waits
for its first event, a HEAD answer, a ``100 Continue``) goes out on the next turn, on its own.
Measured under the bench's load (the small query's response cache hits, 32 connections, the
Python load generator, 2026-12-03): CPU per hit 74 -> 52 us in our server.

And it answers the replay lane's repeats below ASGI. A repeat the lane answers (graph.server.replays
``ReplayLane``) needs nothing of what uvicorn does around an ASGI app: a task per request, its
``receive`` and ``send`` coroutines, the proxy headers middleware (the lane reads neither the
client's address nor the scheme), ``send``'s check of each header with regular expressions. So when
the app is a ``GraphApp`` with a lane (found as a connection is made, through uvicorn's
``ProxyHeadersMiddleware`` only: any other wrapper might add to an answer), the connection's
protocol is a ``ReplayingProtocol`` (any other app's costs no more than before), and a request the
lane may answer (a POST to ``/graphql`` with a Content-Length it would read whole, no ``Expect:
100-continue``, no upgrade, nothing of its connection in flight or queued before it, the app not
refused for concurrency, no line of uvicorn's own access log to write) does not start its ASGI task
at the end of its head. Once its body is complete, within the same read, the lane is asked
synchronously (``ReplayLane.answer_now``: the key, checks, answer, access line and metrics of its
ASGI step). When it answers, the response (status line, uvicorn's default headers such as ``date``,
the lane's, ``connection: close`` when the connection ends, the body) goes out in one write and the
request ends as uvicorn ends one (keep-alive or close, the request count, reading resumed, the next
queued request or the keep-alive timer). Otherwise, or when the body did not come whole with its
head in one read (its time limit is the endpoint's to keep), the ASGI task starts as uvicorn would
have started it, with what has come of the body, and the request goes the whole way (the lane, asked
already, stands aside). Callgrind, the whole server on one kept-alive connection (2026-12-03):
258.9K -> 188.0K instructions per replayed hit, the HTTP ceiling (bench.targets) 138.9K.

Nor does such a repeat need parsing again. When a read brought exactly one request, whole, and the
lane answered it (kept alive), the lane keeps those bytes with what it read of them
(``ReplayLane.learn_wire``: its key, head and path; at most ``MAX_WIRES`` requests). A read that
brings exactly those bytes again, on any connection between requests (the parser holds no part of
one, nothing of the connection is in flight or queued, the app not refused for concurrency, no
line of uvicorn's access log to write), is the same request: the lane is asked with what it read
before (``answer_wire``: the same checks, the change mark, the response cache's entry), and its
answer written as above, the request ended as uvicorn ends a kept-alive one; the parser never sees
the bytes, and is between requests after them as before. When the lane does not answer, the bytes
are forgotten and go to the parser, the way any request goes. Under the bench's load (the small
query's response cache hits, 32 connections, 2026-12-03): server CPU 36 -> 14 us per hit, the
HTTP ceiling's 20 us (it answers through ASGI).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, cast

from starlette.types import Scope
from uvicorn._types import ASGI3Application
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from graph.server.app import GraphApp
from graph.server.replays import Answer, Head, ReplayLane, Wire
from graph.server.settings import Settings

logger = logging.getLogger("graph.server.protocol")


@dataclass(frozen=True)
class HeadLimits:
    max_bytes: int
    timeout: float  # seconds; 0: none


_limits: HeadLimits | None = None


def configure(limits: HeadLimits | None) -> None:
    """Set the limits of every protocol made from now on in this process (None: from the
    environment, on the next connection)."""
    global _limits
    _limits = limits


def head_limits() -> HeadLimits:
    global _limits
    if _limits is None:
        settings = Settings.from_env()
        _limits = HeadLimits(settings.max_header_bytes, settings.header_timeout)
    return _limits


def _response(status: bytes, message: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
        b"content-length: "
        + str(len(message)).encode()
        + b"\r\nconnection: close\r\n\r\n"
        + message
    )


TOO_LARGE = _response(b"431 Request Header Fields Too Large", b"Request headers too large.")
TOO_SLOW = _response(b"408 Request Timeout", b"Request headers took too long to arrive.")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that bounds each request head in bytes and in time. A connection to a
    ``GraphApp`` with a replay lane is a ``ReplayingProtocol``: one to any other app costs nothing
    more per request."""

    # Each new request's cycle writes through a HeadHeld from the end of its head (a
    # ReplayingProtocol's from the start of its task: a replay answered below ASGI needs none).
    _held_from_head = True

    def __new__(cls, *args: Any, **kwargs: Any) -> GuardedHttpToolsProtocol:
        if cls is GuardedHttpToolsProtocol:
            config = kwargs.get("config", args[0] if args else None)
            if _graph_app(getattr(config, "loaded_app", None)) is not None:
                cls = ReplayingProtocol
        protocol: GuardedHttpToolsProtocol = super().__new__(cls)
        return protocol

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = head_limits()
        self._max_head = limits.max_bytes
        self._head_timeout = limits.timeout
        self._in_head = True  # a connection begins with a head
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head:
                self._refuse(TOO_LARGE)
                return
        super().data_received(data)
        # Timed only once a read leaves a head unfinished: a head that arrives whole (nearly every
        # request's) costs no timer.
        if self._in_head and self._head_timer is None:
            self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._in_head:  # the next request on a kept-alive connection
            self._in_head = True
            self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        before = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle is not before and self._held_from_head:  # a new request's
            cycle.transport = HeadHeld(self.transport, self.loop)  # type: ignore[assignment]

    def _arm(self) -> None:
        self._disarm()
        if self._head_timeout > 0:
            self._head_timer = self.loop.call_later(self._head_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and (self.cycle is None or self.cycle.response_complete):
            self._refuse(TOO_SLOW)

    def _refuse(self, response: bytes) -> None:
        self._in_head = False
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()


class ReplayingProtocol(GuardedHttpToolsProtocol):
    """``GuardedHttpToolsProtocol`` that answers the replay lane's repeats below ASGI (see the
    module docstring), for a connection to a ``GraphApp`` with a lane."""

    _held_from_head = False  # ``_start`` makes the cycle's HeadHeld

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The app whose lane is asked, a request whose ASGI task waits for its body (its cycle, the
        # lane, what the lane read of its head), and the response head's lines for the default
        # headers last seen (None: some the lane may not write).
        self._graph = _graph_app(self.app)
        self._lane = None if self._graph is None else self._graph.lane
        self._deferring = False
        self._waiting: tuple[RequestResponseCycle, ReplayLane, Head] | None = None
        self._defaults: tuple[list[tuple[bytes, bytes]], bytes | None] | None = None
        # Between requests (the parser holds no part of one), the requests begun in the current
        # read, and what the lane read of one it answered in it (a ``Wire``: kept-alive ones only).
        self._boundary = True
        self._begun = 0
        self._wire: Wire | None = None

    def data_received(self, data: bytes) -> None:
        lane = self._lane if self._boundary and self._waiting is None else None
        if lane is not None:
            wire = lane.wire_of(data)
            if wire is not None:
                if self._replay_wire(lane, wire):
                    return
                lane.unlearn_wire(data)
            self._begun = 0
            self._wire = None
        super().data_received(data)
        if lane is not None and self._wire is not None:
            if self._begun == 1 and self._boundary:  # ``data`` was that request, whole
                lane.learn_wire(data, self._wire)
            self._wire = None
        waiting = self._waiting
        if waiting is not None:  # its body did not come whole with its head: the whole way
            self._waiting = None
            self._start(waiting[0], self.app)

    def on_headers_complete(self) -> None:
        # Its ASGI task may wait for its body (``_start_asgi_task``) unless it needs an answer
        # before its body (100 Continue), is an upgrade, or uvicorn's access log would write a line
        # for it.
        self._deferring = (
            self._graph is not None
            and not self.expect_100_continue
            and not self.parser.should_upgrade()
            and not self._logs_access()
        )
        try:
            super().on_headers_complete()
        finally:
            self._deferring = False

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # Called by uvicorn for a request with nothing of its connection before it, as its head
        # ends, or for the next queued request once the one before it is answered.
        if self._deferring and app is self.app and self._graph is not None:
            scope = _scope(cycle)
            lane = self._graph.lane_for(scope)
            head = None if lane is None else lane.head_of(scope)
            if lane is not None and head is not None:
                self._waiting = (cycle, lane, head)
                return
        self._start(cycle, app)

    def _start(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        cycle.transport = HeadHeld(self.transport, self.loop)  # type: ignore[assignment]
        super()._start_asgi_task(cycle, app)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._boundary = False
        self._begun += 1

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._boundary = True
        waiting = self._waiting
        if waiting is not None and waiting[0] is self.cycle:
            self._waiting = None
            self._replay(*waiting)

    def _replay(self, cycle: RequestResponseCycle, lane: ReplayLane, head: Head) -> None:
        """The lane's answer to the request of ``cycle``, whose body is complete, written whole;
        or its ASGI task started."""
        defaults = self._default_lines(cycle.default_headers)
        answer = None
        if defaults is not None and self._may_write():
            try:
                answer = lane.answer_now(_scope(cycle), head, bytes(cycle.body))
            except Exception:  # a bug of ours: the whole way answers it
                logger.exception(
                    "The replay lane failed below ASGI; the request goes the whole way"
                )
        if answer is None or defaults is None:
            self._start(cycle, self.app)
            return
        self.transport.write(_whole(answer, defaults, cycle.keep_alive))
        # What uvicorn's ``send`` does once a response is complete.
        cycle.response_started = cycle.response_complete = True
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()
        path = _scope(cycle)["path"]
        if cycle.keep_alive:
            self._wire = Wire(answer.seen, head, path)
        self._counted(lane, path, answer)

    def _replay_wire(self, lane: ReplayLane, wire: Wire) -> bool:
        """The lane's answer to a request that came whole in one read, whose bytes are those of
        one it answered before (``wire``): written as ``_replay`` writes it, the request ended as
        uvicorn ends a kept-alive one, nothing of it parsed (the parser, between requests before
        these bytes, is between requests after them). False: nothing was done, the bytes go to
        the parser."""
        previous = self.cycle
        limit = self.limit_concurrency
        if (
            (previous is not None and not previous.response_complete)
            or self.pipeline
            or not self._may_write()
            or self._logs_access()
            or (limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit))
        ):
            return False
        defaults = self._default_lines(self.server_state.default_headers)
        if defaults is None:
            return False
        try:
            answer = lane.answer_wire(wire)
        except Exception:  # a bug of ours: the bytes go to the parser, the whole way answers
            logger.exception("The replay lane failed below ASGI; the request goes the whole way")
            return False
        if answer is None:
            return False
        self._unset_keepalive_if_required()
        self._in_head = False  # the head came whole: what on_headers_complete does of it
        self._disarm()
        self.transport.write(_whole(answer, defaults, True))
        self.on_response_complete()  # what the cycle's ``on_response`` does
        self._counted(lane, wire.path, answer)
        return True

    def _may_write(self) -> bool:
        """The connection takes a write now: not paused by its reader, not closing."""
        return not self.flow.write_paused and not self.transport.is_closing()

    def _logs_access(self) -> bool:
        """uvicorn's own access log writes a line for each request (with the client's address as
        the proxy headers middleware leaves it): such a request goes through ASGI."""
        return bool(self.access_log and self.access_logger.isEnabledFor(logging.INFO))

    @staticmethod
    def _counted(lane: ReplayLane, path: str, answer: Answer) -> None:
        try:
            lane.answered(path, answer)
        except Exception:
            logger.exception("The replay lane failed to count an answer")

    def _default_lines(self, defaults: list[tuple[bytes, bytes]]) -> bytes | None:
        """uvicorn's default headers (``date``, those configured) as its ``send`` writes them;
        None: one it would refuse or that says how the response is framed or ends (the lane
        stands aside). Made once per list: uvicorn makes a new one when the date changes."""
        made = self._defaults
        if made is None or made[0] is not defaults:
            made = self._defaults = (defaults, _header_lines(defaults))
        return made[1]


def _scope(cycle: RequestResponseCycle) -> Scope:
    return cast("Scope", cycle.scope)  # uvicorn's TypedDict, an ASGI scope


def _graph_app(app: Any) -> GraphApp | None:
    """The ``GraphApp`` uvicorn runs, if it has a replay lane and nothing but uvicorn's proxy
    headers middleware (which changes only what the lane does not read) wraps it."""
    while isinstance(app, ProxyHeadersMiddleware):
        app = app.app
    return app if isinstance(app, GraphApp) and app.lane is not None else None


_FRAMING = (b"content-length", b"transfer-encoding", b"connection")


def _header_lines(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    lines = []
    for name, value in headers:
        name = name.lower()
        if HEADER_RE.search(name) or HEADER_VALUE_RE.search(value) or name in _FRAMING:
            return None
        lines.append(b"%b: %b\r\n" % (name, value))
    return b"".join(lines)


def _whole(answer: Answer, defaults: bytes, keep_alive: bool) -> bytes:
    """A 200 response as uvicorn's ``send`` writes it: status line, default headers, ``answer``'s
    (made by the lane: names lowercase, values without control characters), ``connection:
    close`` when the connection ends after it, then the body."""
    lines = [STATUS_LINE[200], defaults]
    lines.extend(b"%b: %b\r\n" % header for header in answer.headers)
    if not keep_alive:
        lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    lines.append(answer.body)
    return b"".join(lines)


class HeadHeld:
    """The transport one response cycle writes through: its first write (the response's head) is
    held until the next write (the body's first part) and sent with it in one write; when nothing
    follows within the same turn of the loop, it is sent alone on the next turn. Everything else is
    the connection's transport's."""

    __slots__ = ("_flush", "_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._flush: asyncio.Handle | None = None

    def write(self, data: bytes) -> None:
        flush = self._flush
        if flush is None:  # the cycle's first write
            self._held = data
            self._flush = self._loop.call_soon(self._send_held)
            return
        held = self._held
        if held is not None:
            self._held = None
            flush.cancel()
            data = held + data
        self._transport.write(data)

    def _send_held(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._send_held()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
