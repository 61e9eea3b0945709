"""Jobs: the multi-step create, field and status changes, notes.

Creating a job is four kinds of call, because Kickserv takes ``customer_number`` beside the job and
no charges at creation: POST the job (its description carries a marker), POST each line item, POST
each task with its assignees, then PUT the description without the marker, which answers the
finished job. Each is a journaled step: a retry after the second line item failed continues with
the second line item, and a job whose POST had an unknown outcome is found by its marker in the
customer's job listing instead of being created twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kickserv import Job, Note
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.line_items import LineItemSpec, charge_step, check_line_item, done_charge_ids
from resolvers.writes.notes import checked_note_text, note_step
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, Step, raw_of, record_step
from resolvers.writes.tasks import TaskSpec, check_task, done_task_ids, task_step
from resolvers.writes.validation import Checks, GivenFields, upstream_path

JOB_STATUSES = ("unscheduled", "scheduled", "in_progress", "on_hold", "complete", "canceled")
MARKED_PAGES = 2  # new jobs come first in a customer's listing; more than 200 in a minute is absurd


@dataclass(frozen=True, slots=True)
class NewJob:
    customer_number: int
    job_type_id: int
    name: str | None = None
    description: str | None = None
    po_number: str | None = None
    line_items: Sequence[LineItemSpec] = ()
    tasks: Sequence[TaskSpec] = ()


@dataclass(frozen=True, slots=True)
class JobChanges(GivenFields):
    name: str | None = None
    description: str | None = None
    status: str | None = None
    job_type_id: int | None = None
    po_number: str | None = None
    # Lifecycle times (columns of the v1 job fixture); Kickserv stamps them itself when the status
    # moves, and whether it keeps the ones sent is not documented: the answer says what it kept.
    started_on: datetime | None = None
    completed_on: datetime | None = None


def with_marker(text: str | None, marker: str) -> str:
    return f"{text} [{marker}]" if text else f"[{marker}]"


async def find_marked_job(scope: WriteScope, customer_number: int, marker: str) -> Job | None:
    """The customer's job whose description carries ``marker``, if Kickserv created it."""
    listing = scope.ks.customers.jobs(customer_number, per_page=100)
    for number in range(1, MARKED_PAGES + 1):
        page = await listing.page(number)
        for job in page.items:
            if marker in (job.description or ""):
                return job
        if number >= page.total_pages:
            break
    return None


def marked_job_step(
    scope: WriteScope, customer_number: int, fields: dict[str, Any], base: tuple[str, ...]
) -> Step[Job]:
    marker = scope.marker("job")
    sent = {**fields, "description": with_marker(fields.get("description"), marker)}
    return record_step(
        "job",
        lambda: scope.ks.jobs.create(customer_number, **sent),
        Job.from_json,
        find=lambda _: find_marked_job(scope, customer_number, marker),
        field_path=upstream_path(base),
    )


def check_new_job(spec: NewJob) -> NewJob:
    checks = Checks()
    checks.positive_id(("input", "customerNumber"), spec.customer_number)
    checks.positive_id(("input", "jobTypeId"), spec.job_type_id)
    name = checks.text(("input", "name"), spec.name)
    description = checks.text(("input", "description"), spec.description)
    po_number = checks.text(("input", "poNumber"), spec.po_number)
    items = [
        check_line_item(checks, ("input", "lineItems", i), item, creating=True)
        for i, item in enumerate(spec.line_items)
    ]
    tasks = [check_task(checks, ("input", "tasks", i), t) for i, t in enumerate(spec.tasks)]
    checks.done()
    return NewJob(
        spec.customer_number, spec.job_type_id, name, description, po_number, items, tasks
    )


def job_fields(spec: NewJob) -> dict[str, Any]:
    """The job's own fields as Kickserv takes them at creation (without its items and tasks)."""
    fields = {
        "job_type_id": spec.job_type_id,
        "name": spec.name,
        "description": spec.description,
        "po_number": spec.po_number,
    }
    return {k: v for k, v in fields.items() if v is not None}


async def create_job(scope: WriteScope, spec: NewJob) -> Job:
    job_spec = check_new_job(spec)
    fields = job_fields(job_spec)

    async def body(saga: Saga) -> Job:
        job = await saga.run(marked_job_step(scope, job_spec.customer_number, fields, ("input",)))
        number = job.job_number
        for i, item in enumerate(job_spec.line_items):
            step = charge_step(
                scope, number, i, item, ("input", "lineItems"),
                lambda: done_charge_ids(saga),
            )  # fmt: skip
            await saga.run(step)
        for i, task in enumerate(job_spec.tasks):
            await saga.run(
                task_step(
                    scope,
                    number,
                    f"task:{i}",
                    task,
                    ("input", "tasks", i),
                    lambda: done_task_ids(saga),
                )
            )
        finished = await saga.run(
            record_step(
                "finish",
                lambda: scope.ks.jobs.update(number, description=job_spec.description or ""),
                Job.from_json,
            )
        )
        await invalidation.job_saved(scope, finished, *((Change.TASK,) if job_spec.tasks else ()))
        return finished

    payload = {
        "customer": job_spec.customer_number,
        "job": fields,
        "items": [i.fields() for i in job_spec.line_items],
        "tasks": [t.fields() for t in job_spec.tasks],
    }
    return await scope.run("createJob", payload, body, raw_of, Job.from_json)


async def update_job(scope: WriteScope, job_number: int, changes: JobChanges) -> Job:
    checks = Checks()
    name = checks.text(("input", "name"), changes.name)
    if changes.status is not None and changes.status not in JOB_STATUSES:
        checks.fail(("input", "status"), f"must be one of {', '.join(JOB_STATUSES)}")
    checks.positive_id(("input", "jobTypeId"), changes.job_type_id)
    started, completed = changes.started_on, changes.completed_on
    if started is not None and completed is not None and completed < started:
        checks.fail(("input", "completedAt"), "must not be before startedAt")
    cleaned = JobChanges(
        name,
        None if changes.description is None else changes.description.strip(),
        changes.status,
        changes.job_type_id,
        None if changes.po_number is None else changes.po_number.strip(),
        started,
        completed,
    )
    fields = cleaned.fields()
    if not fields:
        checks.fail(("input",), "must change at least one field")
    checks.done()

    async def body(saga: Saga) -> Job:
        job = await saga.run(
            record_step(
                "job",
                lambda: scope.ks.jobs.update(job_number, **fields),
                Job.from_json,
                field_path=upstream_path(("input",)),
            )
        )
        glue = (Change.JOB_GLUE,) if {"name", "status"} & fields.keys() else ()
        await invalidation.job_saved(scope, job, *glue)
        return job

    payload = {"job": job_number, "fields": fields}
    return await scope.run("updateJob", payload, body, raw_of, Job.from_json)


async def add_job_note(scope: WriteScope, job_number: int, body_text: str, public: bool) -> Note:
    text = checked_note_text(body_text)

    async def body(saga: Saga) -> Note:
        step = note_step(
            lambda: scope.ks.jobs.notes(job_number).all(),
            lambda: scope.ks.jobs.create_note(job_number, body=text, public=public), text,
        )  # fmt: skip
        note = await saga.run(step)
        await invalidation.job_saved(scope, await scope.ks.jobs.get(job_number))
        return note

    payload = {"job": job_number, "body": text, "public": public}
    return await scope.run("addJobNote", payload, body, raw_of, Note.from_json)
