"""People: employees (office staff and technicians), and the notes people write."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from graph.schema import schedule
from graph.schema.common import FromDay, GraphInfo, ToDay, graph_id
from kickserv import Employee as EmployeeRecord
from kickserv import EmployeeRef
from kickserv import Note as NoteRecord
from resolvers import relations

if TYPE_CHECKING:
    from graph.schema.schedule import Task

TaskT = Annotated["Task", strawberry.lazy("graph.schema.schedule")]


@strawberry.federation.type(
    keys=["id", "number"], description="A Kickserv user: office staff or technician."
)
class Employee:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    number: int | None = strawberry.field(description="Employee number (what Kickserv URLs use).")
    name: str | None = strawberry.field(description="Full name.")
    email: str | None = strawberry.field(description="Email address.")
    admin: bool | None = strawberry.field(description="Whether the employee is an administrator.")
    active: bool | None = strawberry.field(description="False for former employees.")
    limit_access_to_assignments: bool | None = strawberry.field(
        description="When true, this employee sees only the jobs and tasks assigned to them."
    )

    @classmethod
    def from_record(cls, r: EmployeeRecord) -> Employee:
        return cls(
            id=graph_id(r.id),
            number=r.employee_number,
            name=r.name,
            email=r.email_address,
            admin=r.admin,
            active=r.active,
            limit_access_to_assignments=r.limit_access_to_assignments,
        )

    @classmethod
    def from_ref(cls, r: EmployeeRef) -> Employee:
        return cls(
            id=graph_id(r.id),
            number=r.employee_number,
            name=r.name,
            email=None,
            admin=None,
            active=None,
            limit_access_to_assignments=None,
        )

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Employee:
        data = info.context.data
        record = await relations.by_number_or_id(
            data.employee_by_number,
            data.employee_by_id,
            number,
            id,
            "Employee",
        )
        return cls.from_record(record)

    @strawberry.field(
        description="Visits assigned to this employee from `from` (inclusive) to `to` (exclusive)."
    )
    async def tasks(
        self,
        info: GraphInfo,
        from_: FromDay,
        to: ToDay,
    ) -> list[TaskT] | None:
        data = info.context.data
        number = await relations.employee_number(data, self.number, int(self.id))
        return [schedule.Task.from_record(t) for t in await data.employee_tasks(number, from_, to)]


def employees_of(found: list[EmployeeRecord | EmployeeRef]) -> list[Employee]:
    return [
        Employee.from_ref(e) if isinstance(e, EmployeeRef) else Employee.from_record(e)
        for e in found
    ]


@strawberry.type(description="A note on a customer or a job.")
class Note:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    body: str = strawberry.field(description="The text of the note.")
    public: bool = strawberry.field(
        description="Whether the customer may see it (never for customer notes)."
    )
    about: str | None = strawberry.field(description="What the note is on: Customer or Job.")
    created_at: datetime | None = strawberry.field(description="When the note was written.")

    @classmethod
    def from_record(cls, r: NoteRecord) -> Note:
        return cls(
            id=graph_id(r.id),
            body=r.body,
            public=r.public,
            about=r.noteable_type,
            created_at=r.created_at,
        )
