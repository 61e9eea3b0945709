"""Knobs and the request log over real HTTP: latency, 429, injected 500s, fault rules, the log."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

from sandbox.app import create_app, sandbox_state
from sandbox.data import AccountStore
from sandbox.gate import Turns
from sandbox.knobs import FaultRule
from sandbox.testing import running_sandbox
from tests.sandbox.conftest import DEMO, api_client, small_config


@pytest.fixture
def sandbox():
    with running_sandbox(small_config()) as running:
        yield running


def _api(sandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=sandbox.api_url("demo"), auth=DEMO)


async def test_latency_does_not_block_other_requests(sandbox):
    async with httpx.AsyncClient(base_url=sandbox.base_url) as admin:
        await admin.put("/__sandbox/config", json={"latency_ms": 400})
    async with _api(sandbox) as http:
        responses = await asyncio.gather(*(http.get("/employees.json") for _ in range(5)))
    assert all(r.status_code == 200 for r in responses)
    # With a blocking sleep the server would take one request at a time (at most 1 in flight).
    assert max(entry["concurrent"] for entry in sandbox.requests()) == 5


async def test_every_call_takes_at_least_its_latency_and_answers_as_without_it(sandbox):
    """Reads build their answer on arrival and hold it until the latency has passed (the
    sandbox's work hides in the latency); writes wait first. Either way no call is faster than
    the latency, and a read answers what it answers without latency."""
    paths = ["/customers.json", "/tasks.json?per_page=7&page=2", "/jobs.json", "/employees.json"]
    async with _api(sandbox) as http:
        plain = [(await http.get(p)).content for p in paths]
        sandbox.state.knobs.latency_ms = 60.0
        sandbox.reset_requests()
        slow = await asyncio.gather(*(http.get(p) for p in paths))
        number = next(iter(sandbox.store().customers_by_number))
        put = await http.put(f"/customers/{number}.json", json={"customer": {"name": "Slow"}})
    assert [r.content for r in slow] == plain
    assert put.status_code == 200 and put.json()["name"] == "Slow"
    durations = [entry["duration_ms"] for entry in sandbox.requests()]
    assert len(durations) == 5 and min(durations) >= 59.0  # a lower bound: never flaky


async def test_rate_limit_answers_429_with_retry_after(sandbox):
    async with httpx.AsyncClient(base_url=sandbox.base_url) as admin:
        await admin.put("/__sandbox/config", json={"rate_limit": 3, "rate_limit_window_s": 120})
    async with _api(sandbox) as http:
        statuses = [(await http.get("/employees.json")) for _ in range(5)]
        other = await http.get("/employees.json", auth=("demo-token-2", "demo-token-2"))
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
    assert statuses[3].json() == {"errors": ["Rate limit exceeded."]}
    assert 1 <= int(statuses[3].headers["Retry-After"]) <= 120
    assert other.status_code == 200  # the limit is per token


async def test_error_rate_one_fails_everything_with_500(sandbox):
    sandbox.state.knobs.error_rate = 1.0
    async with _api(sandbox) as http:
        response = await http.get("/customers.json")
    assert response.status_code == 500
    assert response.json() == {"errors": ["Internal server error."]}
    assert response.headers["X-Request-Id"]


async def test_fault_before_writes_nothing_and_after_commits_the_write(sandbox):
    store = sandbox.store()
    number = next(iter(store.customers_by_number))
    async with httpx.AsyncClient(base_url=sandbox.base_url) as admin:
        rule = {"method": "PUT", "path": "/demo/api/v2/customers/*.json", "times": 1}
        put = await admin.put("/__sandbox/config", json={"faults": [rule]})
        assert put.json()["faults"][0]["when"] == "before"
    async with _api(sandbox) as http:
        first = await http.put(f"/customers/{number}.json", json={"customer": {"name": "Before"}})
        assert first.status_code == 500 and store.customers_by_number[number].name != "Before"
        second = await http.put(f"/customers/{number}.json", json={"customer": {"name": "Again"}})
        assert second.status_code == 200  # the rule fired its one time
    sandbox.state.knobs.faults = [FaultRule(method="PUT", path="*/customers/*", when="after")]
    async with _api(sandbox) as http:
        failed = await http.put(f"/customers/{number}.json", json={"customer": {"name": "After"}})
        assert failed.status_code == 500
        assert (await http.get(f"/customers/{number}.json")).json()["name"] == "After"


async def test_config_rejects_bad_knobs(sandbox):
    async with httpx.AsyncClient(base_url=sandbox.base_url) as admin:
        for change in ({"error_rate": 2}, {"max_per_page": 0}, {"latency": 5},
                       {"faults": [{"when": "later"}]}, {"faults": [{"action": "explode"}]}):  # fmt: skip
            response = await admin.put("/__sandbox/config", json=change)
            assert response.status_code == 422, change
        current = (await admin.get("/__sandbox/config")).json()
    assert current["error_rate"] == 0 and current["max_per_page"] == 100
    assert current["today"]["demo"] == "2026-11-21"


async def test_a_sandbox_starts_with_the_knobs_of_its_config():
    rule = {"method": "POST", "path": "*/customers.json", "status": 503}
    config = small_config(
        latency_ms=3.0,
        jitter_ms=1.0,
        error_rate=0.25,
        rate_limit=7,
        rate_limit_window_s=2.0,
        max_per_page=40,
        faults=[FaultRule(**rule)],
    )
    with running_sandbox(config) as running:
        async with httpx.AsyncClient(base_url=running.base_url) as admin:
            current = (await admin.get("/__sandbox/config")).json()
    assert (current["latency_ms"], current["jitter_ms"], current["error_rate"]) == (3.0, 1.0, 0.25)
    assert (current["rate_limit"], current["rate_limit_window_s"]) == (7, 2.0)
    assert current["max_per_page"] == 40
    assert [(f["method"], f["path"], f["status"]) for f in current["faults"]] == [
        ("POST", "*/customers.json", 503)
    ]
    assert config.knobs().faults is not config.faults  # the running sandbox's are its own


async def test_request_log_counts_and_resets(sandbox):
    async with _api(sandbox) as http:
        await http.get("/customers.json", params={"per_page": 3})
        await http.get("/customers/999999.json")
        await http.get("/customers.json", auth=("bad", "bad"))
    async with httpx.AsyncClient(base_url=sandbox.base_url) as admin:
        log = (await admin.get("/__sandbox/requests")).json()
        assert log["count"] == 3 == len(log["requests"])
        first, missing, unauthorized = log["requests"]
        assert first["method"] == "GET" and first["path"] == "/demo/api/v2/customers.json"
        assert first["query"] == "per_page=3" and first["status"] == 200
        assert first["account"] == "demo" and first["employee_number"] == 1
        assert first["token"] and first["token"] != "demo-token" and first["time"]
        assert missing["status"] == 400
        assert unauthorized["status"] == 401 and unauthorized["employee_number"] is None
        assert sandbox.request_count() == 3
        reset = await admin.delete("/__sandbox/requests")
        assert reset.json() == {"count": 0, "requests": []}
        await admin.get("/__sandbox/config")  # admin calls are not logged
    assert sandbox.requests() == []
    sandbox.reset_requests()


async def test_calls_that_come_in_together_all_arrive_before_any_works():
    """A read's work happens inside its latency, and after every call that came with it has
    arrived (its arrival logged, its latency started), never before another's arrival."""
    app = create_app(small_config(latency_ms=5.0))
    state = sandbox_state(app)
    events: list[str] = []
    arrive, store = state.log.arrive, state.store

    def arriving() -> tuple[int, int]:
        events.append("arrive")
        return arrive()

    def working(account: str) -> AccountStore:
        events.append("work")
        return store(account)

    state.log.arrive = arriving  # type: ignore[method-assign]
    state.store = working  # type: ignore[method-assign]
    async with api_client(app) as http:
        answers = await asyncio.gather(*(http.get(f"/customers.json?page={n}") for n in range(5)))
    assert all(r.status_code == 200 for r in answers)
    assert events == ["arrive"] * 5 + ["work"] * 5


async def test_reads_take_turns_one_per_pass_of_the_loop():
    """Between one read's work and the next's the loop passes once (reading new arrivals)."""
    turns, events = Turns(), list[int | str]()

    async def read(n: int) -> None:
        await turns.take()
        events.append(n)

    waiting = [asyncio.create_task(read(n)) for n in range(4)]
    for _ in range(12):
        await asyncio.sleep(0)
        events.append("pass")
    await asyncio.gather(*waiting)
    reads = [e for e in events if e != "pass"]
    assert reads == [0, 1, 2, 3]
    assert all("pass" in pair for pair in itertools.pairwise(events))
