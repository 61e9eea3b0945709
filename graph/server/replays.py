"""Exact repeats of a request a response cache hit answered, answered again without deciding again.

A response cache hit (graph.server.response_cache) still reads the request's parameters,
authenticates the caller, resolves the document (the caller's persisted-query policy), finds the
validated document and measures it against the limits and the caller's budget. For a request
identical to one a hit answered (same method, path, query string and body, and every header but
``IGNORED_HEADERS``) each of those steps decides the same again: they read only the request and what
the server loaded at start (its settings, the API keys, the trusted-document manifests). ``Replays``
keeps, per exact request (its sha256: no API key or token is kept in clear), what they decided: the
caller, the response cache key, what the access log and metrics were told, the operation's trace
attributes. A repeat is answered once what may have changed since is checked as a hit checks it:
the tenant's write generation, read as every request reads it (``Tenant.sync``: the writes of every
process, cheap while the state store says nothing was committed), still the key's, and the response
still in the response cache and fresh. Otherwise the request goes the whole way, as any other.

Never kept: batches, and requests whose document resolver does not say ``replayable``. Ours says so
of the query text under the open policy and of a manifest's operations; not of a document found by
an APQ hash or a manifest operation sent in other spacing (what the server keeps at run time), nor
of one the audit policy logs each time. The headers left out of the key are read by nothing under
the endpoint: the access log reads ``X-Request-Id`` and tracing the trace context around it, and
the rest describe the connection or the client. Every other header is in the key, so one that comes
to matter is there already. At most ``max_entries`` repeats are kept, least recently used first.

The lane (``ReplayLane``): once a repeat was answered this way, with the state store's change mark
read before its generation was checked (``graph.server.tenancy``: the embedded store's WAL index
header), the next repeats are answered before the app's middleware and the endpoint: its body read
as the endpoint reads it (the same limits and time limit; a failure is handed on for the endpoint
to answer as its own), its key, the mark read again, the response looked up. An unchanged mark means nothing was committed to the store since, by any process, so
the tenant's write generation is what it was; a changed one (or a store without a mark: Redis, no
store) sends the request the whole way, which checks the generation and takes the new mark. The
lane answers with the same bytes and headers (``X-Request-Id`` echoed), counts the same metrics and
logs the same access line; it stands aside under tracing and for a CORS request (an ``Origin``
header, with ``GRAPH_CORS_ORIGINS`` set), whose answers other layers add to.

Under ``serve``'s protocol (graph.server.protocol) the lane is asked before ASGI, once a request's
body has come whole with its head: ``head_of`` then ``answer_now`` decide exactly what its ASGI step
decides (the same key, checks, answer and ``X-Request-Id``), the protocol writes the answer, and
``answered`` logs and counts it as the ASGI step does. A request it does not answer there goes on
to ASGI, where the lane, asked already, stands aside. Its ASGI step (``__call__``) serves every
other server (tests through ``httpx.ASGITransport``, stock uvicorn) and a body that came late.
A request the lane answered there may be known by its bytes on the wire (``learn_wire``): the same
bytes again are the same request, so ``answer_wire`` asks with the key and head found before.
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.types import Message, Receive, Scope, Send

from graph.schema.errors import GraphError
from graph.server.http_headers import CachePolicy
from graph.server.observe import (
    REQUEST_ID_HEADER,
    STARTED,
    Notes,
    RequestRecord,
    access_logger,
    current_notes,
    finish_request,
    loggable,
    note_again,
    replayed,
    request_id_from,
)
from graph.server.requests import content_type_of, declared_length, read_body, state_of
from graph.server.response_cache import CachedResponse, ResponseCache, ResponseKey
from resolvers.bounded import BytesLRU

if TYPE_CHECKING:
    from graph.server.metrics import Metrics

logger = logging.getLogger("graph.server.replays")

IGNORED_HEADERS = frozenset(
    {
        b"host",
        b"user-agent",
        b"connection",
        b"keep-alive",
        b"accept-encoding",
        b"content-length",  # the body is in the key
        b"origin",  # CORS answers around the endpoint
        b"referer",
        b"x-request-id",
        b"traceparent",
        b"tracestate",
        b"baggage",
    }
)
REPLAYED_TRACE = {"kickserv_graph.document_cache": "hit", "kickserv_graph.response_cache": "hit"}
"""What a replay's span says beyond the operation: a hit's attributes (no parse, no execution)."""
MAX_BODY = 16 * 1024  # bytes of a request body that may be replayed
MAX_WIRES = 256  # requests kept by their bytes on the wire (``ReplayLane.wire_of``)
MAX_WIRE_BYTES = MAX_BODY + 4096  # the most bytes of one such request
ENTRY_COST = 1024  # a replay's key, caller, notes and attributes, roughly
_SEEN = "replay.key"  # the request's key in its state, while a hit may still remember it
_REPLAYABLE = "replay.ok"  # set by the document resolver: the document is the request's own
_MEDIA_TYPE = "replay.media_type"  # what the request's Accept chose, while it may be remembered
KEY = "replay.seen"  # the request's key, once the lane computed it: not hashed twice
_ASKED = "replay.asked"  # the lane was asked below ASGI (graph.server.protocol): not again


@dataclass(slots=True)
class Replay:
    """What the steps before a response cache hit decided for one exact request."""

    caller: Any  # what authentication made of it (the request's ``caller``; None: no such step)
    key: ResponseKey
    notes: Notes | None  # what the access log and metrics were told
    trace: Mapping[str, str | bool | int] | None  # its span's attributes, when tracing
    content_type: bytes  # the answer's, as the request's Accept chose it
    # The lane's: the state store's change mark read before the generation was last found to be
    # the key's (None: not yet, or the store has none), and the tenant that request read.
    mark: object | None = None
    tenant: Callable[[], Any] | None = None
    counted: tuple[Any, Any] | None = None  # its request counter and duration histogram


class Replays:
    """The replays of one endpoint's requests, over its response cache."""

    def __init__(self, cache: ResponseCache, max_entries: int) -> None:
        self.cache = cache
        self._entries: BytesLRU[bytes, Replay] = BytesLRU(max_entries * ENTRY_COST, max_entries)

    def __len__(self) -> int:
        return len(self._entries)

    async def answer(self, request: Request, seen: bytes) -> tuple[Replay, CachedResponse] | None:
        """The response a hit would answer ``request`` (whose key is ``seen``) with, if it is a
        repeat still valid; None: it goes the whole way (and may be remembered again)."""
        replay = self._entries.get(seen)
        if replay is None:
            return None
        state = state_of(request)
        if replay.caller is not None:
            state["caller"] = replay.caller
        change_mark = self.cache.change_mark
        mark = None if change_mark is None else change_mark()  # before the generation is read
        tenant = await self.cache.tenant_of(request)  # the write generation, as every request
        key = replay.key
        entry = None
        if tenant is not None and tenant[0] == key[0] and tenant[1] == key[1]:
            entry = self.cache.lookup(key, count_miss=False)
        if entry is None:
            self._entries.pop(seen)
            return None
        self.cache.counters["replays"] += 1
        note_again(replay.notes)
        synced = state.get("synced")  # the tenant the generation was read for (tenancy)
        replay.mark, replay.tenant = mark, None if synced is None else weakref.ref(synced)
        return replay, entry

    def peek(self, seen: bytes) -> Replay | None:
        """The replay of the request whose key is ``seen``, if one is kept (nothing checked)."""
        return self._entries.get(seen)

    def forget(self, seen: bytes) -> None:
        self._entries.pop(seen)

    def expect(self, request: HTTPConnection, seen: bytes, media_type: str) -> None:
        """``request`` (whose key is ``seen``, answered as ``media_type``) may be remembered if a
        hit answers it, and if its document resolver says ``replayable``."""
        state = state_of(request)
        state[_SEEN] = seen
        state[_MEDIA_TYPE] = media_type

    def remember(
        self,
        request: HTTPConnection,
        key: ResponseKey,
        trace: Mapping[str, str | bool | int] | None,
    ) -> None:
        """A response cache hit under ``key`` answered ``request``: its repeats may be replayed."""
        state = state_of(request)
        seen = state.pop(_SEEN, None)
        if seen is not None and state.pop(_REPLAYABLE, False):
            content_type = content_type_of(state.get(_MEDIA_TYPE, "application/json"))
            replay = Replay(state.get("caller"), key, current_notes(), trace, content_type)
            self._entries.put(seen, replay, ENTRY_COST)


