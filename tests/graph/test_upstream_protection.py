"""Kickserv protected, and answers held, under faults: the server (``build_app``) over a real sandbox
port, which rate-limits per token, injects 500s, latency and hangs, and logs every request it saw.

- a 429 pauses the whole credential (requests the sandbox saw in the second after it);
- under a rate limit, 32 concurrent clients get few 429s (the share is printed);
- a hanging Kickserv gives an error within the read deadline and frees its slots;
- the circuit breaker opens, serves stale data marked stale or fails fast, probes, closes, and
  ``/readyz`` says so;
- replicas sharing a state store share a 429's pause;
- reading employees (a bare array) does not shrink the page size of customers.

Figures are printed (``pytest -s``) as ``[upstream protection] ...`` lines.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graph.server.assembly import build_app, server_of
from graph.server.settings import Settings, SettingsError
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

TODAY = date(2026, 11, 21)
CUSTOMER = "query($n: Int!) { customer(number: $n) { number name } }"
CUSTOMER_JOBS = """query($n: Int!) {
  customer(number: $n) { number name jobs(first: 3) { nodes { number name tasks { id } } } } }"""
CUSTOMERS = """query($after: String) {
  customers(first: 10, after: $after) { nodes { number name } } }"""
EMPLOYEES = "{ employees { number name } }"


def report(line: str) -> None:
    print(f"\n[upstream protection] {line}")


@asynccontextmanager
async def serving(sandbox: RunningSandbox, **settings: Any) -> AsyncIterator[Graph]:
    app = build_app(
        Settings(
            kickserv_account="demo",
            kickserv_api_token="demo-token",
            kickserv_base_url=sandbox.base_url,
            **settings,
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60
        ) as http,
    ):
        yield Graph(app, http, sandbox)


class Graph:
    def __init__(self, app: Starlette, http: httpx.AsyncClient, sandbox: RunningSandbox) -> None:
        self.app = app
        self.http = http
        self.sandbox = sandbox

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
        body: dict[str, Any] = response.json()
        return body

    def upstream(self) -> Any:
        registry = server_of(self.app).registry
        assert registry is not None
        return registry.upstream()


def arrivals(sandbox: RunningSandbox) -> list[tuple[float, int]]:
    """(arrival time in seconds, status) of every request the sandbox logged, in order."""
    return [
        (datetime.fromisoformat(r["time"]).timestamp(), r["status"]) for r in sandbox.requests()
    ]


def codes(body: dict[str, Any]) -> set[str]:
    return {e.get("extensions", {}).get("code", "?") for e in body.get("errors") or ()}


@pytest.fixture(scope="module")
def quiet() -> Iterator[RunningSandbox]:
    """A sandbox whose knobs each test sets and resets."""
    with running_sandbox(SandboxConfig(customers=120, seed=3, today=TODAY)) as sandbox:
        yield sandbox


@pytest.fixture
def sb(quiet: RunningSandbox) -> Iterator[RunningSandbox]:
    quiet.state.knobs.update(
        {"latency_ms": 0, "error_rate": 0, "rate_limit": 0, "max_per_page": 100, "faults": []}
    )
    quiet.state.rate_limiter = type(quiet.state.rate_limiter)()
    quiet.reset_requests()
    yield quiet
    quiet.state.knobs.update({"latency_ms": 0, "error_rate": 0, "rate_limit": 0, "faults": []})


# --- the governor ------------------------------------------------------------------------------


async def clients(graph: Graph, count: int, seconds: float, seed: int = 1) -> list[dict[str, Any]]:
    """`count` clients sending mixed reads back to back for `seconds`; every answer."""
    answers: list[dict[str, Any]] = []
    stop = time.monotonic() + seconds

    async def client(number: int) -> None:
        draw = random.Random(seed * 1000 + number)
        while time.monotonic() < stop:
            kind = draw.random()
            if kind < 0.5:
                body = await graph.gql(CUSTOMER, {"n": draw.randint(1, 120)})
            elif kind < 0.8:
                body = await graph.gql(CUSTOMER_JOBS, {"n": draw.randint(1, 120)})
            elif kind < 0.95:
                body = await graph.gql(CUSTOMERS, {"after": None})
            else:
                body = await graph.gql(EMPLOYEES)
            answers.append(body)

    await asyncio.gather(*(client(n) for n in range(count)))
    return answers


async def test_a_429_pauses_every_call_of_the_credential(sb):
    sb.state.knobs.update({"rate_limit": 30, "latency_ms": 20})
    async with serving(sb, cache_enabled=False) as graph:
        await clients(graph, 32, 3.0)
        snapshot = graph.upstream()
    log = arrivals(sb)
    limited = [when for when, status in log if status == 429]
    after = [sum(1 for when, _ in log if t < when <= t + 1.0) for t in limited]
    report(
        f"429 pause: {len(log)} requests, {len(limited)} answered 429; requests in the second "
        f"after the first 429: {after[0]}, median after each 429: {statistics.median(after):g} "
        f"(before: median 86)"
    )
    assert limited, "the sandbox never limited: nothing was tested"
    # Kickserv's Retry-After (1 s here) pauses everyone: only calls already on the way arrive.
    assert statistics.median(after) <= 15
    (governor,) = snapshot.governors.values()
    assert governor.pauses >= 1 and governor.rate is not None


async def test_32_clients_under_a_rate_limit_get_few_429s(sb):
    sb.state.knobs.update({"rate_limit": 60, "latency_ms": 50})
    async with serving(sb, cache_enabled=False) as graph:
        answers = await clients(graph, 32, 12.0, seed=2)
        snapshot = graph.upstream()
    log = arrivals(sb)
    statuses = [status for _, status in log]
    share = statuses.count(429) / len(statuses)
    # Unthrottled until the first 429, the calls already on their way when it came are 429s too.
    first = next(when for when, status in log if status == 429)
    burst = sum(1 for when, status in log if status == 429 and when < first + 0.25)
    later = [status for when, status in log if when >= first + 0.25]
    steady = later.count(429) / len(later)
    full = sum(1 for a in answers if not a.get("errors")) / len(answers)
    (governor,) = snapshot.governors.values()
    report(
        f"32 clients, 60 req/s limit, 50 ms latency, 12 s: {len(statuses)} upstream calls, "
        f"{statuses.count(429)} answered 429 = {share:.1%} (before: 42.9%), {burst} of them in "
        f"the first 250 ms after the first, {steady:.1%} of the calls after those; {len(answers)} "
        f"reads, {full:.1%} answered fully; governor rate {governor.rate} /s, "
        f"{governor.cuts} cuts, {governor.pauses} pauses"
    )
    # The burst depends on how fast this (shared, busy) machine notices the first 429.
    assert share <= 0.08
    assert steady <= 0.05
    assert full >= 0.95


async def test_a_credential_unthrottled_until_a_429_sends_a_level_as_one_round(sb):
    sb.state.knobs.update({"latency_ms": 100})
    async with serving(sb, cache_enabled=False) as graph:
        body = await graph.gql(
            "{ customers(first: 30) { nodes { number jobs(first: 2) { nodes { number } } } } }"
        )
        snapshot = graph.upstream()
    assert not body.get("errors")
    jobs = [r for r in sb.requests() if r["path"].endswith("/jobs.json")]
    assert len(jobs) == 30
    assert max(r["concurrent"] for r in jobs) >= 15  # one round, not paced (that: 1 or 2)
    (governor,) = snapshot.governors.values()
    assert governor.rate is None and governor.rate_limited == 0


async def test_replicas_sharing_a_state_store_share_a_pause(sb, tmp_path: Path):
    sb.state.knobs.update({"rate_limit": 20, "latency_ms": 5})
    state = str(tmp_path / "state")
    async with (
        serving(sb, cache_enabled=False, state_dir=state) as a,
        serving(sb, cache_enabled=False, state_dir=state) as b,
    ):
        await b.gql(CUSTOMER, {"n": 1})  # b is warm and unthrottled
        await clients(a, 16, 1.0)  # a meets the limit
        (governor_a,) = a.upstream().governors.values()
        assert governor_a.rate_limited and governor_a.cuts
        await asyncio.sleep(0.6)  # past b's next look at the shared state
        await b.gql(CUSTOMER, {"n": 2})
        await asyncio.sleep(0.05)
        (governor_b,) = b.upstream().governors.values()
    report(
        f"replicas: a saw {governor_a.rate_limited} 429s, rate {governor_a.rate}; b saw "
        f"{governor_b.rate_limited} and took rate {governor_b.rate}, {governor_b.cuts} cut(s)"
    )
    assert governor_b.shared and governor_b.cuts >= 1 and governor_b.rate is not None


# --- deadlines ---------------------------------------------------------------------------------


async def test_a_hanging_kickserv_errors_within_the_deadline_and_frees_its_slots(sb):
    deadline = 1.5
    sb.state.knobs.update(
        {"faults": [{"method": "GET", "path": "*", "action": "timeout", "hang_s": 60}]}
    )
    settings = {"kickserv_read_deadline": deadline, "kickserv_concurrency": 8}
    # The breaker would open on these timeouts and refuse the calls meant to hold the slots below.
    async with serving(
        sb, cache_enabled=False, kickserv_breaker_failures=1000, **settings
    ) as graph:

        async def timed(n: int) -> tuple[float, dict[str, Any]]:
            began = time.monotonic()
            body = await graph.gql(CUSTOMER, {"n": n})
            return time.monotonic() - began, body

        results = await asyncio.gather(*(timed(n) for n in range(1, 25)))
        slowest = max(elapsed for elapsed, _ in results)
        await asyncio.sleep(0.2)
        hung = sb.state.log.in_flight  # requests still hanging in Kickserv

        # Kickserv returns while calls hang: new reads get slots once those reach their deadline
        hanging = [asyncio.ensure_future(timed(n)) for n in range(30, 38)]
        await asyncio.sleep(0.5)
        held = sb.state.log.in_flight
        assert not sb.state.knobs.update({"faults": []})
        returned = time.monotonic()
        while True:
            body = await graph.gql(CUSTOMER, {"n": 99})
            if not body.get("errors"):
                break
            await asyncio.sleep(0.05)
        recovery = time.monotonic() - returned
        given_up = await asyncio.gather(*hanging)
    report(
        f"hang: 24 reads over 8 slots, every one an error after at most {slowest:.2f} s "
        f"(deadline {deadline:g} s; before: 121 s); {hung} requests left hanging; full service "
        f"{recovery:.2f} s after Kickserv returned with 8 slots held by hung calls (before: 27 s)"
    )
    assert all(codes(body) == {"UPSTREAM_UNAVAILABLE"} for _, body in results)
    assert slowest <= deadline + 0.5
    assert hung == 0  # given up, so Kickserv's side closed them too
    assert held == 8  # every slot held by a hung call when Kickserv returned
    assert all(codes(body) == {"UPSTREAM_UNAVAILABLE"} for _, body in given_up)
    assert recovery <= deadline  # the hung calls' slots came free at their deadline


async def test_kickserv_hanging_under_load_with_the_default_settings(sb):
    """32 clients; Kickserv hangs for 6 s and returns. Default deadline (5 s) and breaker."""
    async with serving(sb, cache_enabled=False) as graph:
        answers: list[tuple[float, float, bool]] = []  # (sent, answered, fully) in test time
        origin = time.monotonic()
        stop = origin + 9.0

        async def client(number: int) -> None:
            draw = random.Random(number)
            while time.monotonic() < stop:
                sent = time.monotonic() - origin
                body = await graph.gql(CUSTOMER, {"n": draw.randint(1, 120)})
                answers.append((sent, time.monotonic() - origin, not body.get("errors")))

        async def kickserv() -> None:
            await asyncio.sleep(0.5)
            sb.state.knobs.update({"faults": [{"method": "GET", "action": "timeout"}]})
            await asyncio.sleep(6.0)
            sb.state.knobs.update({"faults": []})

        await asyncio.gather(kickserv(), *(client(n) for n in range(32)))
        circuit = graph.app.state.server.registry.breaker("demo").snapshot()
    during = [done - sent for sent, done, ok in answers if 0.5 <= sent < 6.5 and not ok]
    back = min(done for sent, done, ok in answers if ok and done > 6.5) - 6.5
    after = [ok for sent, _, ok in answers if sent >= 7.5]
    report(
        f"hang under load, defaults: {len(during)} reads failed while Kickserv hung, the slowest "
        f"after {max(during):.2f} s (before: 121 s); full answers again {back:.2f} s after it "
        f"returned (before: 27 s); {sum(after)}/{len(after)} answered fully from 1 s after; "
        f"breaker opened {circuit.opened} time(s), refused {circuit.refused} calls at once"
    )
    assert max(during) <= 5.0 + 1.0  # the default deadline, and a busy machine's slack
    assert back <= 2.5  # a probe goes every second: about one second on a quiet machine
    # Not all: reads queued behind slots that calls hung since before the breaker opened still
    # hold fail at their deadline (a known gap, issue 11: 0 to 21 of ~400 in runs here, 0 in five
    # runs on 2026-12-03 with and without two CPU-bound processes beside it, but 116 of 487 once in
    # a loaded CI run of the whole suite). Before the breaker and deadlines nothing answered for 27 s.
    assert sum(after) >= 0.75 * len(after)


# --- the circuit breaker -----------------------------------------------------------------------


async def test_the_breaker_serves_stale_or_fails_fast_probes_and_closes(sb):
    async with serving(sb, kickserv_breaker_failures=6, kickserv_breaker_open=1.0) as graph:
        warm = await graph.gql(CUSTOMER, {"n": 7})
        assert not warm.get("errors")
        cache = server_of(graph.app).cache
        cache.clock = lambda: time.monotonic() + 120.0  # past freshness, within the stale window

        sb.state.knobs.update({"error_rate": 1.0})  # every call a 500
        began = time.monotonic()
        first = await graph.gql(CUSTOMER, {"n": 7})  # retried, then stale
        first_in = time.monotonic() - began
        for n in range(40, 43):  # nothing cached: failures until the breaker opens
            await graph.gql(CUSTOMER, {"n": n})
        ready_open = await graph.http.get("/readyz")

        sb.reset_requests()
        began = time.monotonic()
        stale = await graph.gql(CUSTOMER, {"n": 7})
        stale_in = time.monotonic() - began
        began = time.monotonic()
        refused = await graph.gql(CUSTOMER, {"n": 50})
        refused_in = time.monotonic() - began
        sent_while_open = sb.request_count()

        sb.state.knobs.update({"error_rate": 0.0})  # Kickserv is back
        await asyncio.sleep(1.05)  # a probe is due
        probe = await graph.gql(CUSTOMER, {"n": 50})
        circuit = graph.app.state.server.registry.breaker("demo").snapshot()
        ready_closed = await graph.http.get("/readyz")

    report(
        f"breaker: stale after retries {first_in:.2f} s while closed; once open, stale in "
        f"{stale_in * 1000:.0f} ms and UPSTREAM_UNAVAILABLE in {refused_in * 1000:.0f} ms with "
        f"{sent_while_open} calls sent; closed by the first probe after Kickserv returned"
    )
    assert first["data"] == warm["data"] and first["extensions"]["stale"]["values"] == 1
    assert stale["data"] == warm["data"] and not stale.get("errors")
    assert stale["extensions"]["stale"]["secondsPastFresh"] >= 60
    assert stale["extensions"]["upstream"]["circuit"] == "open"
    assert codes(refused) == {"UPSTREAM_UNAVAILABLE"}
    assert 0 < refused["errors"][0]["extensions"]["retryAfter"] <= 1.0
    assert stale_in < 0.2 and refused_in < 0.2 and sent_while_open == 0
    assert ready_open.status_code == 503 and ready_open.json()["circuit"].startswith("open")
    assert not probe.get("errors") and probe["data"]["customer"]["number"] == 50
    assert "stale" not in probe.get("extensions", {})
    assert circuit.state == "closed" and circuit.opened == 1
    assert ready_closed.json()["circuit"] == "closed"


async def test_stale_data_is_marked_in_production_too(sb):
    production = {"env": "production", "upstream_extensions": False}
    async with serving(sb, kickserv_breaker_failures=1, **production) as graph:
        await graph.gql(CUSTOMER, {"n": 3})
        server_of(graph.app).cache.clock = lambda: time.monotonic() + 120.0
        sb.state.knobs.update({"error_rate": 1.0})
        body = await graph.gql(CUSTOMER, {"n": 3})
    assert body["data"]["customer"]["number"] == 3
    assert set(body["extensions"]) == {"stale"}  # no upstream cost report in production


# --- page size ---------------------------------------------------------------------------------


async def test_employees_first_then_a_page_of_100_customers_is_one_call(sb):
    async with serving(sb) as graph:
        employees = await graph.gql(EMPLOYEES)
        sb.reset_requests()
        customers = await graph.gql("{ customers(first: 100) { nodes { number } } }")
    calls = [r for r in sb.requests() if r["path"].endswith("/customers.json")]
    report(
        f"page size: {len(employees['data']['employees'])} employees (a bare array) read first, "
        f"then customers(first: 100) cost {len(calls)} call(s) (before: 15)"
    )
    assert len(customers["data"]["customers"]["nodes"]) == 100
    assert len(calls) == 1 and "per_page=100" in calls[0]["query"]


# --- settings ----------------------------------------------------------------------------------


def test_the_protection_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "KICKSERV_READ_DEADLINE_S": "2.5",
            "KICKSERV_RATE_INCREASE": "3",
            "KICKSERV_RATE_DECREASE": "0.5",
            "KICKSERV_RATE_FORGET_S": "30",
            "KICKSERV_RATE_SHARE_MS": "0",
            "KICKSERV_BREAKER_FAILURES": "4",
            "KICKSERV_BREAKER_OPEN_S": "2",
        }
    )
    app = build_app(settings)
    protection = server_of(app).protection()
    assert protection.deadline == 2.5 and protection.share is None
    assert (protection.governor.increase, protection.governor.decrease) == (3.0, 0.5)
    assert protection.governor.forget_after == 30.0
    assert (protection.breaker.failures, protection.breaker.open_for) == (4, 2.0)
    assert Settings.from_env({}).kickserv_read_deadline == 5.0
    no_deadline = build_app(Settings.from_env({"KICKSERV_READ_DEADLINE_S": "0"}))
    assert server_of(no_deadline).protection().deadline is None
    for name, value in [
        ("KICKSERV_RATE_DECREASE", "1.5"),
        ("KICKSERV_RATE_DECREASE", "0"),
        ("KICKSERV_BREAKER_OPEN_S", "0"),
        ("KICKSERV_BREAKER_FAILURES", "0"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})
