"""Tasks (scheduled visits): schedule, reschedule, reassign, delete.

A new task is found again after an unknown outcome by before-image: the job's tasks that were not
there before and start when the new one does. Moving and reassigning are absolute PUTs (safe to
send twice); a delete is confirmed by the task being gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kickserv import Job, NotFound, Task
from resolvers.writes import invalidation
from resolvers.writes.errors import Path
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, Step, created_step, raw_of, record_step
from resolvers.writes.validation import Checks, upstream_path


@dataclass(frozen=True, slots=True)
class TaskSpec:
    starts_at: datetime
    ends_at: datetime | None = None
    description: str | None = None
    task_type_id: int | None = None
    employee_ids: tuple[int, ...] | None = None

    def fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"starts_at": self.starts_at.isoformat()}
        if self.ends_at is not None:
            fields["ends_at"] = self.ends_at.isoformat()
        if self.description is not None:
            fields["description"] = self.description
        if self.task_type_id is not None:
            fields["task_type_id"] = self.task_type_id
        if self.employee_ids is not None:
            fields["employee_ids"] = list(self.employee_ids)
        return fields

    def matches(self, task: Task) -> bool:
        return task.starts_at == self.starts_at and (
            self.description is None or task.description == self.description
        )


def check_task(checks: Checks, path: Path, spec: TaskSpec) -> TaskSpec:
    checks.moment((*path, "startsAt"), spec.starts_at)
    checks.moment((*path, "endsAt"), spec.ends_at)
    if (
        spec.ends_at is not None
        and spec.ends_at.utcoffset() is not None
        and spec.starts_at.utcoffset() is not None
        and spec.ends_at < spec.starts_at
    ):
        checks.fail((*path, "endsAt"), "must not be before startsAt")
    checks.positive_id((*path, "taskTypeId"), spec.task_type_id)
    for i, employee_id in enumerate(spec.employee_ids or ()):
        checks.positive_id((*path, "assigneeIds", i), employee_id)
    description = checks.text((*path, "description"), spec.description)
    # Kickserv keeps whole seconds: compare what it will keep.
    starts = spec.starts_at.replace(microsecond=0)
    ends = None if spec.ends_at is None else spec.ends_at.replace(microsecond=0)
    employees = None if spec.employee_ids is None else tuple(dict.fromkeys(spec.employee_ids))
    return TaskSpec(starts, ends, description, spec.task_type_id, employees)


def task_step(
    scope: WriteScope,
    job_number: int,
    name: str,
    spec: TaskSpec,
    base: Path,
    before: Callable[[], list[int]],
) -> Step[Task]:
    return created_step(
        name,
        lambda: scope.ks.tasks.create_for_job(job_number, **spec.fields()),
        Task.from_json,
        lambda: scope.ks.jobs.tasks(job_number).all(),
        spec.matches,
        known=before,
        field_path=_field_path(base),
    )


def _field_path(base: Path) -> Callable[[str], Path]:
    return upstream_path(base, {"employee_ids": "assignee_ids"})


def done_task_ids(saga: Saga) -> list[int]:
    return [v["id"] for k, v in saga.done.items() if k.startswith("task:")]


async def schedule_task(scope: WriteScope, job_number: int, spec: TaskSpec) -> Task:
    checks = Checks()
    cleaned = check_task(checks, ("input",), spec)
    checks.done()

    async def body(saga: Saga) -> Task:
        async def existing() -> list[int]:
            return [t.id for t in await scope.ks.jobs.tasks(job_number).all()]

        present: list[int] = await saga.remember("before", existing)
        task = await saga.run(
            task_step(scope, job_number, "task:0", cleaned, ("input",), lambda: list(present))
        )
        await invalidation.tasks_changed(scope, await scope.ks.jobs.get(job_number), task)
        return task

    payload = {"job": job_number, "task": cleaned.fields()}
    return await scope.run("scheduleTask", payload, body, raw_of, Task.from_json)


async def _change_task(
    scope: WriteScope, operation: str, task_id: int, fields: dict[str, Any], base: Path
) -> Task:
    async def changed(task: Task) -> None:
        await invalidation.tasks_changed(scope, await _job_of(scope, task), task)

    step = record_step(
        "task",
        lambda: scope.ks.tasks.update(task_id, **fields),
        Task.from_json,
        field_path=_field_path(base),
    )
    return await scope.run_step(operation, {"task": task_id, **fields}, step, changed)


async def _job_of(scope: WriteScope, task: Task) -> Job:
    if task.job is not None and task.job.job_number is not None:
        return await scope.ks.jobs.get(task.job.job_number)
    raise NotFound(  # the sandbox and Kickserv always embed the job; say so if one day they do not
        "The task's answer named no job number.", method="GET", path="tasks", status=404
    )


async def reschedule_task(
    scope: WriteScope, task_id: int, starts_at: datetime, ends_at: datetime | None
) -> Task:
    checks = Checks()
    cleaned = check_task(checks, (), TaskSpec(starts_at, ends_at))
    checks.done()
    fields = {k: v for k, v in cleaned.fields().items() if k in ("starts_at", "ends_at")}
    return await _change_task(scope, "rescheduleTask", task_id, fields, ())


async def reassign_task(scope: WriteScope, task_id: int, employee_ids: tuple[int, ...]) -> Task:
    checks = Checks()
    for i, employee_id in enumerate(employee_ids):
        checks.positive_id(("assigneeIds", i), employee_id)
    checks.done()
    fields = {"employee_ids": list(dict.fromkeys(employee_ids))}
    return await _change_task(scope, "reassignTask", task_id, fields, ())


async def delete_task(scope: WriteScope, task_id: int) -> Task:
    """Answers the task as it was."""

    async def deleted(before: Task) -> None:
        await invalidation.tasks_changed(scope, await _job_of(scope, before), gone=task_id)

    payload = {"task": task_id}
    return await scope.run_delete(
        "deleteTask", payload, Task.from_json, scope.ks.tasks, task_id, deleted
    )