def replayable(request: HTTPConnection) -> None:
    """For a document resolver: the document ``request`` resolved to is what an identical request
    resolves to whatever the server keeps at run time, with nothing else to do (nothing stored, no
    line logged), so its repeats may be replayed. A resolver that does not say so is never
    replayed."""
    state_of(request)[_REPLAYABLE] = True


def key_of(scope: Scope, body: bytes) -> bytes | None:
    """``request_key``, or the key the lane already found for this request."""
    state = scope.get("state")
    seen: bytes | None = None if state is None else state.pop(KEY, None)
    return seen if seen is not None else request_key(scope, body)


def request_key(scope: Scope, body: bytes) -> bytes | None:
    """The sha256 of everything in the request that can change its answer. None: a body over
    ``MAX_BODY`` (a query's is far smaller: a large one is not hashed for nothing), or a header
    value holding a line break, so the framing below would not be exact (HTTP parsers refuse it)."""
    return _keyed(scope, Head(scope), body)


class Head:
    """What the lane reads of a request's headers, in one pass: the lines its key frames (None: a
    header holds a line break), its Content-Length, its X-Request-Id and whether it has an Origin."""

    __slots__ = ("content_length", "lines", "origin", "request_id")

    def __init__(self, scope: Scope) -> None:
        lines: list[bytes] | None = [scope["method"].encode("latin-1")]
        content_length = request_id = None
        origin = False
        for name, value in scope["headers"]:
            if name not in IGNORED_HEADERS:
                if lines is not None:
                    line = name + b":" + value
                    if b"\n" in line:
                        lines = None
                    else:
                        lines.append(line)
            elif name == b"content-length":
                if content_length is None:  # the first, as the endpoint reads it
                    content_length = value
            elif name == REQUEST_ID_HEADER:
                if request_id is None:  # the first, as observe reads it
                    request_id = value
            elif name == b"origin":
                origin = True
        self.lines = lines
        self.content_length = content_length
        self.request_id = request_id
        self.origin = origin


