"""From an HTTP request to a ``GraphContext``: which Kickserv tenant it reads, through which loaders.

A ``Tenant`` (one per Kickserv account + credential) is created on first use and kept: it holds the
client (with its per-credential concurrency limit), the learned page size and the indexes. The shared
cache is one per process, and its keys carry the tenant, so credentials never share entries; so
does the response cache (``make_response_cache``), whose keys also carry the tenant's write generation.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import LRUCache

from graph.schema.context import GraphContext
from graph.server.response_cache import DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, ResponseCache
from kickserv import KickservClient, ServerError, Timeout, TransportError, UpstreamCall
from kickserv.client import credential_fingerprint
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.state import StateUnavailable
from resolvers.stats import UpstreamStats, current_stats, record_call, record_fresh_until
from resolvers.tenant import Tenant
from resolvers.writes.steps import WritePolicy

logger = logging.getLogger("graph.server.tenancy")


def is_outage(exc: BaseException) -> bool:
    """Failures where a stale cached value beats an error (stale-if-error)."""
    return isinstance(exc, ServerError | Timeout | TransportError)


def count_upstream_call(call: UpstreamCall) -> None:
    record_call(call.elapsed)


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
    _tenants: LRUCache[tuple[str, str], Tenant] = field(init=False)
    _fingerprints: dict[tuple[str, str], str] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._tenants = LRUCache(maxsize=self.max_tenants)

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
                on_response=count_upstream_call,
            )
            tenant = Tenant(
                account,
                client,
                self.cache,
                max_per_page=self.max_per_page,
                index_ttl=self.index_ttl,
            )
            self._tenants[key] = tenant
        return tenant

    def __len__(self) -> int:
        return len(self._tenants)


def make_cache(enabled: bool = True, max_entries: int = 50_000) -> SharedCache:
    return SharedCache(
        store=MemoryStore(maxsize=max_entries),
        is_outage=is_outage,
        enabled=enabled,
        on_fresh_until=record_fresh_until,  # what a request read bounds its cached response
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
        if getattr(request.state, "synced", None) is not tenant:  # the response cache did it
            await synced(tenant)
        stats = UpstreamStats()
        current_stats.set(stats)
        return GraphContext(
            data=RequestData(tenant, loaders_enabled=loaders_enabled),
            stats=stats,
            headers=request.headers,
            write_policy=policy,
        )

    return context_factory


async def upstream_extension(context: Any, result: Any) -> dict[str, Any] | None:
    """The response's ``extensions.upstream``: what this request cost Kickserv."""
    stats = getattr(context, "stats", None)
    if not isinstance(stats, UpstreamStats):
        return None
    return {"upstream": stats.as_extension()}


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
        request.state.synced = tenant  # the context factory need not read the store again
        return None if generation is None else (tenant.key, generation)

    return ResponseCache(
        tenant_of=tenant_of,
        valid_until=response_valid_until,
        clock=lambda: cache.clock(),  # looked up per call: a test may swap the cache's clock
        max_entries=max_entries,
        max_bytes=max_bytes,
        max_ttl=max(cache.ttls.values()),
        hit_extensions=UPSTREAM_OF_A_HIT if upstream_extensions else None,
    )
