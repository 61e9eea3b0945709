"""The assembled server: schema + data layer + HTTP app, from settings.

One request goes: authenticate (graph.server.auth) → document (graph.server.persisted: query, APQ, trusted
documents, the caller's safelist policy) → parse/validate (graph.server.http) → limits and introspection
(graph.server.limits, the caller's budget) → a cached response of the same query for the same tenant, if
one is still valid (graph.server.response_cache) → context with the caller's tenant (graph.server.tenancy) → execute.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from starlette.applications import Starlette
from starlette.requests import Request

from graph.schema import upstream_errors
from graph.schema.context import GraphContext
from graph.schema.errors import register_mapper, unregister_mapper
from graph.schema.query import build_schema
from graph.server.app import create_app, upstream_of
from graph.server.auth import ApiKeys, Authenticator, Caller, caller_of, map_refused_pass_through
from graph.server.http import GraphQLParams
from graph.server.limits import IntrospectionDisabled, Limits, MeasuredCosts, enforce
from graph.server.persisted import Manifest, PersistedQueries
from graph.server.settings import Settings
from graph.server.tenancy import (
    TenantRegistry,
    make_cache,
    make_context_factory,
    make_response_cache,
    upstream_extension,
)
from resolvers.writes.steps import WritePolicy


def build_app(settings: Settings | None = None, **create_kwargs: Any) -> Starlette:
    """The whole server for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    # The pass-through mapper must be asked first; re-installing keeps that order whatever ran before.
    unregister_mapper(upstream_errors.map_kickserv_error)
    register_mapper(map_refused_pass_through)
    upstream_errors.install()
    cache = make_cache(settings.cache_enabled, settings.cache_max_entries)
    schema = build_schema(settings)
    keys = ApiKeys.load(settings.api_keys_file) if settings.api_keys_file else None
    authenticator = Authenticator(settings, keys)
    persisted = PersistedQueries(
        manifests=[Manifest.load(path) for path in settings.persisted_manifests],
        apq_enabled=settings.apq_enabled,
        apq_max_entries=settings.apq_max_entries,
    )
    limits = Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_root_fields=settings.max_root_fields,
    )
    costs = MeasuredCosts(schema._schema, max_first=limits.max_first)

    def registry_of(request: Any) -> TenantRegistry:
        state = request.app.state
        registry: TenantRegistry | None = getattr(state, "registry", None)
        upstream = upstream_of(request)
        if registry is None or registry.http is not upstream.client:
            registry = TenantRegistry(
                upstream.client,
                upstream.base_url,
                cache,
                max_per_page=settings.kickserv_max_per_page,
                max_concurrency=settings.kickserv_concurrency,
                index_ttl=120.0 if settings.cache_enabled else 0.0,
            )
            state.registry = registry
        return registry

    async def authenticate(request: Request) -> Caller:
        upstream = upstream_of(request)
        return authenticator(request, (upstream.account, upstream.token))

    async def resolve_document(request: Request, params: GraphQLParams) -> str:
        resolved = persisted.resolve(
            params.query, params.document_id, params.extensions, caller_of(request).policy
        )
        return resolved.query

    def check_operation(
        request: Request,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> None:
        caller = caller_of(request)
        cost = costs.measure(document, operation, variables)
        if cost.introspection and not caller.introspection:
            raise IntrospectionDisabled()
        enforce(cost, limits, caller.query_budget)

    def credential_of(request: Any) -> tuple[str, str]:
        caller = caller_of(request)
        return caller.account, caller.token

    tenant_context = make_context_factory(
        registry_of, credential_of, loaders_enabled=settings.loaders_enabled
    )

    async def context_factory(request: Request) -> GraphContext:
        context: GraphContext = await tenant_context(request)
        context.caller = caller_of(request)
        return context

    response_cache = None
    if settings.cache_enabled and settings.response_cache_enabled:
        response_cache = make_response_cache(
            cache,
            credential_of,
            max_entries=settings.response_cache_max_entries,
            upstream_extensions=settings.upstream_extensions,
        )

    create_kwargs.setdefault("max_tokens", settings.max_tokens)
    app = create_app(
        settings,
        schema,
        context_factory,
        document_resolver=resolve_document,
        on_result=upstream_extension if settings.upstream_extensions else None,
        authenticate=authenticate,
        check_operation=check_operation,
        response_cache=response_cache,
        **create_kwargs,
    )
    app.state.response_cache = response_cache
    app.state.shared_cache = cache
    app.state.write_policy = WritePolicy(write_timeout=settings.write_timeout)
    return app