def _keyed(scope: Scope, head: Head, body: bytes) -> bytes | None:
    lines = head.lines
    if lines is None or len(body) > MAX_BODY:
        return None
    path = (scope.get("root_path", "") + scope["path"]).encode("utf-8", "surrogateescape")
    query_string: bytes = scope["query_string"]
    framed_head = b"\n".join(lines)
    framed = b"%d %d %d\n%b%b%b%b" % (
        len(path),
        len(query_string),
        len(framed_head),
        path,
        query_string,
        framed_head,
        body,
    )
    return hashlib.sha256(framed).digest()


@dataclass(slots=True)
class Answer:
    """The lane's answer to one request: its headers and body, and what its access line and
    metrics are made of once it is sent."""

    replay: Replay
    request_id: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    started: float  # what its duration counts from
    seen: bytes  # the request's key


@dataclass(frozen=True, slots=True)
class Wire:
    """A request the lane answered below ASGI, known by its bytes on the wire (graph.server.protocol):
    what the lane read of them. The same bytes again are the same request (method, path, query
    string, headers, body), so they have the same key and head."""

    seen: bytes
    head: Head
    path: str


class ReplayLane:
    """Answers exact repeats of replayed requests ahead of the app's middleware and endpoint (see
    the module docstring). As an ASGI step (``__call__``): None when it answered, else the
    ``receive`` the request goes on with (what the lane read of its body, then the rest). Below
    ASGI (graph.server.protocol): ``head_of`` a request whose body is not read yet, ``answer_now``
    once it is, then ``answered`` once the answer is written."""

    def __init__(
        self,
        replays: Replays,
        cache_policy: CachePolicy,
        metrics: Metrics | None,
        *,
        cors: bool,
        max_body_bytes: int,
        body_timeout: float | None,
    ) -> None:
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.replays = replays
        self.cache = replays.cache
        self.cache_policy = cache_policy
        self.metrics = metrics
        self.cors = cors
        self._max_whole = min(MAX_BODY, max_body_bytes)  # a body read whole and keyed
        self._wires: dict[bytes, Wire] = {}  # oldest first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        if scope["method"] != "POST":
            return receive
        state = scope.setdefault("state", {})
        if state.pop(_ASKED, False):
            return receive
        started = time.perf_counter()  # the access line's duration counts from here
        state[STARTED] = started
        head = Head(scope)
        length = head.content_length
        try:  # as the endpoint reads it: a failure is the endpoint's to answer, as its own
            body = await read_body(
                receive,
                None if length is None else length.decode("latin-1"),
                self.max_body_bytes,
                self.body_timeout,
            )
        except (GraphError, ClientDisconnect) as failure:
            return _raising(failure)
        answer = self._answer(scope, head, body, started)
        if answer is None:
            return _first({"type": "http.request", "body": body, "more_body": False}, receive)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
            await send({"type": "http.response.body", "body": answer.body})
        finally:
            self.answered(scope["path"], answer)
        return None

    def head_of(self, scope: Scope) -> Head | None:
        """What the lane reads of the head of a request it may answer once its body has come:
        a POST whose Content-Length says a body the endpoint would read whole and the lane would
        key (at most ``MAX_BODY``). None: the request goes to ``__call__`` as any other (which
        hands a body the endpoint refuses on to the endpoint)."""
        if scope["method"] != "POST":
            return None
        head = Head(scope)
        length = head.content_length
        if length is None:
            return None
        declared = declared_length(length.decode("latin-1"), self._max_whole)
        return head if declared is not None and declared <= self._max_whole else None

    def answer_now(self, scope: Scope, head: Head, body: bytes) -> Answer | None:
        """What ``__call__`` decides of a request (whose ``head_of`` is ``head``) with its whole
        ``body`` read: its answer, or None: the request goes the whole way, ``__call__`` stands
        aside for it (it was asked)."""
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state[STARTED] = started
        answer = self._answer(scope, head, body, started)
        if answer is None:
            state[_ASKED] = True
        return answer

    def wire_of(self, data: bytes) -> Wire | None:
        """The request the lane answered whose bytes on the wire were exactly ``data``, if kept."""
        return self._wires.get(data)

    def learn_wire(self, data: bytes, wire: Wire) -> None:
        """``data`` was exactly one request's bytes, and the lane answered it: ``wire`` is what it
        read of them. At most ``MAX_WIRES`` are kept (the oldest goes first), each of at most
        ``MAX_WIRE_BYTES``."""
        wires = self._wires
        if len(data) > MAX_WIRE_BYTES:
            return
        if len(wires) >= MAX_WIRES and data not in wires:
            del wires[next(iter(wires))]
        wires[data] = wire

    def unlearn_wire(self, data: bytes) -> None:
        self._wires.pop(data, None)

    def _answer(self, scope: Scope, head: Head, body: bytes, started: float) -> Answer | None:
        seen = _keyed(scope, head, body)
        if seen is None:
            return None
        scope["state"][KEY] = seen
        return self._answer_seen(seen, head, started)

    def answer_wire(self, wire: Wire) -> Answer | None:
        """``answer_now`` of a request whose bytes on the wire are those of ``wire``, one the lane
        answered before (its key and head are those): nothing of it is parsed or hashed again.
        None: it goes the way any request goes (``head_of`` and ``answer_now`` first)."""
        return self._answer_seen(wire.seen, wire.head, time.perf_counter())

    def _answer_seen(self, seen: bytes, head: Head, started: float) -> Answer | None:
        try:
            found = self._found(seen, head)
        except Exception:  # a bug of ours: the request goes the whole way, which answers it
            logger.exception("The replay lane failed; the request goes the whole way")
            found = None
        if found is None:
            return None
        replay, entry = found
        request_id = request_id_from(head.request_id)
        answer = entry.body
        headers = [
            (b"content-type", replay.content_type),
            (b"content-length", b"%d" % len(answer)),
            *self.cache_policy.headers(self.cache.fresh_for(entry.expires_at)),
            (REQUEST_ID_HEADER, request_id.encode("latin-1")),
        ]
        return Answer(replay, request_id, headers, answer, started, seen)

    def answered(self, path: str, answer: Answer) -> None:
        """``answer`` to a request for ``path`` was sent (or sending it failed): its access line
        and metrics."""
        duration = time.perf_counter() - answer.started
        replay = answer.replay
        counted = replay.counted
        if counted is None or access_logger.isEnabledFor(logging.INFO):
            record = RequestRecord(answer.request_id, "POST", loggable(path), graphql=True)
            replayed(record, replay.notes)
            finish_request(record, 200, duration, self.metrics)
            if self.metrics is not None:  # the next repeats count in the same series
                replay.counted = self.metrics.request_children(record)
        else:  # what finish_request does of a replay when no access line is written
            counted[0].inc()
            counted[1].observe(duration)

    def _found(self, seen: bytes, head: Head) -> tuple[Replay, CachedResponse] | None:
        """The replay and response for the request keyed ``seen`` when the lane may answer it."""
        replay = self.replays.peek(seen)
        if replay is None or replay.mark is None or replay.tenant is None:
            return None
        if self.cors and head.origin:
            return None
        change_mark = self.cache.change_mark
        if change_mark is None or change_mark() != replay.mark:
            return None  # something was committed since: the whole way checks the generation
        tenant = replay.tenant()
        if tenant is None:  # the registry let it go: the whole way makes it again
            return None
        entry = self.cache.lookup(replay.key, count_miss=False)
        if entry is None:
            self.replays.forget(seen)
            return None
        tenant.used_at = time.monotonic()  # as the registry's lookup marks it
        self.cache.counters["replays"] += 1
        return replay, entry


def _raising(failure: Exception) -> Receive:
    """A ``receive`` that fails as reading the body failed."""

    async def failed() -> Message:
        raise failure

    return failed


def _first(message: Message, receive: Receive) -> Receive:
    """``receive``, but ``message`` (already received) first."""
    pending = [message]

    async def again() -> Message:
        return pending.pop() if pending else await receive()

    return again
