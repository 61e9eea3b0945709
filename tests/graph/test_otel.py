"""OpenTelemetry traces (graph.server.otel), over real HTTP.

- the server (``build_app``) on a real uvicorn port, over a sandbox on another: a router's
  ``traceparent`` makes the request span its child; parse, validate and execute are its children; each
  HTTP attempt to Kickserv is a client span under execute, and the sandbox saw that span's own
  ``traceparent`` on that very request (its request log records the header); a retried attempt is a
  span of its own; a cache hit has no parse, validate or execute span and says why; nothing in any
  span holds a variable's name or value, a token or Kickserv's query string;
- ``GRAPH_TRACES`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT`` alone) exports over OTLP/HTTP to a real
  receiver on 127.0.0.1, with ``OTEL_SERVICE_NAME`` applied;
- off (the default), a whole request through the server imports no ``opentelemetry`` module.

Spans are read after the server stopped: uvicorn stops once every request has ended, so each
request's span has ended too (a client can see a response before its server span closes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.server.assembly import build_app, server_of
from graph.server.otel import Tracing
from graph.server.settings import Settings, SettingsError
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
ROUTER_TRACE = "0af7651916cd43dd8448eb211c80319c"
ROUTER_SPAN = "b7ad6b7169203331"
FROM_ROUTER = {
    "traceparent": f"00-{ROUTER_TRACE}-{ROUTER_SPAN}-01",
    "tracestate": "router=r1",
}
NAMED = """query CustomersNamed($customerName: String!) {
  customers(first: 5, filter: {name: $customerName}) {
    nodes { number name jobs(first: 3) { nodes { number name } } } } }"""
Live = Callable[[Any], AbstractContextManager[str]]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=30, seed=7, today=date(2026, 11, 21))) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: RunningSandbox) -> Iterator[RunningSandbox]:
    sandbox.reset_requests()
    yield sandbox
    sandbox.state.knobs.update({"faults": []})


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced_app(sandbox: RunningSandbox, exporter: InMemorySpanExporter) -> Starlette:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        state_dir="memory",
    )
    return build_app(settings, otel=Tracing(provider))


def one(spans: list[ReadableSpan], **where: Any) -> ReadableSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in where.items())]
    assert len(found) == 1, f"{len(found)} spans with {where}: {[s.name for s in spans]}"
    return found[0]


def parent_id(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def everything_said(spans: list[ReadableSpan]) -> str:
    """Every span's name, attributes and events, as one text to search."""
    return json.dumps(
        [
            [
                s.name,
                dict(s.attributes or {}),
                [(e.name, dict(e.attributes or {})) for e in s.events],
            ]
            for s in spans
        ],
        default=str,
    )


def customer_with_jobs(sandbox: RunningSandbox) -> str:
    store = sandbox.store()
    customer = max(store.customers.values(), key=lambda c: (len(c.job_ids), c.number))
    assert customer.job_ids
    return customer.name


def test_request_parse_validate_execute_and_each_kickserv_call_are_spans_of_the_routers_trace(
    sb: RunningSandbox, exporter: InMemorySpanExporter, live_server: Live
) -> None:
    # given: a server traced in memory, and a customer's name sent as a variable
    name = customer_with_jobs(sb)
    app = traced_app(sb, exporter)

    # when: a router sends a named query with its trace context, then the same query again
    with live_server(app) as url:
        first = httpx.post(
            f"{url}/graphql",
            json={"query": NAMED, "variables": {"customerName": name}},
            headers=FROM_ROUTER,
        )
        again = httpx.post(
            f"{url}/graphql", json={"query": NAMED, "variables": {"customerName": name}}
        )
    assert first.status_code == 200 and again.status_code == 200, first.text
    assert first.json()["data"]["customers"]["nodes"][0]["name"] == name
    spans = list(exporter.get_finished_spans())
    trace = int(ROUTER_TRACE, 16)
    ours = [s for s in spans if s.context.trace_id == trace]

    # then: the request span continues the router's trace, as its child
    request = one(ours, kind=SpanKind.SERVER)
    assert request.name == "POST /graphql"
    assert request.parent is not None and request.parent.is_remote
    assert request.parent.span_id == int(ROUTER_SPAN, 16)
    assert request.attributes is not None
    assert {k: request.attributes.get(k) for k in _REQUEST_ATTRIBUTES} == {
        "http.request.method": "POST",
        "http.route": "/graphql",
        "url.path": "/graphql",
        "http.response.status_code": 200,
        "graphql.operation.name": "CustomersNamed",
        "graphql.operation.type": "query",
        "kickserv_graph.document_cache": "miss",
    }
    assert request.attributes["server.address"] == "127.0.0.1"
    assert str(request.context.trace_state) and request.context.trace_state.get("router") == "r1"

    # and: parse, validate and execute are its children, in that order
    phases = [one(ours, name=f"graphql.{phase}") for phase in ("parse", "validate", "execute")]
    assert [parent_id(p) for p in phases] == [request.context.span_id] * 3
    assert [p.start_time for p in phases] == sorted(p.start_time for p in phases)
    execute = phases[2]
    assert execute.attributes is not None
    assert execute.attributes["graphql.operation.name"] == "CustomersNamed"

    # and: every request the sandbox saw is a client span under execute, which sent its own
    # traceparent (the router's trace, the client span's id) with the router's tracestate
    calls = [s for s in ours if s.kind == SpanKind.CLIENT]
    seen = sb.requests()
    assert len(seen) >= 2 and len(calls) == len(seen)  # customers, then their jobs
    assert {parent_id(c) for c in calls} == {execute.context.span_id}
    assert sorted(r["traceparent"] for r in seen) == sorted(
        f"00-{ROUTER_TRACE}-{c.context.span_id:016x}-01" for c in calls
    )
    for call in calls:
        attributes = dict(call.attributes or {})
        assert attributes["http.request.method"] == "GET"
        assert attributes["http.response.status_code"] == 200
        assert str(attributes["url.full"]).startswith(f"{sb.base_url}/demo/api/v2/")
        assert "?" not in str(attributes["url.full"])
        assert call.name == f"GET {attributes['url.template']}"
        assert not any(ch.isdigit() for ch in str(attributes["url.template"]))
        assert call.context.trace_state.get("router") == "r1"
        assert call.status.status_code is StatusCode.UNSET
    assert "GET customers.json" in {c.name for c in calls}

    # and: the second request is a trace of its own, answered from the caches, and says so
    second = one(spans, kind=SpanKind.SERVER, parent=None)
    assert second.context.trace_id != trace
    assert second.attributes is not None
    assert second.attributes["kickserv_graph.document_cache"] == "hit"
    assert second.attributes["kickserv_graph.response_cache"] == "hit"
    assert second.attributes["graphql.operation.name"] == "CustomersNamed"
    rest = [s for s in spans if s.context.trace_id == second.context.trace_id]
    assert [s.name for s in rest] == ["POST /graphql"]
    assert len(sb.requests()) == len(seen)

    # and: no span holds a variable's name or value, the token or a Kickserv query string
    said = everything_said(spans)
    for secret in (name, "customerName", "demo-token", "per_page", "filter"):
        assert secret not in said, secret


def test_a_replayed_hit_is_one_span_saying_what_a_hits_span_says(
    sb: RunningSandbox, exporter: InMemorySpanExporter, live_server: Live
) -> None:
    # when: the same request three times: executed, a response cache hit, then its exact repeat
    # answered without deciding again (graph.server.replays)
    app = traced_app(sb, exporter)
    body = {"query": "query Few { customers(first: 2) { nodes { number } } }"}
    with live_server(app) as url:
        answers = [httpx.post(f"{url}/graphql", json=body) for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    cache = server_of(app).response_cache
    assert cache is not None and cache.counters["replays"] == 1

    # then: the repeat's trace is its request span alone, with the hit's attributes
    _, hit, replayed = sorted(
        (s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER),
        key=lambda s: s.start_time or 0,
    )
    assert [
        s.name
        for s in exporter.get_finished_spans()
        if s.context.trace_id == replayed.context.trace_id
    ] == ["POST /graphql"]
    assert dict(replayed.attributes or {}) == {
        **dict(hit.attributes or {}),
        "client.port": (replayed.attributes or {})["client.port"],  # its own connection's
    }
    assert (replayed.attributes or {})["kickserv_graph.response_cache"] == "hit"
    assert (replayed.attributes or {})["graphql.operation.name"] == "Few"


_REQUEST_ATTRIBUTES = (
    "http.request.method",
    "http.route",
    "url.path",
    "http.response.status_code",
    "graphql.operation.name",
    "graphql.operation.type",
    "kickserv_graph.document_cache",
)


def test_a_retried_kickserv_read_is_one_client_span_per_attempt(
    sb: RunningSandbox, exporter: InMemorySpanExporter, live_server: Live
) -> None:
    # given: Kickserv fails the first customers page once with a 503
    assert not sb.state.knobs.update(
        {
            "faults": [
                {"method": "GET", "path": "/demo/api/v2/customers.json", "status": 503, "times": 1}
            ]
        }
    )
    app = traced_app(sb, exporter)

    # when: a query reads that page
    with live_server(app) as url:
        response = httpx.post(
            f"{url}/graphql", json={"query": "{ customers(first: 2) { nodes { number } } }"}
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.text

    # then: two client spans, the failed one marked, the second counted as a resend
    calls = sorted(
        (s for s in exporter.get_finished_spans() if s.kind == SpanKind.CLIENT),
        key=lambda s: s.start_time or 0,
    )
    assert [dict(c.attributes or {}).get("http.response.status_code") for c in calls] == [503, 200]
    failed, retried = (dict(c.attributes or {}) for c in calls)
    assert calls[0].status.status_code is StatusCode.ERROR and failed["error.type"] == "503"
    assert "http.request.resend_count" not in failed and retried["http.request.resend_count"] == 1
    # and: the sandbox saw each attempt with its own span's traceparent
    assert [r["status"] for r in sb.requests()] == [503, 200]
    assert [r["traceparent"].split("-")[2] for r in sb.requests()] == [
        f"{c.context.span_id:016x}" for c in calls
    ]


def test_a_get_request_leaves_its_query_string_out_of_its_span(
    sb: RunningSandbox, exporter: InMemorySpanExporter, live_server: Live
) -> None:
    # given: a traced server, and a query whose variables travel in a GET's query string
    name = customer_with_jobs(sb)
    app = traced_app(sb, exporter)
    params = {"query": NAMED, "variables": json.dumps({"customerName": name})}

    # when: it is sent with GET
    with live_server(app) as url:
        response = httpx.get(
            f"{url}/graphql", params=params, headers={"accept": "application/json"}
        )
    assert response.status_code == 200 and "errors" not in response.json(), response.text

    # then: the request span has the path, the method and the operation, and no variable at all
    spans = list(exporter.get_finished_spans())
    request = one(spans, kind=SpanKind.SERVER)
    assert request.attributes is not None
    assert request.name == "GET /graphql" and request.attributes["url.path"] == "/graphql"
    assert request.attributes["graphql.operation.name"] == "CustomersNamed"
    said = everything_said(spans)
    assert name not in said and "customerName" not in said and "variables" not in said


def test_each_operation_of_a_batch_is_a_span_with_its_own_name_and_phases(
    sb: RunningSandbox, exporter: InMemorySpanExporter, live_server: Live
) -> None:
    # given: a traced server, and a batch of two named operations (as Apollo Router sends)
    app = traced_app(sb, exporter)
    batch = [
        {"query": "query Few { customers(first: 2) { nodes { number } } }"},
        {"query": "query Staff { employees { number } }"},
    ]

    # when: the batch is POSTed
    with live_server(app) as url:
        response = httpx.post(f"{url}/graphql", json=batch, headers=FROM_ROUTER)
    assert response.status_code == 200, response.text
    assert all("errors" not in answer for answer in response.json()), response.text
    spans = list(exporter.get_finished_spans())

    # then: the request span says it was a batch, and names no one operation
    request = one(spans, kind=SpanKind.SERVER)
    assert request.attributes is not None
    assert request.attributes["kickserv_graph.batch_size"] == 2
    assert "graphql.operation.name" not in request.attributes

    # and: each operation is a span under it, with its name, its phases and its Kickserv calls
    operations = [s for s in spans if s.name == "graphql.operation"]
    assert {parent_id(o) for o in operations} == {request.context.span_id}
    names = {dict(o.attributes or {})["graphql.operation.name"]: o for o in operations}
    assert sorted(names) == ["Few", "Staff"]
    for name, path in (("Few", "GET customers.json"), ("Staff", "GET employees.json")):
        below = [s for s in spans if parent_id(s) == names[name].context.span_id]
        assert sorted(s.name for s in below) == [
            "graphql.execute",
            "graphql.parse",
            "graphql.validate",
        ]
        execute = one(below, name="graphql.execute")
        assert [s.name for s in spans if parent_id(s) == execute.context.span_id] == [path]


# --- export over OTLP ------------------------------------------------------------------------


def test_otlp_export_reaches_a_receiver_with_the_service_name(
    monkeypatch: pytest.MonkeyPatch, live_server: Live
) -> None:
    # given: a receiver of OTLP/HTTP on 127.0.0.1, and only the standard variables pointing to it
    bodies: list[bytes] = []

    async def receive(request: Request) -> Response:
        bodies.append(await request.body())
        return Response(b"", media_type="application/x-protobuf")

    receiver = Starlette(routes=[Route("/v1/traces", receive, methods=["POST"])])
    with live_server(receiver) as collector:
        monkeypatch.delenv("GRAPH_TRACES", raising=False)
        monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "graph-under-test")
        settings = Settings.from_env({**os.environ, "GRAPH_STATE_DIR": "memory"})
        assert settings.traces == "otlp"
        app = build_app(settings)  # the embedded sandbox: no credentials

        # when: a router's request is served, and the server stops (its last spans go out)
        with live_server(app) as url:
            response = httpx.post(
                f"{url}/graphql",
                json={"query": "query Few { customers(first: 2) { nodes { number } } }"},
                headers=FROM_ROUTER,
            )
            assert response.status_code == 200, response.text
    assert bodies

    # then: the receiver got the request's spans, in the router's trace, under our service name
    exported = [ExportTraceServiceRequest.FromString(body) for body in bodies]
    resources = [rs for request in exported for rs in request.resource_spans]
    services = {
        kv.value.string_value
        for rs in resources
        for kv in rs.resource.attributes
        if kv.key == "service.name"
    }
    assert services == {"graph-under-test"}
    spans = [s for rs in resources for ss in rs.scope_spans for s in ss.spans]
    assert {s.trace_id for s in spans} == {bytes.fromhex(ROUTER_TRACE)}
    names = {s.name for s in spans}
    assert {"POST /graphql", "graphql.parse", "graphql.validate", "graphql.execute"} <= names
    assert "GET customers.json" in names


# --- off ---------------------------------------------------------------------------------------

_SERVE_ONE_REQUEST = """
import asyncio, sys
import httpx
from graph.server.assembly import build_app
from graph.server.settings import Settings

async def main():
    app = build_app(Settings.from_env())
    async with app.router.lifespan_context(app), httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ customers(first: 2) { nodes { number jobs(first: 1) { nodes { number } } } } }"},
            headers={"traceparent": sys.argv[1]},
        )
        assert response.status_code == 200 and response.json()["data"]["customers"]["nodes"], response.text

asyncio.run(main())
print("MODULES", sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
"""


def opentelemetry_modules_after_one_request(**env: str) -> list[str]:
    """Serve one request (embedded sandbox) in a fresh interpreter; the opentelemetry modules
    it had imported by then."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "GRAPH_"))}
    environ.update(GRAPH_STATE_DIR="memory", **env)
    done = subprocess.run(
        [sys.executable, "-c", _SERVE_ONE_REQUEST, FROM_ROUTER["traceparent"]],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    modules: list[str] = json.loads(line.removeprefix("MODULES ").replace("'", '"'))
    return modules


def test_with_traces_off_a_request_imports_no_opentelemetry() -> None:
    # when: one request is served with the default settings, and once with traces on (the control)
    off = opentelemetry_modules_after_one_request()
    on = opentelemetry_modules_after_one_request(GRAPH_TRACES="console")

    # then: off, not one opentelemetry module was imported; on, the SDK was
    assert off == []
    assert "opentelemetry.sdk.trace" in on


# --- settings ----------------------------------------------------------------------------------


def test_graph_traces_setting() -> None:
    assert Settings.from_env({}).traces == "off"
    assert Settings.from_env({"GRAPH_TRACES": "console"}).traces == "console"
    endpoint = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    assert Settings.from_env(endpoint).traces == "otlp"
    assert Settings.from_env({**endpoint, "GRAPH_TRACES": "off"}).traces == "off"
    with pytest.raises(SettingsError, match="GRAPH_TRACES is 'jaeger'; use one of"):
        Settings.from_env({"GRAPH_TRACES": "jaeger"})


def test_traces_without_the_extra_installed_is_a_clear_settings_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given: an interpreter where the otel extra is not installed
    import graph.server.settings

    monkeypatch.setattr(graph.server.settings, "_installed", lambda module: False)

    # then: asking for traces says what to install; off still works
    with pytest.raises(SettingsError, match=r"kickserv-graph\[otel\]"):
        Settings.from_env({"GRAPH_TRACES": "otlp"})
    assert Settings.from_env({}).traces == "off"
