"""``extensions.upstream.plan`` in development for the levels whose path the reference fixes, over
real HTTP against the sandbox: a customer's payments (``/payments.json?customer_id=``, confirmed),
the invoice index (``/invoices.json`` read whole: no invoice lookup), and the schedule read whole
when filtered by task type; each plan's expected calls are the calls the sandbox saw."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.settings import Settings
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import QUIET, uvicorn_in_thread


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=200, seed=3)) as sb:
        yield sb


@pytest.fixture(scope="module")
def url(sandbox: RunningSandbox) -> Iterator[str]:
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        response_cache_enabled=False,  # each request executed: its own plan
        **QUIET,
    )
    with uvicorn_in_thread(build_app(settings)) as base_url:
        yield f"{base_url}/graphql"


def run(sandbox: RunningSandbox, url: str, query: str) -> tuple[dict[str, Any], list[str]]:
    """The response and the paths of the upstream calls it cost (with their query strings)."""
    sandbox.reset_requests()
    response = httpx.post(url, json={"query": query}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body, [f"{e['path']}?{e['query']}" for e in sandbox.requests()]


def plan_of(body: dict[str, Any], level: str) -> dict[str, Any]:
    plans: list[dict[str, Any]] = body["extensions"]["upstream"]["plan"]
    (plan,) = [p for p in plans if p["level"] == level]
    return plan


def test_a_customers_payments_use_the_confirmed_filter(sandbox: RunningSandbox, url: str) -> None:
    store = sandbox.store()
    payers = Counter(p.customer_id for p in store.payments.values())
    customer_id, count = payers.most_common(1)[0]
    number = store.customers[customer_id].number
    query = (
        f"{{ customer(number: {number}) {{ payments(first: 5) {{ totalCount nodes {{ id }} }} }} }}"
    )
    body, calls = run(sandbox, url, query)

    assert body["data"]["customer"]["payments"]["totalCount"] == count  # Kickserv filtered it
    assert [c for c in calls if "/payments.json" in c] == [
        c for c in calls if f"customer_id={number}" in c
    ]
    plan = plan_of(body, "payments of a customer")
    assert plan["path"] == "filtered"
    assert plan["listing"] == "/payments.json?customer_id="
    assert plan["parents"] == 1
    assert plan["expected"] == {"calls": 1, "rounds": 1}
    assert "confirms customer_id" in plan["reason"]


def test_the_invoice_index_plan_says_what_its_build_read(sandbox: RunningSandbox, url: str) -> None:
    invoiced = [j for j in sandbox.store().jobs.values() if j.invoice_status is not None]
    query = f'{{ invoice(id: "{invoiced[0].id}") {{ id }} }}'
    cold, calls = run(sandbox, url, query)
    pages = sum(1 for c in calls if "/invoices.json" in c)
    assert pages == math.ceil(len(invoiced) / 100) > 1
    plan = plan_of(cold, "Invoice by id")
    assert plan["path"] == "index"
    assert plan["listing"] == "/invoices.json"
    assert plan["expected"]["calls"] == pages
    assert plan["expected"]["rounds"] == 2  # page 1 tells the page count; then the rest
    assert "no invoice lookup" in plan["reason"]

    warm, calls = run(sandbox, url, query)
    assert calls == []
    assert plan_of(warm, "Invoice by id")["expected"] == {"calls": 0, "rounds": 0}


def test_the_schedule_by_task_type_is_read_whole(sandbox: RunningSandbox, url: str) -> None:
    store = sandbox.store()
    start = min(t.starts_at.date() for t in store.tasks.values() if t.starts_at)
    end = start + timedelta(days=120)
    task_type = next(iter(store.task_types))
    query = (
        f'{{ schedule(from: "{start}", to: "{end}", first: 5, taskTypeId: "{task_type}") '
        "{ totalCount nodes { id } } }"
    )
    body, calls = run(sandbox, url, query)
    plan = plan_of(body, "Query.schedule")
    assert plan["path"] == "whole"
    assert plan["listing"] == "/tasks.json?from=&to="
    assert plan["expected"]["calls"] == len(calls) > 0
    assert "/schedule.json documents no date filter" in plan["reason"]


def test_the_schedule_window_plan_names_the_dated_listing(
    sandbox: RunningSandbox, url: str
) -> None:
    today = date(2026, 1, 1)
    query = f'{{ schedule(from: "{today}", to: "{today + timedelta(days=7)}") {{ totalCount }} }}'
    body, calls = run(sandbox, url, query)
    plan = plan_of(body, "Query.schedule")
    assert plan["path"] == "window"
    assert plan["expected"] == {"calls": len(calls), "rounds": 1}
    assert "only employee_number and task_type_id" in plan["reason"]
    assert plan["reason"].endswith("not read ahead: the query asks no cursor")
