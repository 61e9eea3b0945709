"""The Starlette application: /graphql, /static, /healthz, /readyz, and the lifespan that owns the
one ``httpx.AsyncClient`` every request shares.

Without Kickserv credentials (sandbox mode) the lifespan builds the sandbox in-process and points
the client at it through ``httpx.ASGITransport``: no port, no second process, same HTTP semantics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypedDict

import anyio.lowlevel
import httpx
from graphql import ASTValidationRule
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry import Schema

from graph.schema.errors import ErrorClassifier
from graph.server import sandboxed
from graph.server.graphiql import STATIC_DIRECTORY
from graph.server.http import (
    DEFAULT_CLASSIFIER,
    Authenticate,
    ContextFactory,
    DocumentResolver,
    GraphQLEndpoint,
    OperationCheck,
    ResultHook,
    query_text_only,
)
from graph.server.http_headers import cors_middleware
from graph.server.metrics import Metrics
from graph.server.observe import ObserveMiddleware
from graph.server.otel import Tracing
from graph.server.replays import ReplayLane
from graph.server.requests import accepts_html, state_of
from graph.server.response_cache import ResponseCache
from graph.server.sandboxed import embedded_sandbox
from graph.server.settings import Settings
from kickserv.pool import PooledTransport

logger = logging.getLogger("graph.server.app")

USER_AGENT = "kickserv-graph/0.1"


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where Kickserv is and how to reach it: what a context factory needs to build a client."""

    client: httpx.AsyncClient
    base_url: str
    account: str
    token: str = field(repr=False)
    sandbox: bool


class AppState(TypedDict):
    """What the lifespan yields (Starlette copies it into each request's ``request.state``)."""

    settings: Settings
    upstream: Upstream


@dataclass(frozen=True, slots=True)
class RequestContext:
    """The trivial default context; the real one (tenant, loaders) is passed to ``create_app``."""

    request: Request
    settings: Settings
    upstream: Upstream


def upstream_of(request: Request) -> Upstream:
    """The app's Upstream; set by the lifespan, so missing means the lifespan did not run. Read
    from the lifespan's state the server hands each request when it is there."""
    upstream: Upstream | None = state_of(request).get("upstream")
    if upstream is None:
        upstream = getattr(request.app.state, "upstream", None)
    if upstream is None:
        raise RuntimeError("The app's lifespan has not run: no upstream client yet.")
    return upstream


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def default_context_factory(request: Request) -> RequestContext:
    return RequestContext(request, settings_of(request), upstream_of(request))


async def index(request: Request) -> Response:
    """``/``: a browser goes on to GraphiQL (``/graphql``); other clients learn where things are."""
    root: str = request.scope.get("root_path", "")
    if accepts_html(request.headers.get("accept", "")):
        return RedirectResponse(f"{root}/graphql", status_code=307)
    return JSONResponse(
        {
            "service": "kickserv-graph",
            "graphql": f"{root}/graphql",
            "graphiql": f"open {root}/graphql in a browser",
            "healthz": f"{root}/healthz",
            "readyz": f"{root}/readyz",
        }
    )


