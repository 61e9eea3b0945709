"""/tasks.json (by global task id) and /schedule.json."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from kickserv.pages import Paginator
from kickserv.records import Task
from kickserv.resources.base import Editable, Resource

R = TypeVar("R")


class Tasks(Editable[Task]):
    """Tasks by their global `id` (tasks have no number)."""

    collection = "tasks"
    wrapper = "task"
    record = Task

    def list(
        self,
        *,
        job_id: int | None = None,
        from_: date | None = None,
        to: date | None = None,
        employee_number: int | None = None,
        task_type_id: int | None = None,
        per_page: int | None = None,
        parse: Callable[[object], Task] = Task.from_json,
    ) -> Paginator[Task]:
        """Tasks by starts_at. `job_id` is the job's GLOBAL id; `to` is exclusive (Kickserv leaves
        out tasks starting on that date). `employee_number` sends Kickserv's `mapping=true` too.
        `parse` reads each task (e.g. a ``Task.reader`` that leaves out what the caller drops)."""
        filters = {
            "job_id": job_id,
            "from": from_,
            "to": to,
            "employee_number": employee_number,
            "mapping": True if employee_number is not None else None,
            "task_type_id": task_type_id,
        }
        return self._paginate("tasks.json", ("tasks",), parse, filters, per_page)

    def every(self, parse: Callable[[object], R], *, per_page: int | None = None) -> Paginator[R]:
        """Every task (no filter), each read from its JSON by `parse`: something else than a
        `Task` (e.g. what a caller keeps of it until it is asked for)."""
        return self._paginate("tasks.json", ("tasks",), parse, {}, per_page)

    async def create(self, **fields: Any) -> Task:
        """POST /tasks.json; `job_id` (global id) in `fields` names the job."""
        return await self._create(fields)

    async def create_for_job(self, job_number: int, **fields: Any) -> Task:
        """POST /jobs/{job_number}/tasks.json: the same task, its job named by the URL."""
        return await self._save(
            "POST", f"jobs/{job_number}/tasks.json", "task", Task.from_json, fields
        )

    async def delete(self, task_id: int) -> Task | None:
        """Kickserv answers the deleted task; None if it answered nothing."""
        return await self._remove(task_id)


class Schedule(Resource):
    """/schedule.json: every task of the account, paginated, by starts_at."""

    def list(
        self,
        *,
        employee_number: int | None = None,
        task_type_id: int | None = None,
        from_: date | None = None,
        to: date | None = None,
        per_page: int | None = None,
    ) -> Paginator[Task]:
        filters = {
            "employee_number": employee_number,
            "task_type_id": task_type_id,
            "from": from_,
            "to": to,
        }
        return self._paginate(
            "schedule.json", ("tasks", "schedule"), Task.from_json, filters, per_page
        )
