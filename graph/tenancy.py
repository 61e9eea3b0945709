"""From an HTTP request to a ``GraphContext``: which Kickserv tenant it reads, through which loaders.

A ``Tenant`` (one per Kickserv account + credential) is created on first use and kept: it holds the
client (with its per-credential concurrency limit), the learned page size and the indexes. The shared
cache is one per process, and its keys carry the tenant, so credentials never share entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from cachetools import LRUCache

from graph.context import GraphContext
from kickserv import KickservClient, ServerError, Timeout, TransportError, UpstreamCall
from kickserv.client import credential_fingerprint
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.stats import UpstreamStats, current_stats, record_call
from resolvers.tenant import Tenant


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
    max_concurrency: int = 8
    index_ttl: float = 120.0
    max_tenants: int = 1000
    _tenants: LRUCache[tuple[str, str], Tenant] = field(init=False)

    def __post_init__(self) -> None:
        self._tenants = LRUCache(maxsize=self.max_tenants)

    def get(self, account: str, token: str) -> Tenant:
        key = (account, credential_fingerprint(account, token))
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
    return SharedCache(store=MemoryStore(maxsize=max_entries), is_outage=is_outage, enabled=enabled)


CredentialOf = Callable[[Any], tuple[str, str]]


def make_context_factory(
    registry_of: Callable[[Any], TenantRegistry],
    credential_of: CredentialOf,
    *,
    loaders_enabled: bool = True,
) -> Callable[[Any], Any]:
    """``context_factory(request)``: resolves the tenant and starts the request's accounting."""

    async def context_factory(request: Any) -> GraphContext:
        account, token = credential_of(request)
        tenant = registry_of(request).get(account, token)
        stats = UpstreamStats()
        current_stats.set(stats)
        return GraphContext(
            data=RequestData(tenant, loaders_enabled=loaders_enabled), stats=stats, request=request
        )

    return context_factory


async def upstream_extension(context: Any, result: Any) -> dict[str, Any] | None:
    """The response's ``extensions.upstream``: what this request cost Kickserv."""
    stats = getattr(context, "stats", None)
    if not isinstance(stats, UpstreamStats):
        return None
    return {"upstream": stats.as_extension()}
