"""The upstream planner over real HTTP against the sandbox: the dashboard's tasks level read from the
account-wide ``/tasks.json`` pages grouped by job (fewer calls than one listing per job), the same
answer as the per-parent path field by field, the plan shown in ``extensions.upstream.plan`` in
development and absent in production, and a job whose ``tasks_count`` disagrees read on its own."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.settings import Settings
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import QUIET, uvicorn_in_thread

DASHBOARD = (Path(__file__).parents[2] / "examples" / "dashboard.graphql").read_text()
PER_PAGE = 100  # the sandbox's (and Kickserv's) largest page

Server = Callable[..., AbstractContextManager[str]]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=200, seed=3)) as sb:
        yield sb


@pytest.fixture
def server(sandbox: RunningSandbox) -> Server:
    @contextmanager
    def serve(**settings: Any) -> Iterator[str]:
        app = build_app(
            Settings(
                kickserv_account="demo",
                kickserv_api_token="demo-token",
                kickserv_base_url=sandbox.base_url,
                **{**QUIET, **settings},
            )
        )
        with uvicorn_in_thread(app) as base_url:
            yield f"{base_url}/graphql"

    return serve


def run(sandbox: RunningSandbox, url: str, query: str) -> tuple[dict[str, Any], Counter[str]]:
    """The response, and the upstream calls it cost by kind (task listings apart)."""
    sandbox.reset_requests()
    response = httpx.post(url, json={"query": query}, timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    kinds: Counter[str] = Counter()
    for entry in sandbox.requests():
        if str(entry["path"]).endswith("/tasks.json"):
            kinds["tasks?job_id" if "job_id=" in str(entry["query"]) else "tasks"] += 1
        else:
            kinds["other"] += 1
    return body, kinds


def jobs_shown(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [job for edge in data["customers"]["edges"] for job in edge["node"]["jobs"]["nodes"]]


def test_the_dashboard_reads_tasks_account_wide_with_the_same_answer(
    sandbox: RunningSandbox, server: Server
) -> None:
    with server(cache_enabled=False) as url:  # no shared cache: no speculation, per parent
        before, before_calls = run(sandbox, url, DASHBOARD)
    with server() as url:
        after, after_calls = run(sandbox, url, DASHBOARD)

    assert after["data"] == before["data"]  # every field of every job's tasks, in order
    jobs = jobs_shown(after["data"])
    tasks = sum(len(job["tasks"]) for job in jobs)
    assert tasks > 0 and any(not job["tasks"] for job in jobs)
    pages = math.ceil(len(sandbox.store().tasks) / PER_PAGE)
    assert before_calls == {"other": before_calls["other"], "tasks?job_id": len(jobs)}
    assert after_calls == {"other": before_calls["other"], "tasks": pages}
    assert pages < len(jobs)
    assert after["extensions"]["upstream"]["calls"] == before_calls["other"] + pages
    # rounds as the request saw them: levels that depend on each other cannot overlap
    assert before["extensions"]["upstream"]["rounds"] >= 3  # customers, job listings, tasks
    assert after["extensions"]["upstream"]["rounds"] >= 2  # customers, job listings (+ tasks)

    (plan,) = after["extensions"]["upstream"]["plan"]
    assert plan == {
        "level": "Job.tasks",
        "path": "account-wide",
        "listing": "/tasks.json",
        "parents": len(jobs),
        "expected": {"calls": pages, "rounds": 0},
        "alternative": {"calls": len(jobs)},
        "reason": plan["reason"],
        "verified": len(jobs),
        "fallback": 0,
    }
    (per_parent,) = before["extensions"]["upstream"]["plan"]
    assert per_parent["path"] == "per-parent"
    assert per_parent["expected"] == {"calls": len(jobs), "rounds": 1}


def test_the_plan_is_not_shown_in_production(sandbox: RunningSandbox, server: Server) -> None:
    with server(upstream_extensions=False) as url:
        body, calls = run(sandbox, url, DASHBOARD)
    assert "upstream" not in body.get("extensions", {})
    assert calls["tasks"] == math.ceil(len(sandbox.store().tasks) / PER_PAGE)
    assert calls["tasks?job_id"] == 0


def test_one_job_asked_is_read_per_job(sandbox: RunningSandbox, server: Server) -> None:
    number = next(c.number for c in sandbox.store().customers.values() if c.job_ids)
    query = (
        f"{{ customer(number: {number}) {{ jobs(first: 1) {{ nodes {{ tasks {{ id }} }} }} }} }}"
    )
    with server() as url:
        body, calls = run(sandbox, url, query)
    assert calls["tasks"] == 0 and calls["tasks?job_id"] == 1
    (plan,) = body["extensions"]["upstream"]["plan"]
    assert (plan["path"], plan["parents"], plan["expected"]["calls"]) == ("per-parent", 1, 1)


@pytest.fixture
def miscounted() -> Iterator[tuple[RunningSandbox, int]]:
    """A sandbox where one job's listing says one task more than it has (``tasks_count``)."""
    with running_sandbox(SandboxConfig(customers=60, seed=4)) as sb:
        store = sb.store()
        first = next(c for c in store.customers.values() if c.parent_id is None)
        job = next(store.jobs[j] for j in reversed(first.job_ids))
        other = next(t for t in store.tasks.values() if t.job_id != job.id)
        job.task_ids.append(other.id)  # counted, but listed under its own job
        yield sb, job.number


def test_a_job_whose_count_disagrees_is_read_on_its_own(
    miscounted: tuple[RunningSandbox, int],
) -> None:
    sandbox, number = miscounted
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        **QUIET,
    )
    query = DASHBOARD.replace("$customers: Int = 20", "$customers: Int = 3")
    with uvicorn_in_thread(build_app(replace(settings, cache_enabled=False))) as b:
        before, _ = run(sandbox, f"{b}/graphql", query)
    with uvicorn_in_thread(build_app(settings)) as base_url:
        after, calls = run(sandbox, f"{base_url}/graphql", query)
    assert after["data"] == before["data"]
    assert number in {job["number"] for job in jobs_shown(after["data"])}
    assert calls["tasks?job_id"] == 1  # only the job whose count disagreed
    (plan,) = after["extensions"]["upstream"]["plan"]
    assert plan["path"] == "account-wide" and plan["fallback"] == 1
    assert plan["verified"] == len(jobs_shown(after["data"])) - 1


def test_a_bound_below_the_known_page_count_reads_per_job_without_page_one(
    sandbox: RunningSandbox, server: Server
) -> None:
    pages = math.ceil(len(sandbox.store().tasks) / PER_PAGE)
    owner = next(c for c in sandbox.store().customers.values() if len(c.job_ids) >= 2)
    query = f"{{ customer(number: {owner.number}) {{ jobs(first: 2) {{ nodes {{ tasks {{ id }} }} }} }} }}"
    assert pages - 1 >= 2  # the account-wide pages are more calls than two per-job listings
    with server() as url:
        run(sandbox, url, DASHBOARD)  # the tenant learns its task listing's page count
        body, calls = run(sandbox, url, query)
    assert calls["tasks"] == 0  # no speculative page 1
    assert calls["tasks?job_id"] == len(body["data"]["customer"]["jobs"]["nodes"]) == 2
