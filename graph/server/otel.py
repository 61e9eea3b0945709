"""OpenTelemetry traces (``GRAPH_TRACES``); not Apollo's federated traces, which are ``tracing.py``.

Each ``/graphql`` request is a server span (``POST /graphql``, HTTP semantic conventions, the GraphQL
operation's name and type), a child of the router's span when the request carries a W3C
``traceparent`` (and ``tracestate``). Under it: ``graphql.parse`` and ``graphql.validate`` when the
document is not in the document cache yet (``kickserv_graph.document_cache`` says ``hit`` or
``miss``), ``graphql.execute`` unless the response cache answered (``kickserv_graph.response_cache``
is then ``hit``), and under that one client span per HTTP attempt sent to Kickserv (its ``traceparent``
goes with the attempt, so Kickserv's side of the trace, if it keeps one, joins ours).

What a span never holds: variable values or names, the query string of a GET (variables travel in
it), the document's text, API keys, tokens or Kickserv's query strings (filters carry customers'
names). Kickserv's URLs are kept without their query string, and span names use path templates
(``GET customers/{id}.json``).

Off costs nothing: nothing here imports opentelemetry at module level. ``tracing_from(settings)``
imports the SDK only when ``GRAPH_TRACES`` is ``otlp`` or ``console``; otherwise the app gets no
``Tracing`` and the request path takes no tracing branch beyond ``is None``. A ``Tracing`` over any
``TracerProvider`` (tests pass one with an in-memory exporter) is never made the global provider.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from graphql import OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.server.observe import HttpWrapper
from graph.server.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, SpanKind

SERVICE_NAME = "kickserv-graph"
_TRACE_HEADERS = (b"traceparent", b"tracestate")
# A Kickserv path without the account prefix, its numbers as {id}: a span name of few values.
_ACCOUNT_PREFIX = re.compile(r"^/[^/]+/api/v2/")
_NUMBER = re.compile(r"(?<=/)\d+(?=[./]|$)")


class Tracing:
    """Spans of one app over ``provider``. ``owned``: built from settings, so shut down (its last
    spans exported) when the app stops."""

    def __init__(self, provider: TracerProvider, *, owned: bool = False) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self._trace = trace
        self.provider = provider
        self.owned = owned
        self.tracer = provider.get_tracer(__name__)
        # W3C trace context only: baggage would carry whatever a caller put in it to Kickserv.
        self.propagator = TraceContextTextMapPropagator()
        self._server, self._client, self._internal = (
            SpanKind.SERVER,
            SpanKind.CLIENT,
            SpanKind.INTERNAL,
        )
        self._error = StatusCode.ERROR

    def asgi(self, app: ASGIApp, route: str) -> ASGIApp:
        """``app`` (an endpoint at ``route``) with a server span around each HTTP request."""
        return _Traced(self, app, route)

    async def serve(
        self, app: ASGIApp, route: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serve one HTTP request of ``app`` inside its server span."""
        carrier: dict[str, str] = {}
        user_agent = None
        for name, value in scope["headers"]:
            if name in _TRACE_HEADERS:
                carrier[name.decode()] = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
        method: str = scope["method"]
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "http.route": route,
            "url.path": scope["path"],  # never url.query: a GET carries its variables there
            "url.scheme": scope.get("scheme", "http"),
            "network.protocol.version": scope.get("http_version", "1.1"),
        }
        if scope.get("server"):
            attributes["server.address"], attributes["server.port"] = scope["server"]
        if scope.get("client"):
            attributes["client.address"], attributes["client.port"] = scope["client"]
        if user_agent is not None:
            attributes["user_agent.original"] = user_agent
        status: list[int] = []

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        parent = self.propagator.extract(carrier) if carrier else None
        with self._span(f"{method} {route}", self._server, attributes, parent) as span:
            await app(scope, receive, send_status)
            if status:
                span.set_attribute("http.response.status_code", status[0])
                if status[0] >= 500:
                    self._failed(span, str(status[0]))

    @contextmanager
    def phase(self, name: str, operation: OperationDefinitionNode | None = None) -> Iterator[Span]:
        """A child span of the current one (``graphql.parse``, ``graphql.validate``,
        ``graphql.execute``), with the operation's name and type when given."""
        attributes = {} if operation is None else operation_attributes(operation)
        with self._span(name, self._internal, attributes) as span:
            yield span

    def mark(self, key: str, value: str | bool | int) -> None:
        """An attribute on the current span (the request's, outside any phase)."""
        self._trace.get_current_span().set_attribute(key, value)

    def operation(self, operation: OperationDefinitionNode) -> None:
        """The request's span names the operation it runs."""
        self.annotate(operation_attributes(operation))

    def annotate(self, attributes: Mapping[str, str | bool | int]) -> None:
        """Attributes on the current span (the request's, outside any phase)."""
        self._trace.get_current_span().set_attributes(attributes)

    @contextmanager
    def attempt(
        self, method: str, url: str, attempt: int, headers: dict[str, str]
    ) -> Iterator[Callable[[int], None]]:
        """A client span around one HTTP attempt to Kickserv (``kickserv.transport.AttemptTrace``):
        its W3C trace context goes into ``headers``."""
        parts = urlsplit(url)
        template = _NUMBER.sub("{id}", _ACCOUNT_PREFIX.sub("", parts.path))
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.full": url,  # no query string: Kickserv filters carry names
            "url.template": template,
            "server.address": parts.hostname or "",
            "server.port": parts.port or (443 if parts.scheme == "https" else 80),
        }
        if attempt > 1:
            attributes["http.request.resend_count"] = attempt - 1
        with self._span(f"{method} {template}", self._client, attributes) as span:
            self.propagator.inject(headers)

            def answered(status: int) -> None:
                span.set_attribute("http.response.status_code", status)
                if status >= 400:
                    self._failed(span, str(status))

            yield answered  # no answer: the exception that ended the attempt marks the span

    @contextmanager
    def _span(
        self,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        parent: Context | None = None,
    ) -> Iterator[Span]:
        """A current span, marked with the type of the exception that leaves it, if one does.
        Never the exception's message or stack: a parse error quotes the document."""
        with self.tracer.start_as_current_span(
            name,
            context=parent,
            kind=kind,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:  # a cancellation too (a read's deadline passed)
                self._failed(span, type(exc).__qualname__)
                raise

    def _failed(self, span: Span, error_type: str) -> None:
        span.set_attribute("error.type", error_type)
        span.set_status(self._error)

    def shutdown(self) -> None:
        """Export what is left and stop (only a provider this module built)."""
        if self.owned:
            self.provider.shutdown()


class _Traced(HttpWrapper):
    """An ASGI app traced (a class, not a function: Starlette's ``Route`` would take a function
    for a request-response endpoint of GET only)."""

    def __init__(self, tracing: Tracing, app: ASGIApp, route: str) -> None:
        super().__init__(app)
        self.tracing = tracing
        self.route = route

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.tracing.serve(self.app, self.route, scope, receive, send)


def operation_attributes(operation: OperationDefinitionNode) -> dict[str, str]:
    attributes = {"graphql.operation.type": operation.operation.value}
    if operation.name is not None:
        attributes["graphql.operation.name"] = operation.name.value
    return attributes


def tracing_from(settings: Settings) -> Tracing | None:
    """The traces ``settings`` ask for: None when off (nothing imported), else a provider of our
    own with the standard ``OTEL_*`` variables applied (service name and resource attributes,
    sampler, batch processor, exporter endpoint, headers, timeout and compression)."""
    if settings.traces == "off":
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    exporter: SpanExporter
    if settings.traces == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider, owned=True)
