"""The execution floor: our execution of a ~6,000-field result against graphql-core's own.

Both execute the same document in this process, with every upstream answer already cached:
- ours: a fresh request context (tenant, loaders) and graphql-core ``execute`` on our Strawberry
  schema with its resolvers, as ``graph.server.http`` does per request;
- the floor: graphql-core executing the same document on a plain schema built from our SDL, over the
  finished result as nested dicts (default resolvers only): what execution alone costs.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, replace
from inspect import isawaitable
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLSchema,
    build_ast_schema,
    execute,
    parse,
    print_schema,
)
from starlette.requests import Request
from starlette.routing import Route
from strawberry.execution.is_awaitable import optimized_is_awaitable

from graph.schema.query import graphql_schema
from graph.server.assembly import build_app
from graph.server.http import GraphQLEndpoint
from graph.server.settings import Settings

# The dashboard, wider: every scalar of a customer and a job, so ~6,000 fields fit in 100 customers.
EXECUTION_QUERY = """query Wide($customers: Int = 20, $jobs: Int = 5) {
  customers(first: $customers) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id number name firstName lastName companyName email phone mobile balance isActive
        createdAt updatedAt
        locations { id name isPrimary address { line1 line2 city state zip country } }
        jobs(first: $jobs) {
          totalCount
          nodes {
            id number name description status subtotal tax total balanceRemaining
            scheduledOn completedOn createdAt updatedAt
            tasks { id description startsAt endsAt completed assignees { id number name } }
          }
        }
      }
    }
  }
}"""


def count_fields(value: Any) -> int:
    if isinstance(value, dict):
        return len(value) + sum(count_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_fields(v) for v in value)
    return 0


def _endpoint(app: Any) -> GraphQLEndpoint:
    for route in app.routes:
        if isinstance(route, Route) and route.path == "/graphql":
            endpoint = route.app
            assert isinstance(endpoint, GraphQLEndpoint)
            return endpoint
    raise RuntimeError("no /graphql route")


def sandbox_settings(base_url: str, redis_url: str | None = None) -> Settings:
    """Our server's settings against the sandbox at ``base_url``, without upstream extensions or
    the webhook deliverer (its once-a-second read of the state store is no request's work)."""
    return Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=base_url,
        upstream_extensions=False,
        redis_url=redis_url,
        webhooks_enabled=False,
    )


@dataclass(frozen=True)
class InProcessExecution:
    """Documents executed as ``graph.server.http`` does per request, without HTTP: a fresh request
    context (tenant, loaders) and graphql-core ``execute`` on our schema. Built inside the app's
    lifespan (``InProcessExecution.of``)."""

    endpoint: GraphQLEndpoint
    schema: GraphQLSchema
    request: Request

    @classmethod
    async def of(cls, app: Any) -> InProcessExecution:
        endpoint = _endpoint(app)
        request = Request({"type": "http", "app": app, "method": "POST", "headers": []})
        authenticate = getattr(endpoint, "authenticate", None)
        if authenticate is not None:  # the endpoint identifies the caller before the context
            request.state.caller = await authenticate(request)
        return cls(endpoint, graphql_schema(endpoint.schema), request)

    async def timed(
        self, document: DocumentNode, variables: dict[str, Any]
    ) -> tuple[float, dict[str, Any]]:
        """Seconds taken (the request context included) and the data; errors fail the bench."""
        started = time.perf_counter()
        context = await self.endpoint.context_factory(self.request)
        result = execute(
            self.schema,
            document,
            context_value=context,
            variable_values=variables,
            executor_class=self.endpoint.schema.execution_context_class,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
        )
        if isawaitable(result):
            result = await result
        elapsed = time.perf_counter() - started
        assert isinstance(result, ExecutionResult) and not result.errors, result
        return elapsed, result.data or {}


async def _measure(base_url: str, repeats: int, target_fields: int) -> dict[str, Any]:
    # Without the watcher: its cycle (every 30 s, upstream reads and parsing) is no request's work,
    # and one landing inside a timed execution was counted as ours.
    app = build_app(replace(sandbox_settings(base_url), watch_interval=0.0))
    async with app.router.lifespan_context(app):
        execution = await InProcessExecution.of(app)
        document = parse(EXECUTION_QUERY)

        async def ours(variables: dict[str, Any]) -> tuple[float, dict[str, Any]]:
            return await execution.timed(document, variables)

        # Size the dashboard so its result has about `target_fields` fields.
        _, probe = await ours({"customers": 10, "jobs": 5})
        per_customer = count_fields(probe) / 10
        customers = max(1, min(100, round(target_fields / per_customer)))
        variables = {"customers": customers, "jobs": 5}
        _, data = await ours(variables)  # cold: fills the cache
        plain = build_ast_schema(parse(print_schema(execution.schema)))
        for _ in range(3):
            await ours(variables)
            _floor_once(plain, document, data, variables)
        # Interleaved, so both see the same noise of a shared machine.
        our_times, floor_times = [], []
        for _ in range(repeats):
            our_times.append((await ours(variables))[0])
            floor_times.append(_floor_once(plain, document, data, variables))

    ours_ms = statistics.median(our_times) * 1000
    floor_ms = statistics.median(floor_times) * 1000
    return {
        "fields": count_fields(data),
        "customers": customers,
        "repeats": repeats,
        "ours_ms": round(ours_ms, 2),
        "floor_ms": round(floor_ms, 2),
        "ratio": round(ours_ms / floor_ms, 2) if floor_ms else None,
    }


def _floor_once(
    plain: GraphQLSchema, document: DocumentNode, data: dict[str, Any], variables: dict[str, Any]
) -> float:
    started = time.perf_counter()
    result = execute(plain, document, root_value=data, variable_values=variables)
    elapsed = time.perf_counter() - started
    assert isinstance(result, ExecutionResult) and not result.errors, result
    assert result.data == data  # the same answer, so the same work
    return elapsed


def measure_execution(base_url: str, repeats: int, target_fields: int) -> dict[str, Any]:
    return asyncio.run(_measure(base_url, repeats, target_fields))
