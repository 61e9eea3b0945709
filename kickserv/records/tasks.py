"""Tasks: appointments and other schedule entries of a job, with their glue records."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kickserv.records.fields import Fields
from kickserv.records.glue import CustomerRef, EmployeeRef, JobRef
from kickserv.records.record import Entity, reads, record


def _primary_contact(f: Fields) -> Mapping[str, Any] | None:
    contact = f.value("primary_contact")
    return dict(contact) if isinstance(contact, Mapping) else None


@record
class Task(Entity):
    """A task. `job_id` is the job's global id; `employee_ids` are employees' global ids.

    `primary_contact` is kept as Kickserv sent it: its shape is undocumented.
    """

    job_id: int | None = reads(Fields.id_or_glue, "job_id", "job", JobRef.id_of)
    name: str | None = reads(Fields.optional_str, "name", "title")
    description: str | None = reads(Fields.optional_str, "description")
    task_type_id: int | None = reads(Fields.optional_int, "task_type_id")
    starts_at: datetime | None = reads(
        Fields.optional_datetime, "starts_at", "start_at", "starts_on"
    )
    ends_at: datetime | None = reads(Fields.optional_datetime, "ends_at", "end_at", "ends_on")
    completed: bool | None = reads(Fields.optional_bool, "completed", "complete")
    employee_ids: tuple[int, ...] = reads(
        Fields.ids_or_glue, "employee_ids", "employees", EmployeeRef.id_of
    )
    job: JobRef | None = reads(Fields.optional_object, "job", JobRef.from_json)
    customer: CustomerRef | None = reads(Fields.optional_object, "customer", CustomerRef.from_json)
    employees: tuple[EmployeeRef, ...] = reads(Fields.tuple_of, "employees", EmployeeRef.from_json)
    primary_contact: Mapping[str, Any] | None = reads(_primary_contact)
