"""Whole query responses, cached per tenant: an identical warm query is answered without executing.

Executing even a small warm query is most of its cost (graphql-core resolving every field), so the
endpoint keeps the serialized body of successful query results and answers a repeat with those
bytes. A hit still goes through authentication, document resolution (the caller's persisted-query
policy), validation and limits: they decide whether this caller may run this operation at all.
Only context creation and execution are skipped.

The key is (tenant, the tenant's write generation, sha256 of the document text, operation name,
canonical JSON of the variables). The tenant is the Kickserv account plus a fingerprint of the
credential, as in the shared cache: two credentials never share a response. The write generation
changes with every write this server makes for the tenant, so a response never outlives one
(read-your-writes). A response lives only as long as the freshest-to-expire upstream answer it was
built from (``valid_until``, from the request's reads of the shared cache and the indexes), on the
shared cache's clock, and never longer than ``max_ttl``.

Never cached: mutations, results with errors, federated-tracing requests (their trace describes an
execution), bodies over ``max_response_bytes``. Bounded by ``max_entries`` and by ``max_bytes``
(bodies, keys and bookkeeping), least recently used first.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

import orjson
from starlette.requests import Request

from resolvers.bounded import BytesLRU

ResponseKey = tuple[str, int, str, str | None, bytes]
"""(tenant, write generation, sha256 of the document, operation name, canonical variables)."""

DEFAULT_MAX_ENTRIES = 1000
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_REMEMBERED_QUERY = 16 * 1024  # document texts whose digest is remembered (bytes of memory)
ENTRY_OVERHEAD = 400  # the key tuple, its strings and the entry object, measured roughly
_NO_VARIABLES = b"{}"


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    expires_at: float


@dataclass(kw_only=True, eq=False)
class ResponseCache:
    """Serialized query responses by ``ResponseKey``; see the module docstring for the rules."""

    tenant_of: Callable[[Request], Awaitable[tuple[str, int] | None]]
    valid_until: Callable[[Any], float | None]
    clock: Callable[[], float]
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_bytes: InitVar[int] = DEFAULT_MAX_BYTES
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_ttl: float = 600.0
    hit_extensions: Mapping[str, Any] = field(default_factory=dict)
    # The state store's change mark (resolvers.generations): equal readings, nothing committed in
    # between by any process. None: the store has none (graph.server.replays' lane stands aside).
    change_mark: Callable[[], object | None] | None = None
    # hits (replays among them: graph.server.replays), misses, stored, too_large
    counters: Counter[str] = field(init=False, default_factory=Counter)
    _entries: BytesLRU[ResponseKey, CachedResponse] = field(init=False, repr=False)
    # sha256 per document text, remembered: a hit should not hash its document again.
    _digests: dict[str, str] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self, max_bytes: int) -> None:
        self._entries = BytesLRU(max_bytes, self.max_entries)

    def __len__(self) -> int:
        return len(self._entries)

    async def key(
        self,
        request: Request,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> ResponseKey | None:
        """Where the response of this request would be; None when it cannot be cached."""
        if not variables:
            canonical = _NO_VARIABLES
        else:
            try:
                canonical = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
            except TypeError:  # e.g. an integer beyond 64 bits: run it, do not cache it
                return None
        digest = self._digests.get(query)
        if digest is None:
            digest = hashlib.sha256(query.encode()).hexdigest()
            if len(query) <= MAX_REMEMBERED_QUERY:  # a large text is hashed again, not kept
                if len(self._digests) >= 2 * self.max_entries:
                    self._digests.clear()
                self._digests[query] = digest
        tenant = await self.tenant_of(request)
        if tenant is None:  # its write generation is unknown now: nothing cached can be trusted
            return None
        return (*tenant, digest, operation_name, canonical)

    def get(self, key: ResponseKey) -> bytes | None:
        entry = self.lookup(key)
        return None if entry is None else entry.body

    def lookup(self, key: ResponseKey, *, count_miss: bool = True) -> CachedResponse | None:
        """The stored response under ``key`` while it is valid (its body and until when).
        ``count_miss`` False: a miss is not counted (the request goes on to a counted lookup)."""
        entry = self._entries.get(key)
        if entry is not None and self.clock() >= entry.expires_at:
            self._entries.pop(key)
            entry = None
        if entry is None:
            if count_miss:
                self.counters["misses"] += 1
            return None
        self.counters["hits"] += 1
        return entry

    def fresh_for(self, expires_at: float) -> float:
        """Seconds left until ``expires_at`` (on this cache's clock): what HTTP may reuse it for."""
        return max(0.0, expires_at - self.clock())

    def expires_at(self, context: Any) -> float | None:
        """Until when a response built in ``context`` may be served again; None: not at all."""
        until = self.valid_until(context)
        if until is None:
            return None
        now = self.clock()
        until = min(until, now + self.max_ttl)
        return until if until > now else None

    def put(self, key: ResponseKey, body: bytes, expires_at: float) -> bool:
        """Keep ``body`` (what a hit answers, byte for byte) until ``expires_at``."""
        if len(body) > self.max_response_bytes:
            self.counters["too_large"] += 1
            return False
        if not self._entries.put(key, CachedResponse(body, expires_at), _cost(key, body)):
            self.counters["too_large"] += 1
            return False
        self.counters["stored"] += 1
        return True


def _cost(key: ResponseKey, body: bytes) -> int:
    """What keeping ``body`` under ``key`` costs in memory."""
    return len(body) + len(key[4]) + len(key[3] or "") + ENTRY_OVERHEAD
