"""The four example operations, end to end over a real sandbox: their data against the sandbox's own
records (never through our client), the exact upstream requests they cost, and in how many dependent
rounds. Expected costs are derived from the records: "a level of the graph costs one round".

And the README's side of them: its examples table and tour are what scripts/example_costs.py writes,
and the `serve` command it shows gives the tour's answers."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import httpx
import pytest

from sandbox import choices
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore, Customer, Job, Task
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import (
    ROOT,
    ROUND_LATENCY_MS,
    SANDBOX,
    TODAY,
    example,
    example_variables,
    graph_server,
    multi_credential_server,
    serve_command,
)

CONFIG = SANDBOX  # seed 4: child customers on and off page 1
EXAMPLES = ("dashboard", "dispatch_week", "customer_history", "accounts_receivable")
LIMITED = "demo-token-6"  # employee 6 sees only jobs with a task assigned to them
ANY = object()


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(**CONFIG)) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def slow_sb() -> Iterator[RunningSandbox]:
    """Latency far above the time our server needs to send a wave, so rounds show in the log."""
    with running_sandbox(SandboxConfig(**CONFIG, latency_ms=ROUND_LATENCY_MS)) as sandbox:
        yield sandbox


# -- what the sandbox's records say -------------------------------------------------------------


class Visibility:
    """The jobs a credential may see, from the records (employee 6 is limited to assignments)."""

    def __init__(self, store: AccountStore, employee_number: int = 1) -> None:
        employee = store.employee_by_number(employee_number)
        assert employee is not None
        self.store = store
        self.jobs: set[int] | None = None
        if employee.limit_access_to_assignments:
            self.jobs = {t.job_id for t in store.tasks.values() if employee.id in t.employee_ids}

    def sees(self, job: Job) -> bool:
        return self.jobs is None or job.id in self.jobs

    def customer_jobs(self, customer: Customer) -> list[Job]:
        """/customers/{n}/jobs.json: newest first, jobs only (no opportunities)."""
        jobs = (self.store.jobs[j] for j in reversed(customer.job_ids))
        return [j for j in jobs if j.status in choices.JOB_STATUSES and self.sees(j)]

    def job_tasks(self, job: Job) -> list[Task]:
        tasks = [self.store.tasks[t] for t in job.task_ids] if self.sees(job) else []
        return sorted(tasks, key=lambda t: (t.starts_at, t.id))

    def unpaid_invoices(self) -> list[Job]:
        found = [
            j
            for j in self.store.jobs.values()
            if j.invoice_date is not None and j.invoice_status == "unpaid" and self.sees(j)
        ]
        return sorted(found, key=lambda j: (j.invoice_date, j.number), reverse=True)


def address(c: Customer) -> dict[str, Any]:
    return {
        "line1": c.service_address,
        "city": c.service_city,
        "state": c.service_state,
        "zip": c.service_zip_code,
    }


def expected_dashboard(v: Visibility, customers: int = 20, jobs: int = 5) -> dict[str, Any]:
    store = v.store
    everyone = list(store.customers_by_number.values())

    def node(c: Customer) -> dict[str, Any]:
        listed = v.customer_jobs(c)
        children = [store.customers[k] for k in c.children]
        return {
            "id": str(c.id),
            "number": c.number,
            "name": c.name,
            "balance": c.balance,
            "locations": [
                {"id": str(c.id), "name": c.name, "isPrimary": True, "address": address(c)},
                *(
                    {"id": str(k.id), "name": k.name, "isPrimary": False, "address": address(k)}
                    for k in children
                ),
            ],
            "jobs": {
                "totalCount": len(listed),
                "nodes": [
                    {
                        "number": j.number,
                        "name": j.name,
                        "status": j.status,
                        "scheduledOn": j.scheduled_on,
                        "tasks": [
                            {
                                "id": str(t.id),
                                "description": t.description,
                                "startsAt": t.starts_at,
                                "endsAt": t.ends_at,
                                "assignees": [
                                    {
                                        "id": str(e),
                                        "number": store.employees[e].number,
                                        "name": store.employees[e].name,
                                    }
                                    for e in t.employee_ids
                                ],
                            }
                            for t in v.job_tasks(j)
                        ],
                    }
                    for j in listed[:jobs]
                ],
            },
        }

    return {
        "customers": {
            "totalCount": len(everyone),
            "pageInfo": {"hasNextPage": len(everyone) > customers, "endCursor": ANY},
            "edges": [{"cursor": ANY, "node": node(c)} for c in everyone[:customers]],
        }
    }


def dashboard_cost(v: Visibility, customers: int = 20, jobs: int = 5) -> tuple[int, int]:
    """1 customers page + 1 jobs listing per customer shown + 1 GET per child customer not on the
    page (locations ask for its address), then the tasks (resolvers.plan): page 1 of the
    account-wide /tasks.json with the customers page; the rest of its pages with the job listings
    when fewer than the query's bound of jobs (customers x jobs), 2 levels (every job's tasks_count
    agrees with its group in the sandbox); else 1 tasks listing per job shown, 3 levels."""
    shown = list(v.store.customers_by_number.values())[:customers]
    on_page = {c.id for c in shown}
    children = {k for c in shown for k in c.children if k not in on_page}
    jobs_shown = sum(len(v.customer_jobs(c)[:jobs]) for c in shown)
    visible = sum(len(j.task_ids) for j in v.store.jobs.values() if v.sees(j))
    pages = max(1, math.ceil(visible / 100))
    if pages - 1 < customers * jobs:
        return 1 + len(shown) + len(children) + pages, 2
    return 1 + len(shown) + len(children) + 1 + jobs_shown, 2 + (jobs_shown > 0)


def week_tasks(v: Visibility, start: date, end: date) -> list[Task]:
    return [
        t
        for t in v.store.tasks_by_start()
        if start <= t.starts_at.date() < end and v.sees(v.store.jobs[t.job_id])
    ]


def expected_dispatch(v: Visibility, start: date, end: date) -> dict[str, Any]:
    store, tasks = v.store, week_tasks(v, start, end)

    def node(t: Task) -> dict[str, Any]:
        job = store.jobs[t.job_id]
        customer = store.customers[job.customer_id]
        return {
            "id": str(t.id),
            "description": t.description,
            "startsAt": t.starts_at,
            "endsAt": t.ends_at,
            "job": {
                "id": str(job.id),
                "number": job.number,
                "name": job.name,
                "status": job.status,
            },
            "customer": {"id": str(customer.id), "number": customer.number, "name": customer.name},
            "location": {"name": customer.name, "address": address(customer)},
            "assignees": [
                {"id": str(e), "number": store.employees[e].number, "name": store.employees[e].name}
                for e in t.employee_ids
            ],
        }

    return {
        "schedule": {
            "totalCount": len(tasks),
            "pageInfo": {"hasNextPage": len(tasks) > 100, "endCursor": ANY},
            "nodes": [node(t) for t in tasks[:100]],
        }
    }


def expected_history(v: Visibility, number: int) -> dict[str, Any]:
    store = v.store
    c = store.customers_by_number[number]
    jobs = v.customer_jobs(c)
    payments = sorted(
        (
            p
            for p in store.payments.values()
            if p.customer_id == c.id and v.sees(store.jobs[p.job_id])
        ),
        key=lambda p: (p.date, p.id),
        reverse=True,
    )

    def invoice(j: Job) -> dict[str, Any] | None:
        if j.invoice_date is None:
            return None
        return {
            "id": str(j.id),
            "invoiceDate": j.invoice_date,
            "status": (j.invoice_status or "").upper(),
            "total": j.total,
            "balanceRemaining": j.balance_remaining,
        }

    return {
        "customer": {
            "id": str(c.id),
            "number": c.number,
            "name": c.name,
            "balance": c.balance,
            "serviceAddress": address(c),
            "jobs": {
                "totalCount": len(jobs),
                "nodes": [
                    {
                        "number": j.number,
                        "name": j.name,
                        "status": j.status,
                        "total": j.total,
                        "lineItems": [
                            {
                                "description": ch.description,
                                "quantity": ch.quantity,
                                "pricePerUnit": ch.price_per_unit,
                                "discount": ch.discount,
                                "total": ch.total,
                            }
                            for ch in (store.charges[i] for i in j.charge_ids)
                        ],
                        "invoice": invoice(j),
                        "payments": [
                            {
                                "id": str(p.id),
                                "date": p.date,
                                "amount": p.amount,
                                "paymentType": p.payment_type,
                            }
                            for p in (store.payments[i] for i in j.payment_ids)
                        ],
                    }
                    for j in jobs[:100]
                ],
            },
            "payments": {
                "totalCount": len(payments),
                "nodes": [
                    {
                        "id": str(p.id),
                        "date": p.date,
                        "amount": p.amount,
                        "paymentType": p.payment_type,
                    }
                    for p in payments[:100]
                ],
            },
        }
    }


def history_cost(v: Visibility, number: int) -> tuple[int, int]:
    """1 customer GET, with its jobs listing and its payments listing in the same round (they need
    only the number the query gave: graph.schema.prefetch); then one job GET per job shown (line items and
    payments live only in the job's detail; the invoice is in the listing)."""
    jobs = v.customer_jobs(v.store.customers_by_number[number])[:100]
    return 1 + 2 + len(jobs), 1 + (len(jobs) > 0)


def expected_receivables(v: Visibility, first: int = 50) -> dict[str, Any]:
    store, unpaid = v.store, v.unpaid_invoices()

    def node(j: Job) -> dict[str, Any]:
        c = store.customers[j.customer_id]
        return {
            "id": str(j.id),
            "number": j.number,
            "invoiceDate": j.invoice_date,
            "total": j.total,
            "balanceRemaining": j.balance_remaining,
            "customer": {"id": str(c.id), "number": c.number, "name": c.name},
            "payments": [
                {"id": str(p.id), "date": p.date, "amount": p.amount}
                for p in (store.payments[i] for i in j.payment_ids)
            ],
        }

    return {
        "invoices": {
            "totalCount": len(unpaid),
            "totalBalanceRemaining": sum((j.balance_remaining for j in unpaid), Decimal(0)),
            "pageInfo": {"hasNextPage": len(unpaid) > first, "endCursor": ANY},
            "nodes": [node(j) for j in unpaid[:first]],
        }
    }


def receivables_cost(v: Visibility, first: int = 50) -> tuple[int, int]:
    """1 invoices page (customer glue answers `customer`), then one job GET per invoice shown for
    its payments (/payments.json carries no job id)."""
    shown = len(v.unpaid_invoices()[:first])
    return 1 + shown, 1 + (shown > 0)


def expectations(
    v: Visibility, name: str, variables: dict[str, Any]
) -> tuple[Any, tuple[int, int]]:
    if name == "dashboard":
        return expected_dashboard(v), dashboard_cost(v)
    if name == "dispatch_week":
        start, end = date.fromisoformat(variables["from"]), date.fromisoformat(variables["to"])
        assert len(week_tasks(v, start, end)) <= 100  # one page of the example's `first`
        return expected_dispatch(v, start, end), (1, 1)
    if name == "customer_history":
        number = variables["number"]
        return expected_history(v, number), history_cost(v, number)
    return expected_receivables(v), receivables_cost(v)


def assert_matches(actual: Any, expected: Any, path: str = "data") -> None:
    """Compare a response with records: decimals, dates and times are parsed before comparing."""
    if expected is ANY:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not an object"
        assert set(actual) == set(expected), f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        for key, value in expected.items():
            assert_matches(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{path}: {actual!r} is not a list"
        assert len(actual) == len(expected), (
            f"{path}: {len(actual)} items, expected {len(expected)}"
        )
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(a, e, f"{path}[{i}]")
    elif isinstance(expected, Decimal):
        assert actual is not None and Decimal(actual) == expected, f"{path}: {actual} != {expected}"
    elif isinstance(expected, datetime):
        assert actual is not None and datetime.fromisoformat(actual) == expected, (
            f"{path}: {actual}"
        )
    elif isinstance(expected, date):
        assert actual == expected.isoformat(), f"{path}: {actual} != {expected}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


# -- the examples -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
async def test_example_returns_the_sandbox_records_at_the_expected_cost(
    sb: RunningSandbox, name: str
):
    # given
    store = sb.store("demo")
    variables = example_variables(store, TODAY)[name]
    expected, (calls, _rounds) = expectations(Visibility(store), name, variables)
    async with graph_server(sb) as graph:
        # when
        run = await graph.run(example(name), variables)
        # then
        assert run.errors == []
        assert_matches(run.data, expected)
        assert run.calls == calls, run.paths()
        assert run.upstream["calls"] == calls
        assert all(e["status"] == 200 for e in run.log)


@pytest.mark.parametrize("name", EXAMPLES)
async def test_example_costs_one_round_per_level(slow_sb: RunningSandbox, name: str):
    # given: a sandbox with latency and a concurrency limit that lets a level go out as one wave
    store = slow_sb.store("demo")
    variables = example_variables(store, TODAY)[name]
    _expected, (calls, rounds) = expectations(Visibility(store), name, variables)
    async with graph_server(slow_sb, kickserv_concurrency=100) as graph:
        # when
        run = await graph.run(example(name), variables)
        # then
        assert run.errors == []
        assert (run.calls, run.rounds) == (calls, rounds), run.round_summary()


async def test_repeating_the_examples_within_the_ttl_costs_nothing(sb: RunningSandbox):
    variables = example_variables(sb.store("demo"), TODAY)
    # The repeats must execute: this is the shared cache's test (test_response_cache has its own).
    async with graph_server(sb, response_cache_enabled=False) as graph:
        firsts = {name: await graph.run(example(name), variables[name]) for name in EXAMPLES}
        for name in EXAMPLES:
            again = await graph.run(example(name), variables[name])
            assert again.errors == []
            assert again.data == firsts[name].data
            assert again.calls == 0, (name, again.paths())
            assert again.upstream["calls"] == 0 and again.upstream["cacheHits"] > 0


@pytest.mark.parametrize("limited_first", [True, False], ids=["limited-first", "admin-first"])
async def test_a_second_credential_makes_its_own_calls_and_sees_only_its_data(
    sb: RunningSandbox, limited_first: bool
):
    # given: one server, one shared cache, two credentials of account demo
    store = sb.store("demo")
    variables = example_variables(store, TODAY)
    admin, limited = Visibility(store), Visibility(store, employee_number=6)
    order = [(LIMITED, limited), (None, admin)]
    if not limited_first:
        order.reverse()
    for name in EXAMPLES:
        async with multi_credential_server(sb) as graph:
            for token, visibility in order:
                expected, (calls, _rounds) = expectations(visibility, name, variables[name])
                # when: the other credential's cache is warm for this very query
                run = await graph.run(example(name), variables[name], token=token)
                # then: its own calls, its own data
                assert run.errors == []
                assert_matches(run.data, expected)
                assert run.calls == calls, (name, token, run.paths())
                fingerprints = {e["employee_number"] for e in run.log}
                assert fingerprints <= {6 if token else 1}
            # and each credential's cache now answers it alone
            for token, _visibility in order:
                assert (await graph.run(example(name), variables[name], token=token)).calls == 0


def test_the_limited_employee_really_sees_less():
    """Guard for the test above: with this seed, employee 6's view differs in every example."""
    with running_sandbox(SandboxConfig(**CONFIG)) as sandbox:
        store = sandbox.store("demo")
        variables = example_variables(store, TODAY)
        admin, limited = Visibility(store), Visibility(store, employee_number=6)
        for name in EXAMPLES:
            assert (
                expectations(admin, name, variables[name])[0]
                != expectations(limited, name, variables[name])[0]
            ), name


# -- the README's examples table and tour -------------------------------------------------------

README = ROOT / "README.md"
TOUR_SECTION = re.compile(
    r"### `(?P<name>\w+)`\n\n```graphql\n.*?```\n\nWith `(?P<variables>\{.*?\})` "
    r"\(a cold server: (?P<calls>\d+) upstream calls?\):\n\n```json\n(?P<answer>.*?)\n```",
    re.DOTALL,
)


def example_costs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "example_costs", ROOT / "scripts" / "example_costs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def readme_block(markers: tuple[str, str]) -> str:
    text = README.read_text(encoding="utf-8")
    start, end = markers
    found = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), text, re.DOTALL)
    assert found is not None, f"README.md has no {start} block"
    return found.group(1)


