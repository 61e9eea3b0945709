"""From an HTTP request to a ``GraphContext``: which Kickserv tenant it reads, through which loaders.

A ``Tenant`` (one per Kickserv account + credential) is created on first use and kept: it holds the
client (with its per-credential concurrency limit), the learned page size and the indexes. The shared
cache is one per process, and its keys carry the tenant, so credentials never share entries; so
does the response cache (``make_response_cache``), whose keys also carry the tenant's write generation.

Upstream protection (``UpstreamProtection``, from settings): each credential's client gets the one
rate governor of that credential (``kickserv.governor``; shared with other replicas through the state
store's rate state when there is one), each account's clients the one circuit breaker of that account
(``kickserv.breaker``), and every read one deadline. ``TenantRegistry.upstream()`` is what they are
doing, for metrics. A response that carries stale data (served because Kickserv failed, or its breaker
is open) says so in ``extensions.stale``, in production too.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import LRUCache

from graph.schema.context import GraphContext
from graph.server.observe import note_stats
from graph.server.requests import state_of
from graph.server.response_cache import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, ResponseCache
from graph.server.settings import Settings
from kickserv import (
    KickservClient,
    RateLimited,
    RetryPolicy,
    ServerError,
    Timeout,
    TransportError,
    UpstreamCall,
)
from kickserv.attempts import AttemptTrace, Observer
from kickserv.breaker import Breaker, BreakerPolicy, BreakerSnapshot
from kickserv.client import credential_fingerprint
from kickserv.governor import Governor, GovernorPolicy, GovernorSnapshot, RateShare
from resolvers.cache import DEFAULT_MAX_BYTES as DEFAULT_CACHE_BYTES
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.read_ahead import ReadAhead
from resolvers.state import StateStore, StateUnavailable, rate_update
from resolvers.stats import (
    UpstreamStats,
    current_stats,
    record_call,
    record_fresh_until,
    record_stale,
)
from resolvers.tenant import Tenant
from resolvers.writes.steps import WritePolicy

logger = logging.getLogger("graph.server.tenancy")


def is_outage(exc: BaseException) -> bool:
    """Failures where a stale cached value beats an error (stale-if-error): Kickserv failing, not
    answering, its breaker open (``CircuitOpen`` is a TransportError), or rate limiting us past
    the read's deadline."""
    return isinstance(exc, ServerError | Timeout | TransportError | RateLimited)


def count_upstream_call(call: UpstreamCall) -> None:
    record_call(call.elapsed)


