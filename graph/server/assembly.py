"""The assembled server: schema + data layer + HTTP app, from settings.

One request goes: authenticate (graph.server.auth) → document (graph.server.persisted: query, APQ,
trusted documents, the caller's safelist policy) → parse/validate (graph.server.documents) → limits
and introspection (graph.server.limits, the caller's budget) → a cached response of the same query
for the same tenant, if one is still valid (graph.server.response_cache) → context with the caller's
tenant (graph.server.tenancy) → execute (graph.server.http).

Everything the app holds is built here once, explicitly, into a typed ``Server``; the app keeps it
as ``app.state.server`` and ``server_of(app)`` reads it back typed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import strawberry
from graphql import DocumentNode, OperationDefinitionNode
from starlette.applications import Starlette
from starlette.requests import Request

from graph.schema.context import GraphContext
from graph.schema.error_mapping import SCHEMA_ERROR_MAPPERS
from graph.schema.errors import ErrorClassifier
from graph.schema.query import build_schema, graphql_schema
from graph.server.app import Upstream, create_app, upstream_of
from graph.server.auth import ApiKeys, Authenticator, Caller, caller_of, map_refused_pass_through
from graph.server.limits import IntrospectionDisabled, Limits, MeasuredCosts, enforce
from graph.server.metrics import Metrics
from graph.server.observe import note_caller, note_document, note_operation
from graph.server.otel import Tracing, tracing_from
from graph.server.persisted import Manifest, PersistedQueries
from graph.server.replays import replayable
from graph.server.requests import GraphQLParams
from graph.server.response_cache import ResponseCache
from graph.server.settings import Settings
from graph.server.tenancy import (
    TenantRegistry,
    UpstreamProtection,
    make_cache,
    make_context_factory,
    make_response_cache,
    protection_from,
    stale_extension,
    synced,
    upstream_extension,
)
from graph.server.watching import after_lifespan, watched_tenants, watching
from resolvers.cache import CacheStore, MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.events import EventLog
from resolvers.generations import TenantWrites
from resolvers.read_ahead import ReadAhead
from resolvers.state import StateStore, StateUnavailable, open_state_store
from resolvers.state.memory_events import MemoryEvents
from resolvers.tenant import Tenant
from resolvers.watch import Watcher, WatchStats
from resolvers.webhooks.delivery import WebhookPolicy, Webhooks
from resolvers.webhooks.push import Push
from resolvers.webhooks.store import WebhookStore
from resolvers.writes.steps import WritePolicy

logger = logging.getLogger("graph.server.assembly")

MEMORY = "memory"


@dataclass
class Server:
    """What one app serves with, built once from settings."""

    settings: Settings
    schema: strawberry.federation.Schema
    cache: SharedCache
    response_cache: ResponseCache | None
    write_policy: WritePolicy
    authenticator: Authenticator
    persisted: PersistedQueries
    limits: Limits
    costs: MeasuredCosts
    classify_error: ErrorClassifier
    registry: TenantRegistry | None = None  # built on the first request, over the app's client
    otel: Tracing | None = None  # OpenTelemetry traces, when settings or the caller ask for them
    metrics: Metrics | None = None  # Prometheus series at /metrics (GRAPH_METRICS)
    store: StateStore | None = None  # while the app runs, when state outlives the process
    watch_stats: WatchStats = field(default_factory=WatchStats)  # graph.server.watching
    # The tenants' change events (resolvers.events): the state store's log when there is one
    events: EventLog = field(default_factory=MemoryEvents)
    webhooks: Webhooks | None = None  # endpoints and deliveries (graph.server.assembly.push_of)

    @property
    def state_location(self) -> str | None:
        """Where state that outlives this process lives (None: in this process only)."""
        where = self.settings.redis_url or self.settings.state_dir
        return None if not where or where == MEMORY else where

    @asynccontextmanager
    async def state(self) -> AsyncIterator[None]:
        """The state store for as long as the app runs (entered by its lifespan): idempotency
        records, write generations and APQ documents move into it, shared with every process."""
        where = self.state_location
        if where is None:
            yield
            return
        retention = self.settings.event_retention
        store = await asyncio.to_thread(lambda: open_state_store(where, event_retention=retention))
        logger.info("State store: %s", store.description)
        self.store = store
        self.cache.records = store
        self.cache.writes = TenantWrites(
            store,
            generation=store.bump_generation,
            current=store.generation,
            change_mark=store.change_mark,
        )
        self.persisted.shared = store
        if all(hasattr(store, name) for name in ("append", "after", "last_seq", "wait")):
            self.events = cast(EventLog, store)  # both backends keep the durable log
        self.webhooks = self.make_webhooks(store)
        try:
            yield
        finally:
            await store.aclose()

    def make_webhooks(self, store: CacheStore) -> Webhooks:
        settings = self.settings
        policy = WebhookPolicy(
            allow_private=settings.webhook_allow_private,
            timeout=settings.webhook_timeout,
            delays=settings.webhook_retry,
            grace=settings.webhook_secret_grace,
        )
        on_outcome = None if self.metrics is None else self.metrics.observe_webhook
        return Webhooks(WebhookStore(store), self.events, policy, on_outcome)

    @asynccontextmanager
    async def caching(self) -> AsyncIterator[None]:
        """The shared cache for as long as the app runs: its background sizing of the pages it
        keeps (resolvers.cache ``MemoryStore``) stops with the app, not with its event loop."""
        try:
            yield
        finally:
            store = self.cache.store
            if isinstance(store, MemoryStore):
                await store.aclose()

    @asynccontextmanager
    async def delivering(self) -> AsyncIterator[None]:
        """The webhook deliverer, for as long as the app runs (entered after ``state``)."""
        if self.webhooks is None:  # no state store: endpoints live in this process
            self.webhooks = self.make_webhooks(MemoryStore(maxsize=1_000_000))
        task = None
        if self.settings.webhooks_enabled:
            task = asyncio.create_task(self.webhooks.run(), name="webhook deliverer")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def state_problem(self) -> str | None:
        """Why the state store cannot serve now (for readiness), or None."""
        if self.store is None:
            return None
        try:
            await self.store.ping()
        except StateUnavailable as exc:
            return f"unavailable ({exc})"
        return None

    def watching(self, upstream: Upstream) -> AbstractAsyncContextManager[Watcher | None]:
        """The watcher of outside changes (graph.server.watching), once the upstream client is up."""
        tenants = watched_tenants(
            self.settings,
            self.registry_for(upstream),
            self.authenticator.keys,
            (upstream.account, upstream.token),
        )
        return watching(self.settings, self.store, self.events, tenants, self.watch_stats)

    def registry_for(self, upstream: Upstream) -> TenantRegistry:
        """The tenants served through ``upstream`` (rebuilt if the lifespan made a new client)."""
        registry = self.registry
        if registry is None or registry.http is not upstream.client:
            registry = self.registry = TenantRegistry(
                upstream.client,
                upstream.base_url,
                self.cache,
                max_per_page=self.settings.kickserv_max_per_page,
                max_concurrency=self.settings.kickserv_concurrency,
                index_ttl=120.0 if self.settings.cache_enabled else 0.0,
                protection=self.protection(),
                trace=None if self.otel is None else self.otel.attempt,
                on_call=None if self.metrics is None else self.metrics.observe_upstream,
                read_ahead=ReadAhead(self.settings.read_ahead_pages),
            )
        return registry

    @asynccontextmanager
    async def running(self, upstream: Upstream) -> AsyncIterator[Watcher | None]:
        """While the upstream client is up: the watcher; when the app stops, before the client
        closes, the cursor read-aheads still running are cancelled (resolvers.read_ahead)."""
        registry = self.registry_for(upstream)
        if upstream.account and upstream.token:
            # The server's own account's tenant, made and caught up with the state store now,
            # not by the first request (its client, its governor, the store's reader: ~1 ms).
            await synced(registry.get(upstream.account, upstream.token))
        try:
            async with self.watching(upstream) as watcher:
                yield watcher
        finally:
            await registry.read_ahead.stop()

    def protection(self) -> UpstreamProtection:
        """Deadlines, rate governors and circuit breakers as the settings ask; the governors share
        what they learn through the state store when there is one."""
        return protection_from(self.settings, self.store)

    def circuit(self, upstream: Upstream) -> tuple[bool, str]:
        """Readiness: the circuit breaker of the server's own Kickserv account."""
        registry = self.registry
        if registry is None or registry.http is not upstream.client:
            return True, "closed"
        return registry.circuit(upstream.account)


