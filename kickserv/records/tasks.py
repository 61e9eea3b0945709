"""Tasks: appointments and other schedule entries of a job, with their glue records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kickserv.records.fields import Fields
from kickserv.records.glue import CustomerRef, EmployeeRef, JobRef


@dataclass(frozen=True, slots=True)
class Task:
    """A task. `job_id` is the job's global id; `employee_ids` are employees' global ids.

    `primary_contact` is kept as Kickserv sent it: its shape is undocumented.
    """

    id: int
    job_id: int | None
    name: str | None
    description: str | None
    task_type_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    completed: bool | None
    employee_ids: tuple[int, ...]
    job: JobRef | None
    customer: CustomerRef | None
    employees: tuple[EmployeeRef, ...]
    primary_contact: Mapping[str, Any] | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Task:
        f = Fields(data, "Task")
        job = f.optional_object("job", JobRef.from_json)
        employees = f.tuple_of("employees", EmployeeRef.from_json)
        employee_ids = f.int_tuple("employee_ids") or tuple(e.id for e in employees)
        job_id = f.optional_int("job_id")
        contact = f.raw.get("primary_contact")
        return cls(
            id=f.required_int("id"),
            job_id=job_id if job_id is not None else (job.id if job else None),
            name=f.optional_str("name", "title"),
            description=f.optional_str("description"),
            task_type_id=f.optional_int("task_type_id"),
            starts_at=f.optional_datetime("starts_at", "start_at", "starts_on"),
            ends_at=f.optional_datetime("ends_at", "end_at", "ends_on"),
            completed=f.optional_bool("completed", "complete"),
            employee_ids=employee_ids,
            job=job,
            customer=f.optional_object("customer", CustomerRef.from_json),
            employees=employees,
            primary_contact=dict(contact) if isinstance(contact, Mapping) else None,
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )
