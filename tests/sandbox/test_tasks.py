"""/tasks.json, /tasks/{id}.json, /jobs/{n}/tasks.json and /schedule.json."""

from __future__ import annotations

from datetime import timedelta

from tests.sandbox.conftest import TODAY, every_page


async def test_tasks_are_sorted_and_carry_glue(client, store):
    tasks = await every_page(client, "/tasks.json", "tasks")
    assert len(tasks) == len(store.tasks)
    starts = [t["starts_at"] for t in tasks]
    assert starts == sorted(starts)
    task = tasks[0]
    job = store.jobs[task["job_id"]]
    assert task["job"] == {"id": job.id, "job_number": job.number, "name": job.name,
                           "status": job.status, "customer_id": job.customer_id}  # fmt: skip
    assert task["customer"]["id"] == job.customer_id
    assert "primary_contact" in task
    assert [e["id"] for e in task["employees"]] == task["employee_ids"]


async def test_tasks_span_past_and_coming_weeks(store):
    days = {t.starts_at.date() for t in store.tasks.values()}
    assert any(d < TODAY - timedelta(7) for d in days)
    assert any(TODAY < d <= TODAY + timedelta(42) for d in days)


async def test_job_id_is_the_global_id(client, store):
    job = next(j for j in store.jobs.values() if len(j.task_ids) >= 1)
    found = (await client.get("/tasks.json", params={"job_id": job.id})).json()["tasks"]
    assert sorted(t["id"] for t in found) == sorted(job.task_ids)
    by_number = (await client.get("/tasks.json", params={"job_id": job.number})).json()
    assert by_number["tasks"] == []


async def test_to_is_exclusive(client, store):
    day = next(iter(store.tasks.values())).starts_at.date()
    on_day = {t.id for t in store.tasks.values() if t.starts_at.date() == day}
    same = await every_page(client, "/tasks.json", "tasks", **{"from": day, "to": day})
    assert same == []
    next_day = day + timedelta(1)
    one = await every_page(client, "/tasks.json", "tasks", **{"from": day, "to": next_day})
    assert {t["id"] for t in one} == on_day
    bad = await client.get("/tasks.json", params={"from": "21/11/2026"})
    assert bad.status_code == 422


async def test_employee_number_with_or_without_mapping(client, store):
    employee = store.employee_by_number(4)
    expected = {t.id for t in store.tasks.values() if employee.id in t.employee_ids}
    plain = await every_page(client, "/tasks.json", "tasks", employee_number=4)
    mapped = await every_page(client, "/tasks.json", "tasks", employee_number=4, mapping="true")
    assert {t["id"] for t in plain} == {t["id"] for t in mapped} == expected
    assert expected


async def test_task_type_filter_and_schedule(client, store):
    kind = next(iter(store.task_types.values()))
    found = await every_page(client, "/tasks.json", "tasks", task_type_id=kind.id)
    assert found and all(t["task_type_id"] == kind.id for t in found)
    schedule = await every_page(
        client, "/schedule.json", "tasks", employee_number=3, task_type_id=kind.id
    )
    employee = store.employee_by_number(3)
    assert {t["id"] for t in schedule} == {
        t.id for t in store.tasks.values()
        if employee.id in t.employee_ids and t.task_type_id == kind.id
    }  # fmt: skip
    paged = (await client.get("/schedule.json", params={"per_page": 5, "page": 2})).json()
    assert paged["current_page"] == 2 and len(paged["tasks"]) == 5


async def test_create_update_delete(client, store):
    job = next(j for j in store.jobs.values() if j.status == "unscheduled" and not j.task_ids)
    tech = store.employee_by_number(5)
    created = await client.post(
        "/tasks.json",
        json={"task": {"job_id": job.id, "description": "Visit",
                       "starts_at": "2026-11-24T09:00:00-05:00",
                       "ends_at": "2026-11-24T11:00:00-05:00", "employee_ids": [tech.id]}},
    )  # fmt: skip
    assert created.status_code == 200
    task = created.json()
    assert task["job_id"] == job.id and task["employees"][0]["employee_number"] == 5
    listed = (await client.get("/tasks.json", params={"job_id": job.id})).json()["tasks"]
    assert [t["id"] for t in listed] == [task["id"]]
    detail = (await client.get(f"/jobs/{job.number}.json")).json()
    assert detail["status"] == "scheduled" and detail["scheduled_on"] == task["starts_at"]

    other = store.employee_by_number(7)
    put = await client.put(
        f"/tasks/{task['id']}.json",
        json={"task": {"description": "Moved", "starts_at": "2026-11-25T13:00:00-05:00",
                       "employee_ids": [tech.id, other.id]}},
    )  # fmt: skip
    updated = put.json()
    assert updated["description"] == "Moved" and updated["ends_at"] == "2026-11-25T15:00:00-05:00"
    assert (
        updated["employee_ids"] == [tech.id, other.id]
        and updated["customer"]["id"] == job.customer_id
    )
    assert (await client.get(f"/tasks/{task['id']}.json")).json()["description"] == "Moved"

    deleted = await client.delete(f"/tasks/{task['id']}.json")
    assert deleted.json()["id"] == task["id"] and deleted.json()["job"]["id"] == job.id
    assert (await client.get(f"/tasks/{task['id']}.json")).json() == {"errors": ["Invalid task."]}


async def test_create_under_a_job_number(client, store):
    job = next(iter(store.jobs.values()))
    created = await client.post(
        f"/jobs/{job.number}/tasks.json", json={"task": {"starts_at": "2026-12-01T10:00:00"}}
    )
    task = created.json()
    assert task["job_id"] == job.id and task["starts_at"] == "2026-12-01T10:00:00-05:00"
    listed = (await client.get(f"/jobs/{job.number}/tasks.json")).json()["tasks"]
    assert task["id"] in {t["id"] for t in listed}
    by_id = (await client.get(f"/jobs/{job.id}/tasks.json")).json()["tasks"]
    assert by_id == listed
    assert (await client.get("/jobs/5/tasks.json")).json() == {"errors": ["Invalid job."]}


async def test_task_validation(client, store):
    job = next(iter(store.jobs.values()))
    cases = [
        {"starts_at": "2026-12-01T10:00:00"},  # no job_id
        {"job_id": job.number, "starts_at": "2026-12-01T10:00:00"},  # a number is not an id
        {"job_id": job.id},  # no start
        {"job_id": job.id, "starts_at": "soon"},
        {"job_id": job.id, "starts_at": "2026-12-01T10:00:00", "ends_at": "2026-12-01T09:00:00"},
        {"job_id": job.id, "starts_at": "2026-12-01T10:00:00", "employee_ids": [1]},
    ]
    for payload in cases:
        response = await client.post("/tasks.json", json={"task": payload})
        assert response.status_code == 422, payload


def test_dates_are_in_the_account_zone(store):
    task = next(iter(store.tasks.values()))
    assert task.starts_at.utcoffset() == timedelta(hours=-5)
