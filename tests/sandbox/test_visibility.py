"""An employee with limit_access_to_assignments sees only jobs with a task assigned to them."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.conftest import every_page

JOB_STATUSES = {"unscheduled", "scheduled", "in_progress", "on_hold", "complete", "canceled"}


@pytest.fixture
async def limited(app, store):
    employee = next(e for e in store.employees.values() if e.limit_access_to_assignments)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://sandbox/demo/api/v2",
        auth=(employee.token, employee.token),
    ) as http:
        yield http, employee


def _assigned_jobs(store, employee):
    return {t.job_id for t in store.tasks.values() if employee.id in t.employee_ids}


async def test_jobs_and_job_get(limited, store):
    http, employee = limited
    mine = _assigned_jobs(store, employee)
    jobs = await every_page(http, "/jobs.json", "jobs")
    assert jobs and {j["id"] for j in jobs} <= mine
    assert {j["id"] for j in jobs} == {i for i in mine if store.jobs[i].status in JOB_STATUSES}
    hidden = next(j for j in store.jobs.values() if j.id not in mine)
    response = await http.get(f"/jobs/{hidden.number}.json")
    assert response.status_code == 400 and response.json() == {"errors": ["Invalid job."]}
    visible = store.jobs[next(iter(mine))]
    assert (await http.get(f"/jobs/{visible.number}.json")).status_code == 200


async def test_tasks_schedule_invoices_opportunities_payments(limited, client, store):
    http, employee = limited
    mine = _assigned_jobs(store, employee)
    for path, key in (("/tasks.json", "tasks"), ("/schedule.json", "tasks")):
        mine_tasks = await every_page(http, path, key)
        every = await every_page(client, path, key)
        assert mine_tasks and len(mine_tasks) < len(every)
        assert {t["job_id"] for t in mine_tasks} <= mine
    invoices = await every_page(http, "/invoices.json", "invoices")
    assert len(invoices) < len(await every_page(client, "/invoices.json", "invoices"))
    assert {i["id"] for i in invoices} <= mine
    opportunities = await every_page(http, "/opportunities.json", "opportunities")
    assert {o["id"] for o in opportunities} <= mine
    payments = (await http.get("/payments.json", params={"per_page": 100})).json()["payments"]
    assert {p["id"] for p in payments} <= {
        p.id for p in store.payments.values() if p.job_id in mine
    }  # fmt: skip
    hidden_task = next(t for t in store.tasks.values() if t.job_id not in mine)
    assert (await http.get(f"/tasks/{hidden_task.id}.json")).status_code == 400


async def test_customers_stay_visible(limited, client):
    http, _ = limited
    mine = (await http.get("/customers.json")).json()
    assert mine == (await client.get("/customers.json")).json()
