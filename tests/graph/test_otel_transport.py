"""The transport's ``trace`` hook with graph.server.otel's client spans: what goes out with each
attempt (W3C ``traceparent`` and ``tracestate`` of the attempt's own span, nothing when no span is
current), and how an attempt that got no answer is marked. Kickserv is an ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from graph.server.otel import Tracing
from kickserv.attempts import RetryPolicy
from kickserv.errors import Timeout, TransportError
from kickserv.transport import Transport

ROUTER = {
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "tracestate": "router=r1,vendor=v2",
}


@pytest.fixture
def spans() -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Tracing(provider), exporter


async def test_each_attempt_sends_its_own_span_context_and_the_callers_tracestate(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    # given: Kickserv answering 500 then 200, seen through the hook, inside a router's trace
    tracing, exporter = spans
    seen: list[httpx.Headers] = []

    def kickserv(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(500 if len(seen) == 1 else 200, json={"customers": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(kickserv))
    transport = Transport(
        "acme",
        "tok-secret",
        base_url="https://kickserv.test",
        http=http,
        retry=RetryPolicy(base_delay=0.0),
        trace=tracing.attempt,
    )
    context = TraceContextTextMapPropagator().extract(ROUTER)

    # when: one read, made under the router's span context
    with tracing.tracer.start_as_current_span("request", context=context):
        await transport.request("GET", "customers.json", params={"name": "Ada Lovelace"})
    await http.aclose()

    # then: two attempts, each with the traceparent of its own client span and the tracestate
    calls = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert len(calls) == len(seen) == 2
    for call, headers in zip(calls, seen, strict=True):
        assert headers["traceparent"] == (
            f"00-{call.context.trace_id:032x}-{call.context.span_id:016x}-01"
        )
        assert headers["tracestate"] == "router=r1,vendor=v2"
        assert headers["authorization"].startswith("Basic ")  # the hook keeps the others
    assert f"{calls[0].context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert [dict(c.attributes or {})["url.full"] for c in calls] == [
        "https://kickserv.test/acme/api/v2/customers.json"
    ] * 2
    assert calls[0].status.status_code is StatusCode.ERROR
    assert "Ada" not in str([dict(c.attributes or {}) for c in calls])


async def test_an_attempt_without_an_answer_is_marked_with_what_ended_it(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    # given: a Kickserv that refuses connections, and one that never answers
    tracing, exporter = spans

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    # when: a write goes to the first (never retried), a read with a short deadline to the second
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        refused = Transport("acme", "t", http=http, trace=tracing.attempt)
        with pytest.raises(TransportError):
            await refused.request("POST", "customers.json", body={"customer": {}})
    async with httpx.AsyncClient(transport=httpx.MockTransport(hang)) as http:
        hung = Transport(
            "acme", "t", http=http, retry=RetryPolicy(deadline=0.05), trace=tracing.attempt
        )
        with pytest.raises(Timeout):
            await hung.request("GET", "jobs/12345.json")

    # then: each attempt is a client span, marked with the error that ended it
    calls = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert [(c.name, dict(c.attributes or {}).get("error.type")) for c in calls] == [
        ("POST customers.json", "ConnectError"),
        ("GET jobs/{id}.json", "CancelledError"),
    ]
    assert all(c.status.status_code is StatusCode.ERROR for c in calls)
    assert all("http.response.status_code" not in (c.attributes or {}) for c in calls)
