"""The assembled server: schema + data layer + HTTP app, from settings."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette

from graph import upstream_errors
from graph.app import create_app, upstream_of
from graph.schema import build_schema
from graph.settings import Settings
from graph.tenancy import TenantRegistry, make_cache, make_context_factory, upstream_extension


def build_app(settings: Settings | None = None, **create_kwargs: Any) -> Starlette:
    """The whole server for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    upstream_errors.install()
    cache = make_cache(settings.cache_enabled, settings.cache_max_entries)

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

    def credential_of(request: Any) -> tuple[str, str]:
        upstream = upstream_of(request)
        return upstream.account, upstream.token

    return create_app(
        settings,
        build_schema(settings),
        make_context_factory(registry_of, credential_of, loaders_enabled=settings.loaders_enabled),
        on_result=upstream_extension if settings.upstream_extensions else None,
        **create_kwargs,
    )
