"""Scheduled visits (Kickserv's tasks): when, where, for which job, and who goes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph.schema import customers, jobs, people
from graph.schema.common import UPSTREAM, GraphInfo, graph_id, then
from graph.schema.connections import Connection, connection, follows_cursors, window_args
from graph.schema.errors import BadUserInput
from graph.schema.selection import asked
from kickserv import Task as TaskRecord
from resolvers import relations

if TYPE_CHECKING:
    from graph.schema.customers import Customer, Location
    from graph.schema.jobs import Job
    from graph.schema.people import Employee

CustomerT = Annotated["Customer", strawberry.lazy("graph.schema.customers")]
LocationT = Annotated["Location", strawberry.lazy("graph.schema.customers")]
JobT = Annotated["Job", strawberry.lazy("graph.schema.jobs")]
EmployeeT = Annotated["Employee", strawberry.lazy("graph.schema.people")]


@strawberry.federation.type(keys=["id"], description="A scheduled visit (Kickserv's task).")
class Task:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str | None = strawberry.field(description="Short title.")
    description: str | None = strawberry.field(description="What is to be done on this visit.")
    starts_at: datetime | None = strawberry.field(description="When the visit starts.")
    ends_at: datetime | None = strawberry.field(description="When the visit ends.")
    task_type_id: strawberry.ID | None = strawberry.field(description="Kickserv task type id.")
    completed: bool | None = strawberry.field(description="Whether the visit is done.")
    _record: strawberry.Private[TaskRecord]

    @classmethod
    def from_record(cls, r: TaskRecord) -> Task:
        return cls(
            id=graph_id(r.id),
            name=r.name,
            description=r.description,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            task_type_id=None if r.task_type_id is None else graph_id(r.task_type_id),
            completed=r.completed,
            _record=r,
        )

    @classmethod
    def all_of(cls, records: Sequence[TaskRecord]) -> list[Task]:
        return [cls.from_record(r) for r in records]

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Task:
        record = await relations.one(info.context.data.task_by_id, id, "Task")
        return cls.from_record(record)

    @strawberry.field(description="The job this visit belongs to.", metadata=UPSTREAM)
    def job(self, info: GraphInfo) -> JobT | None:
        r = self._record
        return then(relations.job(info.context.data, r.job, r.job_id, asked(info)), jobs.Job.of)

    @property
    def _customer_id(self) -> int | None:
        return self._record.job.customer_id if self._record.job else None

    @strawberry.field(description="The customer visited.", metadata=UPSTREAM)
    def customer(self, info: GraphInfo) -> CustomerT | None:
        ref, data = self._record.customer, info.context.data
        found = relations.customer(data, ref, self._customer_id, asked(info))
        return then(found, customers.Customer.of)

    @strawberry.field(description="Where the visit happens.", metadata=UPSTREAM)
    def location(self, info: GraphInfo) -> LocationT | None:
        ref, data = self._record.customer, info.context.data
        found = relations.location_site(data, ref, self._customer_id, asked(info))
        return then(found, customers.Location.of_site)

    @strawberry.field(description="Technicians assigned to this visit.", metadata=UPSTREAM)
    def assignees(self, info: GraphInfo) -> list[EmployeeT] | None:
        found = relations.assignees(info.context.data, self._record, asked(info))
        return then(found, people.employees_of)


async def visits(
    info: GraphInfo,
    start: date,
    end: date,
    employee_number: int | None,
    first: int,
    after: str | None,
    task_type_id: strawberry.ID | None,
) -> Connection[Task]:
    """``Query.schedule``: the visits of ``[start, end)``, a window of the dated listing; the rest
    of a short listing read ahead when the query asks for a cursor (``resolvers.read_ahead``)."""
    if end <= start:
        raise BadUserInput(
            "`to` must be after `from` (it is exclusive).", extensions={"argument": "to"}
        )
    offset, first = window_args(first, after)
    from graph.schema.lookups import int_id  # it imports jobs, which imports this module

    task_type = None if task_type_id is None else int_id(task_type_id, "taskTypeId")
    window = await info.context.data.schedule(
        start,
        end,
        employee_number,
        offset,
        first,
        task_type_id=task_type,
        ahead=follows_cursors(info),
    )
    return connection(window, Task.from_record)
