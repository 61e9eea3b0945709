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
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.types import Scope

from graph.server.observe import Notes, current_notes, note_again
from graph.server.requests import state_of
from graph.server.response_cache import CachedResponse, ResponseCache, ResponseKey
from resolvers.bounded import BytesLRU

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
ENTRY_COST = 1024  # a replay's key, caller, notes and attributes, roughly
_SEEN = "replay.key"  # the request's key in its state, while a hit may still remember it
_REPLAYABLE = "replay.ok"  # set by the document resolver: the document is the request's own


@dataclass(frozen=True, slots=True)
class Replay:
    """What the steps before a response cache hit decided for one exact request."""

    caller: Any  # what authentication made of it (the request's ``caller``; None: no such step)
    key: ResponseKey
    notes: Notes | None  # what the access log and metrics were told
    trace: Mapping[str, str | bool | int] | None  # its span's attributes, when tracing


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
        if replay.caller is not None:
            state_of(request)["caller"] = replay.caller
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
        return replay, entry

    def expect(self, request: HTTPConnection, seen: bytes) -> None:
        """``request`` (whose key is ``seen``) may be remembered if a hit answers it, and if its
        document resolver says ``replayable``."""
        state_of(request)[_SEEN] = seen

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
            replay = Replay(state.get("caller"), key, current_notes(), trace)
            self._entries.put(seen, replay, ENTRY_COST)


def replayable(request: HTTPConnection) -> None:
    """For a document resolver: the document ``request`` resolved to is what an identical request
    resolves to whatever the server keeps at run time, with nothing else to do (nothing stored, no
    line logged), so its repeats may be replayed. A resolver that does not say so is never
    replayed."""
    state_of(request)[_REPLAYABLE] = True


def request_key(scope: Scope, body: bytes) -> bytes | None:
    """The sha256 of everything in the request that can change its answer. None: a body over
    ``MAX_BODY`` (a query's is far smaller: a large one is not hashed for nothing), or a header
    value holding a line break, so the framing below would not be exact (HTTP parsers refuse it)."""
    if len(body) > MAX_BODY:
        return None
    lines = [scope["method"].encode("latin-1")]
    for name, value in scope["headers"]:
        if name not in IGNORED_HEADERS:
            line = name + b":" + value
            if b"\n" in line:
                return None
            lines.append(line)
    path = (scope.get("root_path", "") + scope["path"]).encode("utf-8", "surrogateescape")
    query_string: bytes = scope["query_string"]
    head = b"\n".join(lines)
    framed = b"%d %d %d\n%b%b%b%b" % (
        len(path),
        len(query_string),
        len(head),
        path,
        query_string,
        head,
        body,
    )
    return hashlib.sha256(framed).digest()
