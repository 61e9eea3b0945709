"""The cursor read-ahead (resolvers.read_ahead) over real HTTP against the sandbox: a client that
follows the schedule's cursors finds the next pages read ahead (its later requests cost no call, and
the pages went out together), the cases where the server must not read ahead, the plan shown in
``extensions.upstream.plan``, and the read-ahead cancelled when the server stops."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bench.rounds import rounds_of
from graph.server.assembly import build_app, server_of
from graph.server.settings import Settings
from kickserv.governor import Permit
from resolvers.read_ahead import ReadAhead
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import QUIET, uvicorn_in_thread

PER_PAGE = 10  # KICKSERV_MAX_PER_PAGE here: a window of `first: 10` is one page
LATENCY_MS = 150  # every call lasts at least this: calls of one round overlap in the log

WALK = """query Walk($from: Date!, $to: Date!, $after: String) {
  schedule(from: $from, to: $to, first: 10, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { id description }
  }
}"""
NO_CURSOR = """query NoCursor($from: Date!, $to: Date!) {
  schedule(from: $from, to: $to, first: 10) { totalCount nodes { id description } }
}"""
EDGE_CURSOR = """query Edges($from: Date!, $to: Date!) {
  schedule(from: $from, to: $to, first: 10) { ... on TaskConnection { edges { cursor } } }
}"""  # a cursor asked through a fragment counts too

Serve = Callable[..., AbstractContextManager[tuple[str, Any]]]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=200, seed=3, latency_ms=LATENCY_MS)) as sb:
        yield sb


@pytest.fixture
def serve(sandbox: RunningSandbox) -> Serve:
    @contextmanager
    def serving(**settings: Any) -> Iterator[tuple[str, Any]]:
        app = build_app(
            Settings(
                kickserv_account="demo",
                kickserv_api_token="demo-token",
                kickserv_base_url=sandbox.base_url,
                kickserv_max_per_page=PER_PAGE,
                **{**QUIET, **settings},
            )
        )
        with uvicorn_in_thread(app) as base_url:
            yield f"{base_url}/graphql", app

    return serving


def days_with(sandbox: RunningSandbox, low: int, high: int) -> dict[str, str]:
    """``from``/``to`` of a span of days whose visits number in ``(low, high]``, as the sandbox
    files them (the answer's totalCount confirms it)."""
    by_day = Counter(t.starts_at.date() for t in sandbox.store().tasks.values() if t.starts_at)
    days = sorted(by_day)
    for i, start in enumerate(days):
        count = 0
        for end in days[i:]:
            count += by_day[end]
            if count > high:
                break
            if count > low:
                return {"from": str(start), "to": str(end + timedelta(days=1))}
    raise AssertionError("no span of days with that many visits")


def post(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body


def schedule_plan(body: dict[str, Any]) -> dict[str, Any]:
    plans: list[dict[str, Any]] = body["extensions"]["upstream"]["plan"]
    (plan,) = [p for p in plans if p["level"] == "Query.schedule"]
    return plan


def read_ahead_of(app: Any) -> ReadAhead:
    registry = server_of(app).registry
    assert registry is not None
    return registry.read_ahead


def test_a_cursor_walk_reads_the_rest_ahead_in_one_round(
    sandbox: RunningSandbox, serve: Serve
) -> None:
    week = days_with(sandbox, 2 * PER_PAGE, 3 * PER_PAGE)  # three pages
    with serve() as (url, app):
        sandbox.reset_requests()
        first = post(url, WALK, week)
        assert first["data"]["schedule"]["pageInfo"]["hasNextPage"]
        assert first["extensions"]["upstream"]["calls"] == 1
        assert first["extensions"]["upstream"]["readAhead"] == {"pages": 2, "used": 0}
        plan = schedule_plan(first)
        assert plan["path"] == "window"
        assert plan["listing"] == "/tasks.json?from=&to="
        assert plan["expected"] == {"calls": 3, "rounds": 2}
        assert "/schedule.json documents no date filter" in plan["reason"]
        assert "2 more page(s) read ahead" in plan["reason"]

        after = first["data"]["schedule"]["pageInfo"]["endCursor"]
        second = post(url, WALK, {**week, "after": after})
        assert second["extensions"]["upstream"]["calls"] == 0  # joined or found cached
        assert second["extensions"]["upstream"]["readAhead"]["used"] == 1
        assert second["extensions"]["upstream"]["readAhead"]["pages"] == 0  # page 3 is under way
        after = second["data"]["schedule"]["pageInfo"]["endCursor"]
        third = post(url, WALK, {**week, "after": after})
        assert third["extensions"]["upstream"]["calls"] == 0
        assert not third["data"]["schedule"]["pageInfo"]["hasNextPage"]

        log = sandbox.requests()
        pages = sorted(int(str(e["query"]).split("page=")[1].split("&")[0]) for e in log)
        assert pages == [1, 2, 3]  # each page once: the calls a client following cursors makes
        assert rounds_of(log) == 2  # page 1, then pages 2 and 3 together
        ids = [
            n["id"] for body in (first, second, third) for n in body["data"]["schedule"]["nodes"]
        ]
        assert len(ids) == len(set(ids)) == first["data"]["schedule"]["totalCount"]
        assert read_ahead_of(app).counters["used"] == 2
        # the metrics count them as what they are, besides their calls by endpoint
        metrics = httpx.get(url.removesuffix("/graphql") + "/metrics").text
        assert 'kickserv_graph_read_ahead_pages_total{outcome="started"} 2.0' in metrics
        assert 'kickserv_graph_read_ahead_pages_total{outcome="used"} 2.0' in metrics


def test_no_read_ahead_where_it_would_not_serve(sandbox: RunningSandbox, serve: Serve) -> None:
    week = days_with(sandbox, 2 * PER_PAGE, 3 * PER_PAGE)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({}, NO_CURSOR, "the query asks no cursor"),
        ({"read_ahead_pages": 0}, WALK, "GRAPH_READ_AHEAD_PAGES=0"),
        ({"read_ahead_pages": 1}, WALK, "the rest is more than 1 pages"),
        ({"cache_enabled": False}, WALK, "no shared cache"),
    ]
    for settings, query, why in cases:
        with serve(**settings) as (url, app):
            sandbox.reset_requests()
            body = post(url, query, week)
            assert "readAhead" not in body["extensions"]["upstream"], why
            plan = schedule_plan(body)
            assert why in plan["reason"], plan["reason"]
            assert plan["expected"] == {"calls": 1, "rounds": 1}
            assert read_ahead_of(app).counters["started"] == 0, why
            assert sandbox.request_count() == 1, why


def test_a_cursor_in_edges_is_followed_too(sandbox: RunningSandbox, serve: Serve) -> None:
    week = days_with(sandbox, PER_PAGE, 2 * PER_PAGE)  # two pages
    with serve() as (url, _app):
        body = post(url, EDGE_CURSOR, week)
        assert body["extensions"]["upstream"]["readAhead"]["pages"] == 1


def test_no_read_ahead_while_kickserv_fails_or_limits(
    sandbox: RunningSandbox, serve: Serve
) -> None:
    week = days_with(sandbox, 2 * PER_PAGE, 3 * PER_PAGE)
    for trouble in ("breaker", "governor"):
        with serve() as (url, app):
            post(url, NO_CURSOR, week)  # page 1 cached: served without asking Kickserv
            registry = server_of(app).registry
            assert registry is not None
            if trouble == "breaker":
                breaker = registry.breaker("demo")
                for _ in range(breaker.policy.failures):
                    breaker.failed()
                assert breaker.state == "open"
            else:
                (key,) = registry.upstream().governors  # account:credential fingerprint
                governor = registry.governor(*key.split(":", 1))
                governor.rate_limited(Permit(0.0, False), retry_after=60.0)  # paused a minute
            sandbox.reset_requests()
            body = post(url, WALK, week)
            assert body["extensions"]["upstream"]["calls"] == 0
            assert "limiting this credential or failing" in schedule_plan(body)["reason"]
            assert read_ahead_of(app).counters["started"] == 0, trouble
            assert sandbox.request_count() == 0, trouble


def test_the_read_ahead_stops_with_the_server(sandbox: RunningSandbox, serve: Serve) -> None:
    week = days_with(sandbox, 2 * PER_PAGE, 3 * PER_PAGE)
    knobs = sandbox.app.state.sandbox.knobs
    try:
        with serve() as (url, app):
            post(url, NO_CURSOR, week)  # page 1 cached
            knobs.latency_ms = 5000  # the pages read ahead are still in flight when it stops
            body = post(url, WALK, week)  # page 1 from the cache; pages 2 and 3 read ahead
            assert body["extensions"]["upstream"]["readAhead"]["pages"] == 2
            read_ahead = read_ahead_of(app)
            assert read_ahead.running == 2
        # uvicorn stopped the app: its lifespan stopped the read-ahead before the client closed.
        assert read_ahead.stopped
        assert read_ahead.running == 0
        assert read_ahead.counters["cancelled"] == 2
        assert read_ahead.counters["read"] == 0
    finally:
        knobs.latency_ms = LATENCY_MS