@dataclass(frozen=True, slots=True)
class UpstreamProtection:
    """How Kickserv and our callers are protected (``Settings`` says; see ``protection_from``)."""

    deadline: float | None = 5.0  # seconds per read, retries included; None: no deadline
    governor: GovernorPolicy = field(default_factory=GovernorPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    share: RateShare | None = None  # where replicas share each credential's rate state


@dataclass(frozen=True, slots=True)
class UpstreamSnapshot:
    """What the protection of Kickserv is doing in this process (for metrics)."""

    governors: Mapping[str, GovernorSnapshot]  # by account:credential fingerprint, never the token
    breakers: Mapping[str, BreakerSnapshot]  # by account


class StoreRateShare:
    """The governors' ``RateShare`` over the state store's rate state (one small JSON value per
    credential fingerprint). Its errors (``StateUnavailable``) reach the governor, which logs them
    and goes on from what this process knows: they never fail a read."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def get(self, credential: str) -> Any | None:
        return await self.store.rate_get(credential)

    async def update(self, credential: str, change: Callable[[Any | None], Any], ttl: float) -> Any:
        return await rate_update(self.store, credential, change, ttl)


@dataclass
class TenantRegistry:
    """The tenants this process serves, created on first use.

    Bounded: in pass-through mode every caller's credential is a tenant, so the least recently used
    ones are dropped past ``max_tenants`` (they share the one HTTP client; only their indexes and
    learned page size go, and their cache entries expire on their own).
    """

    http: httpx.AsyncClient
    base_url: str
    cache: SharedCache
    max_per_page: int = 100
    max_concurrency: int = 32
    index_ttl: float = 120.0
    max_tenants: int = 1000
    protection: UpstreamProtection = field(default_factory=UpstreamProtection)
    trace: AttemptTrace | None = None  # wraps each HTTP attempt (graph.server.otel's client spans)
    on_call: Observer | None = None  # told of every HTTP attempt too (graph.server.metrics)
    # The tenants' cursor read-ahead (GRAPH_READ_AHEAD_PAGES; resolvers.read_ahead): off unless given.
    read_ahead: ReadAhead = field(default_factory=ReadAhead)
    _tenants: LRUCache[tuple[str, str], Tenant] = field(init=False)
    # Kept apart from the tenants (and as many): a tenant dropped and made again finds them.
    _governors: LRUCache[str, Governor] = field(init=False)
    _breakers: LRUCache[str, Breaker] = field(init=False)
    _fingerprints: dict[tuple[str, str], str] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._tenants = LRUCache(maxsize=self.max_tenants)
        self._governors = LRUCache(maxsize=self.max_tenants)
        self._breakers = LRUCache(maxsize=self.max_tenants)

    def get(self, account: str, token: str) -> Tenant:
        fingerprint = self._fingerprints.get((account, token))
        if fingerprint is None:  # a sha256 of the credential: once per credential, not per request
            if len(self._fingerprints) >= 4 * self.max_tenants:
                self._fingerprints.clear()
            fingerprint = self._fingerprints[account, token] = credential_fingerprint(
                account, token
            )
        key = (account, fingerprint)
        tenant = self._tenants.get(key)
        if tenant is None:
            client = KickservClient(
                account,
                token,
                base_url=self.base_url,
                http=self.http,
                max_concurrency=self.max_concurrency,
                on_response=self._count_call,
                retry=RetryPolicy(deadline=self.protection.deadline),
                governor=self.governor(account, fingerprint),
                breaker=self.breaker(account),
                trace=self.trace,
            )
            tenant = Tenant(
                account,
                client,
                self.cache,
                max_per_page=self.max_per_page,
                index_ttl=self.index_ttl,
                read_ahead=self.read_ahead,
            )
            self._tenants[key] = tenant
        tenant.used_at = time.monotonic()
        return tenant

    def recent(self, within: float) -> list[Tenant]:
        """The tenants a request used in the last ``within`` seconds (the watcher's, in
        pass-through mode)."""
        since = time.monotonic() - within
        return [tenant for tenant in list(self._tenants.values()) if tenant.used_at >= since]

    def __len__(self) -> int:
        return len(self._tenants)

    def _count_call(self, call: UpstreamCall) -> None:
        count_upstream_call(call)
        if self.on_call is not None:
            self.on_call(call)

    def governor(self, account: str, fingerprint: str) -> Governor:
        """The one rate governor of a credential (account + token fingerprint) in this process."""
        key = f"{account}:{fingerprint}"
        governor = self._governors.get(key)
        if governor is None:
            policy = self.protection
            governor = Governor(policy.governor, share=policy.share, credential=key)
            self._governors[key] = governor
        return governor

    def breaker(self, account: str) -> Breaker:
        """The one circuit breaker of an account in this process."""
        breaker = self._breakers.get(account)
        if breaker is None:
            breaker = self._breakers[account] = Breaker(self.protection.breaker, name=account)
        return breaker

    def upstream(self) -> UpstreamSnapshot:
        return UpstreamSnapshot(
            governors={key: g.snapshot() for key, g in list(self._governors.items())},
            breakers={account: b.snapshot() for account, b in list(self._breakers.items())},
        )

    def circuit(self, account: str | None) -> tuple[bool, str]:
        """Readiness: whether ``account``'s breaker lets calls go, and what to say of it. Without
        an account of the server's own (pass-through), how many callers' accounts are open; a
        caller's failing account does not make the server unready."""
        if not account:
            opened = sum(1 for b in list(self._breakers.values()) if b.state != "closed")
            return True, "closed" if not opened else f"open for {opened} account(s)"
        breaker = self._breakers.get(account)
        if breaker is None or breaker.state == "closed":
            return True, "closed"
        wait = breaker.retry_in()
        if breaker.state == "half-open" or wait is None:
            return False, "half-open (probing Kickserv)"
        return False, f"open (next probe in {wait:.1f} s)"


def protection_from(settings: Settings, store: StateStore | None = None) -> UpstreamProtection:
    """The protection the settings ask for (a deadline or share interval of 0: none); the
    governors share what they learn through ``store`` when there is one."""
    share_ms = settings.kickserv_rate_share_ms
    return UpstreamProtection(
        deadline=settings.kickserv_read_deadline or None,
        governor=GovernorPolicy(
            increase=settings.kickserv_rate_increase,
            decrease=settings.kickserv_rate_decrease,
            forget_after=settings.kickserv_rate_forget,
            share_every=share_ms / 1000.0,
        ),
        breaker=BreakerPolicy(
            failures=settings.kickserv_breaker_failures, open_for=settings.kickserv_breaker_open
        ),
        share=StoreRateShare(store) if store is not None and share_ms > 0 else None,
    )


def make_cache(
    enabled: bool = True, max_entries: int = 50_000, max_bytes: int = DEFAULT_CACHE_BYTES
) -> SharedCache:
    return SharedCache(
        store=MemoryStore(maxsize=max_entries, max_bytes=max_bytes),
        is_outage=is_outage,
        enabled=enabled,
        on_fresh_until=record_fresh_until,  # what a request read bounds its cached response
        on_stale=record_stale,  # the response says it carries stale data
    )


CredentialOf = Callable[[Any], tuple[str, str]]


def make_context_factory(
    registry_of: Callable[[Any], TenantRegistry],
    credential_of: CredentialOf,
    *,
    loaders_enabled: bool = True,
    write_policy: WritePolicy | None = None,
) -> Callable[[Any], Any]:
    """``context_factory(request)``: resolves the tenant and starts the request's accounting."""
    policy = write_policy or WritePolicy()

    async def context_factory(request: Any) -> GraphContext:
        account, token = credential_of(request)
        tenant = registry_of(request).get(account, token)
        if state_of(request).get("synced") is not tenant:  # the response cache did it
            await synced(tenant)
        stats = UpstreamStats()
        current_stats.set(stats)
        note_stats(stats)  # the access log and metrics read it when the request ends
        return GraphContext(
            data=RequestData(tenant, loaders_enabled=loaders_enabled),
            stats=stats,
            headers=request.headers,
            write_policy=policy,
        )

    return context_factory


async def stale_extension(context: Any, result: Any) -> dict[str, Any] | None:
    """``extensions.stale`` when the request was served stale data (every environment)."""
    stats = current_stats.get()
    stale = None if stats is None else stats.stale_extension()
    return None if stale is None else {"stale": stale}


async def upstream_extension(context: Any, result: Any) -> dict[str, Any] | None:
    """The response's ``extensions.upstream``: what this request cost Kickserv, and, when they are
    at work, what the credential's governor and the account's breaker are doing; with
    ``extensions.stale`` when it carries stale data."""
    stats = getattr(context, "stats", None)
    if not isinstance(stats, UpstreamStats):
        return None
    upstream: dict[str, Any] = stats.as_extension()
    data = getattr(context, "data", None)
    if isinstance(data, RequestData):
        upstream.update(protection_extension(data.tenant.client))
    return {"upstream": upstream, **(await stale_extension(context, result) or {})}


def protection_extension(client: KickservClient) -> dict[str, Any]:
    """``governor`` while the credential is throttled or paused, ``circuit`` while not closed."""
    extension: dict[str, Any] = {}
    governor = client.governor
    # Nearly always neither: the snapshot (every counter, rounded) only when it may say one.
    snapshot = governor.snapshot() if governor.rate is not None or governor.paused_for() else None
    if snapshot is not None and (snapshot.rate is not None or snapshot.paused_for):
        extension["governor"] = {
            "rate": None if snapshot.rate is None else round(snapshot.rate, 1),
            "pausedFor": round(snapshot.paused_for, 2),
            "queued": snapshot.queued,
        }
    if client.breaker.state != "closed":
        extension["circuit"] = client.breaker.state
    return extension


UPSTREAM_OF_A_HIT: dict[str, Any] = {
    "upstream": {**UpstreamStats().as_extension(), "responseCache": "hit"}
}
"""``extensions`` of a response cache hit: it cost Kickserv nothing."""


def response_valid_until(context: Any) -> float | None:
    """Until when the response of a request may be reused: the earliest ``fresh_until`` of what
    it read. Nothing read: as long as the cache allows. Upstream calls with nothing tracked (a
    read outside the cache): not at all."""
    stats = getattr(context, "stats", None)
    if not isinstance(stats, UpstreamStats):
        return None
    if stats.fresh_until == math.inf and (stats.calls or stats.pages):
        return None
    return stats.fresh_until


async def synced(tenant: Tenant) -> int | None:
    """Catch ``tenant`` up with the writes of every process (one read of the state store); its
    write generation, or None when the store cannot say: reads then go on from local caches."""
    try:
        return await tenant.sync()
    except StateUnavailable as exc:
        _warn_state_unavailable(exc)
        return None


_last_warning = [0.0]


def _warn_state_unavailable(exc: StateUnavailable) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= 10.0:  # one line per 10 s, not one per request
        _last_warning[0] = now
        logger.warning("State store unavailable, reads go on from local caches: %s", exc)


def make_response_cache(
    cache: SharedCache,
    credential_of: CredentialOf,
    registry_of: Callable[[Any], TenantRegistry],
    *,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    upstream_extensions: bool = True,
) -> ResponseCache:
    """A response cache keyed like ``cache`` (tenant = account + credential fingerprint), voided
    by the tenant's writes on any process (``Tenant.sync``), timed by ``cache``'s clock."""

    async def tenant_of(request: Any) -> tuple[str, int] | None:
        tenant = registry_of(request).get(*credential_of(request))
        generation = await synced(tenant)
        state_of(request)["synced"] = tenant  # the context factory need not read the store again
        return None if generation is None else (tenant.key, generation)

    return ResponseCache(
        tenant_of=tenant_of,
        valid_until=response_valid_until,
        clock=lambda: cache.clock(),  # looked up per call: a test may swap the cache's clock
        max_entries=max_entries,
        max_bytes=max_bytes,
        max_ttl=max(cache.ttls.values()),
        hit_extensions=UPSTREAM_OF_A_HIT if upstream_extensions else {},
        change_mark=lambda: cache.writes.change_mark(),  # the state store's, once attached
    )
