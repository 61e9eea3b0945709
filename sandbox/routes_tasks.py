"""/tasks.json, /tasks/{id}.json, /jobs/{n}/tasks.json and /schedule.json.

Tasks go by global id; `job_id` filters by the job's *global* id; `to` is exclusive. Every task
carries job, customer, primary-contact and employee glue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import indexes, ledger, shapes
from sandbox.context import Api, ok
from sandbox.data import Job, Task
from sandbox.envelopes import encoded_page
from sandbox.errors import invalid_field
from sandbox.forms import Form, parse_day


def _task_filter(
    api: Api, keys: tuple[str, ...]
) -> tuple[Callable[[Task], bool] | None, Sequence[Task]]:
    """One predicate from the query: from/to dates (to exclusive), employee_number, task_type_id,
    job_id (global); a limited employee only sees tasks of jobs assigned to them. With it, the
    tasks by start that may pass it (sandbox.indexes.tasks: the job's own, or the dates' slice);
    no predicate when they all do."""
    params = api.request.query_params
    start = end = None
    if "from" in keys and (raw := api.param("from")) is not None:
        start = parse_day(raw)
        if start is None:
            raise invalid_field("from", "is not a valid date")
    if "to" in keys and (raw := api.param("to")) is not None:
        end = parse_day(raw)
        if end is None:
            raise invalid_field("to", "is not a valid date")
    wanted_ids: dict[str, int | None] = {}
    for key in ("employee_number", "task_type_id", "job_id"):
        if key in keys and (raw := params.get(key)) not in (None, ""):
            try:
                wanted_ids[key] = int(raw)
            except ValueError:
                raise invalid_field(key, "is not a number") from None
    employee_id = None
    if "employee_number" in wanted_ids:
        assert wanted_ids["employee_number"] is not None
        employee = api.store.employee_by_number(wanted_ids["employee_number"])
        employee_id = employee.id if employee else -1
    task_type_id, job_id = wanted_ids.get("task_type_id"), wanted_ids.get("job_id")
    visible = api.visible_job_ids()

    def keep(task: Task) -> bool:
        day = task.starts_at.date()
        return (
            (start is None or day >= start)
            and (end is None or day < end)
            and (employee_id is None or employee_id in task.employee_ids)
            and (task_type_id is None or task.task_type_id == task_type_id)
            and (job_id is None or task.job_id == job_id)
            and (visible is None or task.job_id in visible)
        )

    candidates = indexes.tasks(api.store, job_id, start, end)
    if (employee_id, task_type_id, visible) == (None, None, None) and start is end is None:
        return None, candidates  # the index answers exactly
    return keep, candidates


def _task_list(api: Api, keys: tuple[str, ...]) -> Response:
    keep, candidates = _task_filter(api, keys)
    tasks = candidates if keep is None else [t for t in candidates if keep(t)]
    return encoded_page("tasks", tasks, api.page(), lambda t: shapes.task.encoded(api.store, t))


async def tasks(request: Request) -> Response:
    api = Api(request)
    if request.method == "POST":
        data = await api.sent_record("task")
        form = Form(data)
        job_id = form.integer("job_id", required=True)
        job = api.store.jobs.get(job_id) if job_id is not None else None
        if job_id is not None and (job is None or not api.can_see(job)):
            form.fail("job_id", "is invalid")
        form.check()
        assert job is not None
        return ok(shapes.task(api.store, _save_task(api, job, data, None)))
    # task_type_id is documented for /schedule.json, not here: strict ignores it.
    by_type = ("task_type_id",) if api.choices.tasks_task_type_filter else ()
    return _task_list(api, ("from", "to", "employee_number", "job_id", *by_type))


async def schedule(request: Request) -> Response:
    """from/to are documented for /tasks.json, not here: strict ignores them."""
    api = Api(request)
    dates = ("from", "to") if api.choices.schedule_date_filter else ()
    return _task_list(api, ("employee_number", "task_type_id", *dates))


async def job_tasks(request: Request) -> Response:
    """The reference writes /jobs/{id}/tasks.json while every other /jobs/{n}/… URL takes a job
    number, so this one accepts either (numbers and global ids never overlap in the sandbox)."""
    api = Api(request)
    key = api.path_int("number")
    known = api.store.jobs_by_number.get(key) or api.store.jobs.get(key)
    job = api.job(known.number if known else key)
    if request.method == "POST":
        return ok(shapes.task(api.store, _save_task(api, job, await api.sent_record("task"), None)))
    found = sorted((api.store.tasks[t] for t in job.task_ids), key=lambda t: (t.starts_at, t.id))
    return encoded_page("tasks", found, api.page(), lambda t: shapes.task.encoded(api.store, t))


async def task_detail(request: Request) -> Response:
    """PUT answers the task with glue; DELETE answers the deleted task with glue."""
    api = Api(request)
    task = api.task(api.path_int("task_id"))
    job = api.store.jobs[task.job_id]
    if request.method == "DELETE":
        shaped = shapes.task(api.store, task)
        api.store.remove_task(task)
        ledger.refresh_schedule(api.store, job, api.now())
        return ok(shaped)
    if request.method in ("PUT", "PATCH"):
        _save_task(api, job, await api.sent_record("task"), task)
    return ok(shapes.task(api.store, task))


def _save_task(api: Api, job: Job, data: Any, task: Task | None) -> Task:
    store, tz = api.store, api.store.tz
    form = Form(data)
    starts = form.moment("starts_at", tz)
    ends = form.moment("ends_at", tz)
    if task is None and starts is None and "starts_at" not in form.errors:
        form.fail("starts_at", "can't be blank")
    task_type_id = form.integer("task_type_id")
    if task_type_id is not None and task_type_id not in store.task_types:
        form.fail("task_type_id", "is invalid")
    employee_ids = form.data.get("employee_ids")
    if employee_ids is not None and (
        not isinstance(employee_ids, list)
        or not all(isinstance(i, int) and i in store.employees for i in employee_ids)
    ):
        form.fail("employee_ids", "is invalid")
    description = form.text("description")
    completed = form.boolean("completed")
    new_starts = starts or (task.starts_at if task else None)
    new_ends = ends
    if task is not None and ends is None:  # moving a task keeps its length
        new_ends = task.ends_at if starts is None else starts + (task.ends_at - task.starts_at)
    if new_starts and new_ends and new_ends < new_starts:
        form.fail("ends_at", "must be after starts at")
    form.check()
    assert new_starts is not None
    now = api.now()
    if task is None:
        task = Task(
            id=store.new_id(), job_id=job.id,
            task_type_id=task_type_id or next(iter(store.task_types)),
            description=description or "", starts_at=new_starts,
            ends_at=new_ends or new_starts + timedelta(hours=1), employee_ids=[],
            created_at=now, updated_at=now,
        )  # fmt: skip
        store.add_task(task)
    else:
        task.starts_at = new_starts
        task.ends_at = new_ends or new_starts + timedelta(hours=1)
        if task_type_id is not None:
            task.task_type_id = task_type_id
        if form.has("description"):
            task.description = description or ""
        store.tasks_changed()
    if employee_ids is not None:
        task.employee_ids = list(dict.fromkeys(employee_ids))
    if completed is not None:
        task.completed = completed
    task.updated_at = now
    ledger.refresh_schedule(store, job, now)
    return task


ROUTES = [
    Route("/tasks.json", tasks, methods=["GET", "POST"]),
    Route("/tasks/{task_id:int}.json", task_detail, methods=["GET", "PUT", "PATCH", "DELETE"]),
    Route("/jobs/{number:int}/tasks.json", job_tasks, methods=["GET", "POST"]),
    Route("/schedule.json", schedule, methods=["GET"]),
]
