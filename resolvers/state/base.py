"""The state store's interface, its errors, and what both backends share (encoding, key layout).

A state store keeps what every worker process and replica must agree on:

- **records**: the ``CacheStore`` operations of ``resolvers.cache`` (``get``, ``set``, ``delete``,
  ``delete_resources``, ``add``, ``swap``), keyed by ``CacheKey(tenant, resource, key)``. The
  idempotency ledger keeps its records and write journals (with their leases) here;
- **APQ**: sha256 hex digest -> query text, each entry kept ``apq_ttl`` seconds after it was stored,
  all entries together within ``apq_max_bytes`` (the oldest go first);
- **write generations**: per tenant, a number every write bumps, drawn from one counter shared by
  all tenants so a number is never handed out twice; ``0`` for a tenant with no write (or none for
  ``generation_ttl`` seconds, after which its entry expires);
- **rate state**: one small JSON value per upstream credential (a fingerprint, never the secret),
  changed only by compare-and-set (``rate_swap``; ``rate_update`` loops over it);
- **change events**: the ``EventLog`` of ``resolvers.events``, one log per tenant (an id appended
  once, a seq never reused), kept ``event_retention`` seconds (default 7 days, longer than webhooks
  retry) and at most ``event_cap`` events per tenant; ``wait`` wakes across processes and replicas;
- **leases**: ``lease(name, holder, ttl)`` takes a named lease or renews the holder's own (the
  watcher's one-per-tenant rule), ``release`` gives it up.

Values are JSON (objects, arrays, strings, numbers, booleans, null): anything else (``Decimal``,
``datetime``, dataclasses, non-string object keys) is refused with ``TypeError`` when stored, never
silently turned into a string. Values are stored as canonical JSON (keys sorted, no spaces) and
``swap`` compares that text: ``1`` and ``1.0`` differ, a tuple and a list with the same items do not.

Every entry has a time-to-live; an expired entry is absent for every operation. ``Entry`` times are
in the caller's ``clock`` (``time.monotonic`` by default, as ``SharedCache`` uses): a store keeps the
remaining lifetime, not a timestamp, so processes with unrelated monotonic clocks agree.

Errors: ``StateStoreOpenError`` when a store cannot be opened (a corrupt or unwritable file: one
message naming the path and what to do); ``StateUnavailable`` when an operation cannot reach the
store (Redis down, unreachable, refusing our credentials, out of memory; the SQLite file locked past
its busy timeout or failing on disk). A write must refuse rather than risk a duplicate: an ``add``
or ``swap`` that raised may or may not have been applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any, Protocol

import orjson

from resolvers.cache import CacheStore, Entry
from resolvers.events import EventLog

# Defaults shared by both backends.
APQ_TTL = 7 * 24 * 3600.0
APQ_MAX_BYTES = 32 * 1024 * 1024
GENERATION_TTL = 30 * 24 * 3600.0
EVENT_RETENTION = 7 * 24 * 3600.0
EVENT_CAP = 100_000

_DIGEST = re.compile(r"[0-9a-f]{64}")
_JSON_OPTIONS = (
    orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


class StateStoreError(Exception):
    """Base of the state store's errors."""


class StateStoreOpenError(StateStoreError):
    """The store cannot be opened (corrupt or unwritable file, bad URL); the message says what to do."""


class StateUnavailable(StateStoreError):
    """The store cannot be reached now; writes must refuse (code ``STATE_UNAVAILABLE``)."""

    code = "STATE_UNAVAILABLE"


class StateStore(CacheStore, EventLog, Protocol):
    """What the embedded (SQLite) and the Redis store both do; see the module docstring."""

    @property
    def description(self) -> str:
        """Where the state lives, safe to log (no password): ``sqlite:/path`` or a Redis URL."""
        ...

    async def apq_get(self, digest: str) -> str | None:
        """The query text stored under a sha256 hex ``digest``, or None."""
        ...

    async def apq_put(self, digest: str, query: str) -> bool:
        """Store ``query`` under ``digest`` (older entries go if the byte budget is exceeded);
        False if the query alone exceeds the budget."""
        ...

    async def generation(self, tenant: str) -> int:
        """The tenant's current write generation (0 before its first write)."""
        ...

    async def bump_generation(self, tenant: str) -> int:
        """A write for ``tenant`` happened (or may have): its new generation, never seen before."""
        ...

    def change_mark(self) -> bytes | None:
        """Read without I/O: a value that differs from every earlier one once anything was
        committed to the store, by any process; None when the store cannot tell that cheaply
        (then only a read of the store says whether a generation moved)."""
        ...

    async def rate_get(self, credential: str) -> Any | None:
        """The rate state of one upstream credential (its fingerprint), or None."""
        ...

    async def rate_swap(
        self, credential: str, expected: Any | None, value: Any, ttl: float
    ) -> bool:
        """Replace the rate state only if it still equals ``expected`` (None: only if absent)."""
        ...

    async def lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease ``name`` for ``ttl`` seconds if it is free or lapsed, or renew it if
        ``holder`` has it; False while another holder's lease lasts."""
        ...

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up now, if ``holder`` has it."""
        ...

    async def ping(self) -> None:
        """Raise ``StateUnavailable`` unless the store answers now (for readiness)."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads; the store is unusable afterwards."""
        ...


async def rate_update(
    store: StateStore,
    credential: str,
    change: Callable[[Any | None], Any],
    ttl: float,
    attempts: int = 50,
) -> Any:
    """Apply ``change`` (current rate state or None -> new state) atomically by compare-and-set;
    the new state. ``change`` may run more than once (when another process changed the state in
    between), so it must not have side effects."""
    for _ in range(attempts):
        current = await store.rate_get(credential)
        updated = change(current)
        if await store.rate_swap(credential, current, updated, ttl):
            return updated
    raise StateUnavailable(
        f"The rate state of one credential changed {attempts} times while being updated."
    )


def dumps(value: Any) -> bytes:
    """Canonical JSON of a value (keys sorted, compact); TypeError for anything not JSON."""
    try:
        return orjson.dumps(value, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"State store values must be JSON values: {exc}") from None


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def key_text(key: Hashable) -> str:
    """A record key as text: strings as themselves, anything else as JSON, tagged so that the
    string "1" and the number 1 stay apart."""
    if isinstance(key, str):
        return "s" + key
    try:
        return "j" + orjson.dumps(key).decode()
    except orjson.JSONEncodeError as exc:
        raise TypeError(f"A state store key must be a string or a JSON value: {key!r}") from exc


def check_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest):
        raise ValueError("An APQ digest is a lowercase sha256 hex string (64 characters).")
    return digest


def check_ttl(ttl: float) -> float:
    if not ttl > 0:
        raise ValueError(f"A time-to-live must be positive, not {ttl!r}.")
    return ttl


def lifetime(fresh_until: float, stale_until: float, now: float) -> tuple[float, float]:
    """An ``Entry``'s (ttl, gap) from ``now`` in its clock: how long it lives, and how long of that
    is past freshness (the stale window); the ttl is <= 0 if it is already over."""
    ttl = stale_until - now
    gap = min(max(stale_until - fresh_until, 0.0), max(ttl, 0.0))
    return ttl, gap


def stored_entry(value: Any, gap: float, remaining: float, now: float) -> Entry:
    """The ``Entry`` a store holds ``remaining`` seconds more from ``now`` in its clock, the last
    ``gap`` of them past freshness: the inverse of ``lifetime``."""
    stale_until = now + remaining
    return Entry(value, stale_until - gap, stale_until)