async def test_readme_examples_table_and_tour_are_what_the_script_writes():
    # given: what scripts/example_costs.py --write would put in README.md now
    blocks = await example_costs_script().blocks()
    # then: README.md has exactly that (refresh with scripts/example_costs.py --write)
    for markers, body in blocks.items():
        assert readme_block(markers) == body, f"{markers[0]} is stale: run example_costs.py --write"


def tour() -> list[tuple[str, dict[str, Any], int, dict[str, Any]]]:
    """(example, variables, cold calls, answer) for each tour section of README.md."""
    block = readme_block(("<!-- example-tour:start -->", "<!-- example-tour:end -->"))
    found = [
        (m["name"], json.loads(m["variables"]), int(m["calls"]), json.loads(m["answer"]))
        for m in TOUR_SECTION.finditer(block)
    ]
    assert [name for name, *_ in found] == list(EXAMPLES)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_readme_serve_command_gives_the_tour_answers():
    # given: the command the README's tour names, started as a reader would start it
    readme = README.read_text(encoding="utf-8")
    block = readme_block(("<!-- example-tour:start -->", "<!-- example-tour:end -->"))
    command = re.search(r"`(kickserv-graph serve [^`]*)`", block)
    assert command is not None and command.group(1) == serve_command()
    assert f".venv/bin/{serve_command()}" in readme  # the quickstart starts this very server
    port = free_port()
    argv = [sys.executable, "-m", "graph.server.cli", *shlex.split(command.group(1))[1:]]
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("KICKSERV_", "GRAPH_", "SANDBOX_"))
    }
    with tempfile.TemporaryFile("w+") as output:
        server = subprocess.Popen(
            [*argv, "--port", str(port)], cwd=ROOT, env=environ, stdout=output, stderr=output
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                deadline = time.monotonic() + 60
                while True:
                    assert server.poll() is None, "serve exited early"
                    try:
                        if client.get("/readyz").status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "serve was not ready within 60 s"
                    time.sleep(0.2)
                # when: each tour operation, in the README's order, on this one server
                for index, (name, variables, calls, answer) in enumerate(tour()):
                    body = client.post(
                        "/graphql", json={"query": example(name), "variables": variables}
                    ).json()
                    # then: the README's answer, and the first (cold) one at the README's cost
                    assert {"data": body.get("data")} == answer, (name, body.get("errors"))
                    if index == 0:
                        assert body["extensions"]["upstream"]["calls"] == calls
        except AssertionError:
            output.seek(0)
            print(output.read())  # the server's console, shown with the failure
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
