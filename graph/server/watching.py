"""The watcher of changes made outside this server (``resolvers.watch``), run by the app: which
tenants it watches, and its start and stop with the app's lifespan.

Watched tenants, by mode:

- sandbox or one Kickserv account (``KICKSERV_ACCOUNT``, no API keys): the server's own account;
- API keys (``GRAPH_API_KEYS_FILE``): the account and credential of each key (a key without one of
  its own: the server's);
- pass-through (``GRAPH_PASS_THROUGH``): besides those, each caller's own account and token while a
  request used it in the last ``GRAPH_WATCH_IDLE_S`` seconds.

Every process (each worker of each replica) runs a ``Watcher``; per tenant, the one that holds the
tenant's lease in the state store polls, the others stand by. Without a state store
(``GRAPH_STATE_DIR=memory``) the process watches alone, its leases and snapshots in memory.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from starlette.applications import Starlette

from graph.server.app import Upstream
from graph.server.auth import ApiKeys
from graph.server.settings import Settings
from graph.server.tenancy import TenantRegistry
from resolvers.events import ChangeEvent, EventLog
from resolvers.state import StateStore
from resolvers.state.memory_events import MemoryEvents
from resolvers.tenant import Tenant
from resolvers.watch import Watcher, WatchSettings, WatchStats, WatchStore

logger = logging.getLogger("graph.server.watching")


class LocalWatchStore(MemoryEvents):
    """Leases and snapshots in this process, events in the server's own log (no state store)."""

    def __init__(self, log: EventLog) -> None:
        super().__init__()
        self.log = log

    async def append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        return await self.log.append(tenant, events)

    async def after(self, tenant: str, seq: int, limit: int = 100) -> list[ChangeEvent]:
        return await self.log.after(tenant, seq, limit)

    async def last_seq(self, tenant: str) -> int:
        return await self.log.last_seq(tenant)

    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        return await self.log.wait(tenant, seq, within)


def watched_tenants(
    settings: Settings,
    registry: TenantRegistry,
    keys: ApiKeys | None,
    server_credential: tuple[str, str],
) -> Callable[[], list[Tenant]]:
    """What ``Watcher`` polls, read at each cycle (see the module docstring)."""
    account, token = server_credential
    credentials: list[tuple[str, str]] = []
    if keys is None:
        credentials.append((account, token))
    else:
        for key in keys.keys:
            credentials.append((key.account or account, key.token or token))
    credentials = [(a, t) for a, t in dict.fromkeys(credentials) if a and t]

    def tenants() -> list[Tenant]:
        found = {tenant.key: tenant for tenant in (registry.get(a, t) for a, t in credentials)}
        if settings.pass_through:
            for tenant in registry.recent(settings.watch_idle):
                found.setdefault(tenant.key, tenant)
        return list(found.values())

    return tenants


@asynccontextmanager
async def watching(
    settings: Settings,
    store: StateStore | None,
    events: EventLog,
    tenants: Callable[[], list[Tenant]],
    stats: WatchStats,
) -> AsyncIterator[Watcher | None]:
    """The process's watcher for as long as the block runs (None when ``GRAPH_WATCH_INTERVAL_S``
    is 0); its leases are released at the end, so a standby replica takes over at once."""
    if settings.watch_interval <= 0:
        yield None
        return
    where: WatchStore = store if store is not None else LocalWatchStore(events)
    watcher = Watcher(
        where,
        tenants,
        WatchSettings(interval=settings.watch_interval, max_calls=settings.watch_max_calls),
        stats=stats,
    )
    watcher.start()
    logger.info(
        "Watcher: every %g s, at most %d Kickserv calls per tenant and cycle",
        settings.watch_interval,
        settings.watch_max_calls,
    )
    try:
        yield watcher
    finally:
        await watcher.stop()


def after_lifespan(
    inner: Callable[[Starlette], AbstractAsyncContextManager[Any]],
    start: Callable[[Upstream], AbstractAsyncContextManager[Any]],
) -> Callable[[Starlette], AbstractAsyncContextManager[Any]]:
    """The app's lifespan ``inner``, with ``start(upstream)`` entered once the upstream client is
    up (the watcher polls through it) and left before the client closes."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Any]:
        async with inner(app) as state, start(upstream_of_app(app)):
            yield state

    return lifespan


def upstream_of_app(app: Starlette) -> Upstream:
    upstream: Upstream = app.state.upstream
    return upstream
