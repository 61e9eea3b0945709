"""The strict reference personality: each behaviour the reference leaves open takes its conservative
alternative, and the lenient default keeps the first choice (sandbox/choices.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from sandbox import choices
from sandbox.app import create_app, sandbox_state
from sandbox.data import AccountStore
from tests.sandbox.conftest import api_client, small_config


@pytest.fixture
def strict_app() -> Starlette:
    return create_app(small_config(reference_strict=True))


@pytest.fixture
def strict_store(strict_app: Starlette) -> AccountStore:
    return sandbox_state(strict_app).store("demo")


@pytest.fixture
async def strict(strict_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(strict_app) as http:
        yield http


def test_the_environment_variable_picks_the_default(monkeypatch):
    monkeypatch.setenv(choices.STRICT_ENV, "1")
    assert small_config(reference_strict=choices.strict_from_env()).reference_strict
    monkeypatch.setenv(choices.STRICT_ENV, "0")
    assert not choices.strict_from_env()


async def test_undocumented_filters_are_ignored(strict, strict_store):
    every = (await strict.get("/jobs.json", params={"per_page": 100})).json()
    filtered = (await strict.get("/jobs.json", params={"per_page": 100, "status": "bogus"})).json()
    assert filtered["total_entries"] == every["total_entries"] > 0  # not even validated
    schedule = (await strict.get("/schedule.json", params={"per_page": 1})).json()
    dated = await strict.get(
        "/schedule.json", params={"per_page": 1, "from": "2026-11-16", "to": "2026-11-17"}
    )
    assert dated.json()["total_entries"] == schedule["total_entries"] == len(strict_store.tasks)


async def test_lenient_honours_them(client):
    every = (await client.get("/jobs.json", params={"per_page": 1})).json()
    complete = (await client.get("/jobs.json", params={"per_page": 1, "status": "complete"})).json()
    assert 0 < complete["total_entries"] < every["total_entries"]
    assert (await client.get("/jobs.json", params={"status": "bogus"})).status_code == 422


async def test_customers_page_only_by_customers_page(strict):
    plain = (await strict.get("/customers.json", params={"per_page": 5, "page": 2})).json()
    named = (
        await strict.get("/customers.json", params={"per_page": 5, "customers_page": 2})
    ).json()
    assert plain["current_page"] == 1 and named["current_page"] == 2


async def test_unconfirmed_write_urls_answer_the_unknown_route_404(strict, strict_store):
    job = next(j for j in strict_store.jobs.values() if j.charge_ids)
    customer = next(iter(strict_store.customers.values()))
    charge = f"/jobs/{job.number}/job_charges/{job.charge_ids[0]}.json"
    before = (list(job.charge_ids), list(job.payment_ids), list(job.note_ids), list(job.tags))
    refused = [
        await strict.put(charge, json={"job_charge": {"quantity": 2}}),
        await strict.delete(charge),
        await strict.post(f"/jobs/{job.number}/payments.json", json={"payment": {"amount": "1"}}),
        await strict.post(f"/jobs/{job.number}/notes.json", json={"note": {"body": "x"}}),
        await strict.put(f"/jobs/{job.number}/tags.json", json={"tags": ["a"]}),
        await strict.put(f"/customers/{customer.number}/tags.json", json={"tags": ["a"]}),
    ]
    assert [r.status_code for r in refused] == [404] * 6
    assert all(r.json() == {"errors": ["Not found."]} for r in refused)
    assert (job.charge_ids, job.payment_ids, job.note_ids, job.tags) == before  # nothing applied
    assert (await strict.get(f"/jobs/{job.number}/tags.json")).status_code == 200  # reads stay
    # the confirmed routes still work
    added = await strict.post(
        f"/jobs/{job.number}/job_charges.json", json={"job_charge": {"description": "Widget"}}
    )
    noted = await strict.post(
        f"/customers/{customer.number}/notes.json", json={"note": {"body": "Call first"}}
    )
    assert added.status_code == noted.status_code == 200


async def test_no_unconfirmed_keys_and_some_inactive_customers(strict, strict_store):
    job = next(j for j in strict_store.jobs.values() if j.charge_ids and j.payment_ids)
    detail = (await strict.get(f"/jobs/{job.number}.json")).json()
    assert "notes" not in detail and "tags" in detail
    assert all("taxable" not in c for c in detail["job_charges"])
    payer = detail["payments"][0]["customer"]
    assert "is_active" in payer and "balance" in payer  # the full record, not a summary
    vendors = (await strict.get("/vendors.json")).json()["vendors"]
    assert vendors and all("errors" not in v for v in vendors)
    created = (
        await strict.post("/vendors.json", json={"vendor": {"name": "Strict Supply"}})
    ).json()
    assert created["errors"] == {}  # a write answer carries it: confirmed
    customers = (await strict.get("/customers.json", params={"per_page": 100})).json()["customers"]
    assert {c["is_active"] for c in customers} == {True, False}
    missing = await strict.get("/jobs/999999.json")  # v2's answer for a missing record is unknown
    assert (missing.status_code, missing.json()) == (404, {"errors": ["Invalid job."]})
    tasks = (await strict.get("/tasks.json", params={"per_page": 5})).json()["tasks"]
    assert tasks and all("employee_ids" not in t and "employees" in t for t in tasks)


async def test_lenient_keys(client, store):
    job = next(j for j in store.jobs.values() if j.charge_ids and j.payment_ids)
    detail = (await client.get(f"/jobs/{job.number}.json")).json()
    assert "notes" in detail and all("taxable" in c for c in detail["job_charges"])
    assert "is_active" not in detail["payments"][0]["customer"]
    customers = (await client.get("/customers.json", params={"per_page": 100})).json()["customers"]
    assert {c["is_active"] for c in customers} == {True}


def test_the_cli_flags_reach_the_sandbox(monkeypatch, capsys):
    """`kickserv-graph sandbox --reference-strict` builds a strict sandbox; `serve
    --reference-strict` hands the built-in sandbox SANDBOX_REFERENCE_STRICT (workers read it)."""
    import graph.server.serve
    from graph.server.cli import build_parser
    from graph.server.settings import Settings
    from sandbox.cli import config_from

    monkeypatch.setenv(choices.STRICT_ENV, "0")  # (restored after the test: serve sets it)
    parser = build_parser()
    assert config_from(parser.parse_args(["sandbox", "--reference-strict"])).reference_strict
    assert not config_from(parser.parse_args(["sandbox"])).reference_strict
    monkeypatch.setattr(graph.server.serve.uvicorn, "run", lambda app, **kw: None)
    for name in ("KICKSERV_ACCOUNT", "KICKSERV_API_TOKEN", "GRAPH_PASS_THROUGH"):
        monkeypatch.delenv(name, raising=False)
    args = parser.parse_args(["serve", "--reference-strict"])
    assert args.handler(args) == 0
    assert Settings.from_env().sandbox_reference_strict
    assert "strict reference mode" in capsys.readouterr().out