def create_app(
    settings: Settings,
    schema: Schema,
    context_factory: ContextFactory = default_context_factory,
    *,
    document_resolver: DocumentResolver = query_text_only,
    on_result: ResultHook | None = None,
    validation_rules: Collection[type[ASTValidationRule]] = (),
    max_tokens: int | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
    authenticate: Authenticate | None = None,
    check_operation: OperationCheck | None = None,
    response_cache: ResponseCache | None = None,
    classify_error: ErrorClassifier = DEFAULT_CLASSIFIER,
    state: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    state_problem: Callable[[], Awaitable[str | None]] | None = None,
    circuit: Callable[[Upstream], tuple[bool, str]] | None = None,
    otel: Tracing | None = None,
    metrics: Metrics | None = None,
) -> Starlette:
    """The whole server. ``upstream_transport`` replaces the network (or the sandbox) in tests;
    ``otel`` traces each /graphql request (graph.server.otel); ``metrics`` are served at
    /metrics. Every request gets an access-log line and an X-Request-Id (graph.server.observe)."""
    endpoint = GraphQLEndpoint(
        schema,
        context_factory,
        settings,
        document_resolver=document_resolver,
        on_result=on_result,
        validation_rules=validation_rules,
        max_tokens=max_tokens,
        authenticate=authenticate,
        check_operation=check_operation,
        response_cache=response_cache,
        classify_error=classify_error,
        otel=otel,
    )
    if metrics is not None:
        endpoint.subscriptions.on_count = metrics.observe_subscriptions
    readiness = ReadinessProbe()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[AppState]:
        async with AsyncExitStack() as stack:
            if state is not None:
                await stack.enter_async_context(state())
            if metrics is not None:
                await stack.enter_async_context(metrics.running())
            if otel is not None:
                # The last spans exported (the exporter's own timeout bounds it), off the loop.
                stack.push_async_callback(asyncio.to_thread, otel.shutdown)
            transport = upstream_transport
            if settings.sandbox_mode:
                base_url, account, token = sandboxed.BASE_URL, sandboxed.ACCOUNT, sandboxed.TOKEN
                if transport is None:
                    transport = await stack.enter_async_context(embedded_sandbox(settings))
            else:
                # Pass-through may run without a credential of ours: callers bring their own.
                assert settings.pass_through or (
                    settings.kickserv_account and settings.kickserv_api_token
                )
                base_url = settings.kickserv_base_url
                account = settings.kickserv_account or ""
                token = settings.kickserv_api_token or ""
            # Keep a level's connections for the next level (no reconnects, no TLS).
            limits = httpx.Limits(
                max_connections=max(100, settings.kickserv_concurrency),
                max_keepalive_connections=settings.kickserv_concurrency,
            )
            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    # Over the network, a pool whose bookkeeping stays linear (kickserv.pool).
                    transport=transport if transport is not None else PooledTransport(limits),
                    base_url=base_url,
                    timeout=httpx.Timeout(30.0, connect=5.0),
                    headers={"user-agent": USER_AGENT},
                )
            )
            if transport is None:
                # anyio's asyncio backend (twenty-odd modules, ~12-19 ms) is imported by the first
                # request that reaches anyio (httpcore connected through it; Kickserv calls now go
                # through kickserv.wire, but the first request still meets it). Here, at start.
                await anyio.lowlevel.checkpoint()
            upstream = Upstream(client, base_url, account, token, settings.sandbox_mode)
            app.state.settings = settings
            app.state.upstream = upstream
            try:
                yield {"settings": settings, "upstream": upstream}
            finally:
                del app.state.upstream

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        upstream: Upstream | None = getattr(request.app.state, "upstream", None)
        if upstream is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        ready, reason = await readiness.check(upstream)
        body: dict[str, str] = {"status": "ready" if ready else "unavailable", "upstream": reason}
        problem = None if state_problem is None else await state_problem()
        if problem is not None:  # writes refuse until it is back; reads go on from local caches
            ready = False
            body.update(status="unavailable", state=problem)
        if circuit is not None:  # the account's circuit breaker: open while Kickserv keeps failing
            closed, body["circuit"] = circuit(upstream)
            if not closed:
                ready = False
                body["status"] = "unavailable"
        return JSONResponse(body, status_code=200 if ready else 503)

    graphql = endpoint if otel is None else otel.asgi(endpoint, "/graphql")
    lane = None  # under tracing, every request is its own span: none answered ahead of it
    if endpoint.replays is not None and otel is None:
        cors = bool(settings.cors_origins)
        lane = ReplayLane(
            endpoint.replays,
            endpoint.cache_policy,
            metrics,
            cors=cors,
            max_body_bytes=endpoint.max_body_bytes,
            body_timeout=endpoint.settings.body_timeout,
        )
    middleware = [
        Middleware(ObserveMiddleware, metrics=metrics),  # outermost: sees every answer
        *cors_middleware(settings.cors_origins),  # none unless GRAPH_CORS_ORIGINS
    ]
    return GraphApp(
        graphql,
        lane,
        routes=[
            Route("/", index, methods=["GET"]),
            # No method filter: the endpoint answers every method itself, 405s GraphQL-shaped.
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", endpoint.subscriptions.serve_websocket),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Mount("/static", app=StaticFiles(directory=STATIC_DIRECTORY), name="static"),
            *([] if metrics is None else [Route("/metrics", metrics.endpoint, methods=["GET"])]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


class GraphApp(Starlette):
    """Starlette, but an HTTP request for ``/graphql`` goes straight to the GraphQL endpoint under the
    app's own middleware (access log and metrics, CORS), past Starlette's error and exception
    middleware and its router: on a response cache hit they were a fifth of the request's time. The
    endpoint answers every error of its own (GraphQL-shaped, a bug masked as 500), which is all
    Starlette's layers would have done for it; every other path and the WebSocket go through
    Starlette. Ahead of them all, ``lane`` answers the exact repeats it may (graph.server.replays)."""

    def __init__(self, graphql: ASGIApp, lane: ReplayLane | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql
        self.lane = lane
        for cls, args, options in reversed(self.user_middleware):
            self.graphql = cls(self.graphql, *args, **options)

    def lane_for(self, scope: Scope) -> ReplayLane | None:
        """The lane ``__call__`` asks first about the request of ``scope``, if any (for
        graph.server.protocol, which asks it before ASGI)."""
        return self.lane if _is_graphql(scope) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_graphql(scope):
            scope["app"] = self
            if self.lane is not None:
                rest = await self.lane(scope, receive, send)
                if rest is None:  # answered
                    return
                receive = rest
            await self.graphql(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _is_graphql(scope: Scope) -> bool:
    """An HTTP request for ``/graphql``: the GraphQL endpoint's, past Starlette."""
    return scope["type"] == "http" and _route_path(scope) == "/graphql"


def _route_path(scope: Scope) -> str:
    """The path Starlette's routes match: without the root path the app is mounted under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root + "/") else path


class ReadinessProbe:
    """Asks Kickserv for one cheap page, at most once per ``ttl`` seconds (probes must not add up
    to a load of their own, and Kickserv rate-limits per token)."""

    def __init__(self, ttl: float = 10.0, timeout: float = 3.0) -> None:
        self.ttl = ttl
        self.timeout = timeout
        self._last: tuple[float, bool, str] | None = None
        self._lock = asyncio.Lock()

    async def check(self, upstream: Upstream) -> tuple[bool, str]:
        async with self._lock:
            now = time.monotonic()
            if self._last is not None and now - self._last[0] < self.ttl:
                return self._last[1], self._last[2]
            ready, reason = await self._probe(upstream)
            self._last = (now, ready, reason)
            return ready, reason

    async def _probe(self, upstream: Upstream) -> tuple[bool, str]:
        if not upstream.token:  # pass-through: no credential to try; any answer proves Kickserv up
            try:
                response = await upstream.client.get(upstream.base_url, timeout=self.timeout)
            except httpx.HTTPError as exc:
                logger.warning("Readiness: Kickserv unreachable (%s)", type(exc).__name__)
                return False, "unreachable"
            return response.status_code < 500, "pass-through"
        url = f"{upstream.base_url}/{upstream.account}/api/v2/job_types.json"
        try:
            response = await upstream.client.get(
                url,
                params={"per_page": 1},
                auth=(upstream.token, upstream.token),
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            logger.warning("Readiness: Kickserv unreachable (%s)", type(exc).__name__)
            return False, "unreachable"
        if response.status_code in (401, 403):
            return False, "credentials rejected"
        if response.status_code >= 400:
            return False, f"answered {response.status_code}"
        return True, "sandbox" if upstream.sandbox else "reachable"