def push_of(server: Server, tenant: Tenant, owner: str) -> Push:
    """What subscriptions and webhook mutations of ``owner`` (an API key's name) use."""
    loaders_enabled = server.settings.loaders_enabled

    async def renew() -> RequestData:
        await synced(tenant)
        return RequestData(tenant, loaders_enabled=loaders_enabled)

    return Push(tenant.key, owner, server.events, server.webhooks, renew)


@asynccontextmanager
async def _entered(*managers: AbstractAsyncContextManager[None]) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for manager in managers:
            await stack.enter_async_context(manager)
        yield


def server_of(app: Starlette) -> Server:
    """The ``Server`` a ``build_app`` app was assembled with."""
    server = app.state.server
    assert isinstance(server, Server)
    return server


def build_app(
    settings: Settings | None = None,
    *,
    write_policy: WritePolicy | None = None,
    otel: Tracing | None = None,
    **create_kwargs: Any,
) -> Starlette:
    """The whole server for ``settings`` (default: from the environment). ``otel``: traces over a
    provider of the caller's (tests); default: as ``GRAPH_TRACES`` says (graph.server.otel)."""
    settings = settings or Settings.from_env()
    schema = build_schema()
    limits = Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_root_fields=settings.max_root_fields,
    )
    cache = make_cache(settings.cache_enabled, settings.cache_max_entries, settings.cache_max_bytes)
    keys = ApiKeys.load(settings.api_keys_file) if settings.api_keys_file else None
    server = Server(
        settings=settings,
        schema=schema,
        cache=cache,
        response_cache=None,
        write_policy=write_policy or WritePolicy(write_timeout=settings.write_timeout),
        authenticator=Authenticator(settings, keys),
        persisted=PersistedQueries(
            manifests=[Manifest.load(path) for path in settings.persisted_manifests],
            apq_enabled=settings.apq_enabled,
            apq_max_entries=settings.apq_max_entries,
            apq_max_bytes=settings.apq_max_bytes,
        ),
        limits=limits,
        costs=MeasuredCosts(
            graphql_schema(schema),
            max_first=limits.max_first,
            max_bytes=settings.document_cache_max_bytes,  # its entries hold documents
        ),
        # A pass-through caller's refused credential is theirs, not our outage: asked first.
        classify_error=ErrorClassifier((map_refused_pass_through, *SCHEMA_ERROR_MAPPERS)),
        otel=otel or tracing_from(settings),
    )

    if settings.metrics_enabled:
        server.metrics = Metrics(token=settings.metrics_token)
        server.metrics.watch(
            tenants=lambda: server.registry,
            cache=cache,
            response_cache=lambda: server.response_cache,
            watcher=lambda: server.watch_stats,
        )

    async def authenticate(request: Request) -> Caller:
        upstream = upstream_of(request)
        caller = server.authenticator(request, (upstream.account, upstream.token))
        note_caller(caller.name, caller.account)
        return caller

    async def resolve_document(request: Request, params: GraphQLParams) -> str:
        resolved = await server.persisted.resolve(
            params.query, params.document_id, params.extensions, caller_of(request).policy
        )
        note_document(resolved.source, resolved.document_id)
        if resolved.replayable:
            replayable(request)
        return resolved.query

    def check_operation(
        request: Request,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        note_operation(operation.name.value if operation.name else None, operation.operation.value)
        caller = caller_of(request)
        cost = server.costs.measure(document, operation, variables)
        if cost.introspection and not caller.introspection:
            raise IntrospectionDisabled()
        enforce(cost, server.limits, caller.query_budget)

    def credential_of(request: Any) -> tuple[str, str]:
        caller = caller_of(request)
        return caller.account, caller.token

    tenant_context = make_context_factory(
        lambda request: server.registry_for(upstream_of(request)),
        credential_of,
        loaders_enabled=settings.loaders_enabled,
        write_policy=server.write_policy,
    )

    async def context_factory(request: Any) -> GraphContext:
        context: GraphContext = await tenant_context(request)
        context.push = push_of(server, context.data.tenant, caller_of(request).name)
        return context

    if settings.cache_enabled and settings.response_cache_enabled:
        server.response_cache = make_response_cache(
            cache,
            credential_of,
            lambda request: server.registry_for(upstream_of(request)),
            max_entries=settings.response_cache_max_entries,
            max_bytes=settings.response_cache_max_bytes,
            upstream_extensions=settings.upstream_extensions,
        )

    create_kwargs.setdefault("max_tokens", settings.max_tokens)
    app = create_app(
        settings,
        schema,
        context_factory,
        document_resolver=resolve_document,
        on_result=upstream_extension if settings.upstream_extensions else stale_extension,
        authenticate=authenticate,
        check_operation=check_operation,
        response_cache=server.response_cache,
        classify_error=server.classify_error,
        state=lambda: _entered(server.caching(), server.state(), server.delivering()),
        state_problem=server.state_problem,
        circuit=server.circuit,
        otel=server.otel,
        metrics=server.metrics,
        **create_kwargs,
    )
    app.state.server = server
    app.router.lifespan_context = after_lifespan(app.router.lifespan_context, server.running)
    return app
