"""The ``Subscription`` root: the tenant's changes as they are found (``resolvers.events``).

Every payload says which change it is (``id``: the event's stable id, also its webhooks'
``webhook-id``), where it stands in the tenant's log (``cursor``: pass it back as ``after`` to
resume after it), what kind (``type``), when (``occurredAt``), the numbers of the records it
concerns, what changed (``changes``), and a link to the record as it is now (``job``, ``customer``,
...), read through the usual loaders, afresh for each event. A subscriber sees only its own
tenant's events; the filters (``status``, ``employeeNumber``, ``customerNumber``, ``types``) are
applied here, before anything is resolved.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
import strawberry

from graph.schema.billing import Payment
from graph.schema.common import GraphInfo
from graph.schema.customers import Customer
from graph.schema.errors import BadUserInput, GraphError
from graph.schema.jobs import Job, Opportunity
from graph.schema.schedule import Task
from graph.schema.statuses import JobStatus
from resolvers.events import ChangeEvent, EventType
from resolvers.webhooks.push import Push

T = TypeVar("T")

PAGE = 100
IDLE_WAIT = 30.0  # seconds a subscription waits on the log before looking again on its own
MAX_ID_SCAN = 100_000  # events read to find an ``after`` given as an event id


# The events' own types are the GraphQL enum (names like JOB_STATUS_CHANGED, values as logged).
ChangeType = strawberry.enum(
    EventType,
    name="ChangeType",
    description="What kind of change an event is (its webhooks' `type`).",
)


@strawberry.type(description="One value that changed: what it was and what it is now.")
class FieldChange:
    field: str = strawberry.field(description="The record's field, as Kickserv names it.")
    from_: str | None = strawberry.field(
        name="from", description="Its value before (JSON text unless a string); null if new."
    )
    to: str | None = strawberry.field(description="Its value after (JSON text unless a string).")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _changes(data: Mapping[str, Any]) -> list[FieldChange]:
    out = []
    for name, value in sorted(data.items()):
        if isinstance(value, Mapping) and ("from" in value or "to" in value):
            out.append(
                FieldChange(field=name, from_=_text(value.get("from")), to=_text(value.get("to")))
            )
        else:
            out.append(FieldChange(field=name, from_=None, to=_text(value)))
    return out


def _number(event: ChangeEvent, *names: str) -> int | None:
    for name in names:
        for where in (event.subject, event.data):
            value = where.get(name)
            if isinstance(value, Mapping):
                value = value.get("to")
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def _current(event: ChangeEvent, name: str) -> Any:
    value = event.data.get(name)
    return value.get("to") if isinstance(value, Mapping) else value


def _previous(event: ChangeEvent, name: str) -> Any:
    value = event.data.get(name)
    return value.get("from") if isinstance(value, Mapping) else None


def _employee_numbers(event: ChangeEvent) -> set[int]:
    found: set[int] = set()
    for where in (event.subject, event.data):
        for name in ("employeeNumber", "employeeNumbers"):
            value = where.get(name)
            if isinstance(value, Mapping):
                value = [value.get("from"), value.get("to")]
            values = value if isinstance(value, list) else [value]
            found.update(v for v in values if isinstance(v, int) and not isinstance(v, bool))
    return found


@strawberry.interface(description="A change in Kickserv, as the server found it.")
class Change:
    id: strawberry.ID = strawberry.field(
        description="The event's id: stable for this change (the `webhook-id` of its webhooks)."
    )
    cursor: str = strawberry.field(
        description="Its place in the tenant's log: subscribe with `after` set to it to resume."
    )
    type: EventType = strawberry.field(description="What kind of change.")
    occurred_at: datetime | None = strawberry.field(
        description="When Kickserv says it happened (null when Kickserv gave no time)."
    )
    changes: list[FieldChange] = strawberry.field(description="What changed.")


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _base(event: ChangeEvent) -> dict[str, Any]:
    return {
        "id": strawberry.ID(event.id),
        "cursor": str(event.seq),
        "type": event.type,
        "occurred_at": _moment(event.occurred_at),
        "changes": _changes(event.data),
    }


@strawberry.type(description="A customer created or updated.")
class CustomerChange(Change):
    customer_number: int | None = strawberry.field(description="The customer's number.")

    @strawberry.field(description="The customer as it is now.")
    async def customer(self, info: GraphInfo) -> Customer | None:
        return await _load(info, "customer_by_number", self.customer_number, Customer.from_record)


@strawberry.type(description="A job created, its status changed, or rescheduled.")
class JobChange(Change):
    job_number: int | None = strawberry.field(description="The job's number.")
    customer_number: int | None = strawberry.field(description="Its customer's number.")
    status: str | None = strawberry.field(description="Its status after the change, if known.")
    previous_status: str | None = strawberry.field(description="Its status before, if it changed.")

    @strawberry.field(description="The job as it is now.")
    async def job(self, info: GraphInfo) -> Job | None:
        return await _load(info, "job_by_number", self.job_number, Job.from_record)


@strawberry.type(description="A visit scheduled, moved or reassigned.")
class TaskChange(Change):
    task_id: strawberry.ID | None = strawberry.field(description="The visit's global id.")
    job_number: int | None = strawberry.field(description="Its job's number.")
    employee_numbers: list[int] = strawberry.field(
        description="Employees it concerns (assigned before or after)."
    )

    @strawberry.field(description="The visit as it is now.")
    async def task(self, info: GraphInfo) -> Task | None:
        key = None if self.task_id is None else int(self.task_id)
        return await _load(info, "task_by_id", key, Task.from_record)


@strawberry.type(description="An invoice created or paid in full.")
class InvoiceChange(Change):
    invoice_number: int | None = strawberry.field(
        description="Its number (Kickserv's invoices are jobs: the job's number)."
    )
    customer_number: int | None = strawberry.field(description="Its customer's number.")
    balance_remaining: str | None = strawberry.field(
        description="What is still owed after the change (a decimal, as text), if known."
    )

    @strawberry.field(description="The invoiced job as it is now (its `invoice` is the invoice).")
    async def job(self, info: GraphInfo) -> Job | None:
        return await _load(info, "job_by_number", self.invoice_number, Job.from_record)


@strawberry.type(description="A payment recorded.")
class PaymentRecorded(Change):
    payment_id: strawberry.ID | None = strawberry.field(description="The payment's global id.")
    customer_number: int | None = strawberry.field(description="The paying customer's number.")
    job_number: int | None = strawberry.field(description="The invoice's (job's) number.")

    @strawberry.field(description="The payment as it is now.")
    async def payment(self, info: GraphInfo) -> Payment | None:
        key = None if self.payment_id is None else int(self.payment_id)
        return await _load(info, "payment_by_id", key, Payment.from_record)


@strawberry.type(description="An opportunity (estimate) won or lost.")
class OpportunityChange(Change):
    opportunity_number: int | None = strawberry.field(description="The opportunity's number.")
    customer_number: int | None = strawberry.field(description="Its customer's number.")

    @strawberry.field(description="The opportunity as it is now.")
    async def opportunity(self, info: GraphInfo) -> Opportunity | None:
        number = self.opportunity_number
        return await _load(info, "job_by_number", number, Opportunity.from_record)


async def _load(
    info: GraphInfo, loader: str, key: int | None, build: Callable[[Any], T]
) -> T | None:
    if key is None:
        return None
    record = await getattr(info.context.data, loader).get(key)
    return None if record is None else build(record)


def _id(event: ChangeEvent, *names: str) -> strawberry.ID | None:
    number = _number(event, *names)
    return None if number is None else strawberry.ID(str(number))


def payload(event: ChangeEvent) -> Change:
    """The GraphQL payload of an event, typed by what it concerns."""
    base = _base(event)
    kind = event.type.value.partition(".")[0]
    if kind == "customer":
        return CustomerChange(**base, customer_number=_number(event, "customerNumber"))
    if kind == "job":
        status, before = _current(event, "status"), _previous(event, "status")
        return JobChange(
            **base,
            job_number=_number(event, "jobNumber"),
            customer_number=_number(event, "customerNumber"),
            status=None if status is None else str(status),
            previous_status=None if before is None else str(before),
        )
    if kind == "task":
        return TaskChange(
            **base,
            task_id=_id(event, "taskId"),
            job_number=_number(event, "jobNumber"),
            employee_numbers=sorted(_employee_numbers(event)),
        )
    if kind == "invoice":
        balance = _current(event, "balanceRemaining")
        return InvoiceChange(
            **base,
            invoice_number=_number(event, "invoiceNumber", "jobNumber"),
            customer_number=_number(event, "customerNumber"),
            balance_remaining=None if balance is None else str(balance),
        )
    if kind == "payment":
        return PaymentRecorded(
            **base,
            payment_id=_id(event, "paymentId"),
            customer_number=_number(event, "customerNumber"),
            job_number=_number(event, "jobNumber", "invoiceNumber"),
        )
    return OpportunityChange(
        **base,
        opportunity_number=_number(event, "opportunityNumber", "jobNumber"),
        customer_number=_number(event, "customerNumber"),
    )


def _push(info: GraphInfo) -> Push:
    push = info.context.push
    if push is None:
        raise GraphError("Subscriptions are not available on this server.")
    return push


async def _start(push: Push, after: str | None) -> int:
    """The ``seq`` to read after: now (no ``after``), a cursor, or an event id of the log."""
    if after is None:
        return await push.events.last_seq(push.tenant)
    text = after.strip()
    if text.isdigit() and len(text) <= 18:
        return int(text)
    if text.startswith("evt_"):
        seq = 0
        while seq < MAX_ID_SCAN and (events := await push.events.after(push.tenant, seq, PAGE)):
            for event in events:
                if event.id == text:
                    return event.seq
            seq = events[-1].seq
    raise BadUserInput(
        "`after` must be a cursor of an earlier change or the id of an event still in the log.",
        extensions={"argument": "after"},
    )


async def changes_of(
    info: GraphInfo, after: str | None, accept: Callable[[ChangeEvent], bool]
) -> AsyncGenerator[Change, None]:
    """The tenant's events past ``after`` that ``accept`` keeps, as payloads, for ever. Awaited
    before the stream starts, so a bad ``after`` refuses the subscription instead of ending it."""
    push = _push(info)
    return _changes_after(info, push, await _start(push, after), accept)


async def _changes_after(
    info: GraphInfo, push: Push, seq: int, accept: Callable[[ChangeEvent], bool]
) -> AsyncGenerator[Change, None]:
    while True:
        events = await push.events.after(push.tenant, seq, PAGE)
        if not events:
            await push.events.wait(push.tenant, seq, IDLE_WAIT)
            continue
        for event in events:
            seq = event.seq
            if event.tenant == push.tenant and accept(event):
                info.context.data = await push.renew()  # links read the records as they are now
                yield payload(event)


_JOB_TYPES = {EventType.JOB_CREATED, EventType.JOB_STATUS_CHANGED, EventType.JOB_RESCHEDULED}
_TASK_TYPES = {EventType.TASK_SCHEDULED, EventType.TASK_MOVED, EventType.TASK_REASSIGNED}
_CUSTOMER_TYPES = {EventType.CUSTOMER_CREATED, EventType.CUSTOMER_UPDATED}
_OPPORTUNITY_TYPES = {EventType.OPPORTUNITY_WON, EventType.OPPORTUNITY_LOST}

AFTER = "Resume after this change: a `cursor` (or an event `id`) a subscription delivered."


def _of_customer(event: ChangeEvent, number: int | None) -> bool:
    return number is None or _number(event, "customerNumber") == number


def _customer_events(
    types: Collection[EventType], number: int | None
) -> Callable[[ChangeEvent], bool]:
    """Keeps the events of ``types`` that concern customer ``number`` (any customer when None)."""

    def accept(event: ChangeEvent) -> bool:
        return event.type in types and _of_customer(event, number)

    return accept


async def _typed(
    info: GraphInfo, after: str | None, accept: Callable[[ChangeEvent], bool], kind: type[T]
) -> AsyncGenerator[T, None]:
    return _narrowed(await changes_of(info, after, accept), kind)


async def _narrowed(
    changes: AsyncGenerator[Change, None], kind: type[T]
) -> AsyncGenerator[T, None]:
    async for change in changes:
        assert isinstance(change, kind)
        yield change


After = Annotated[str | None, strawberry.argument(description=AFTER)]
CustomerNumber = Annotated[
    int | None, strawberry.argument(description="Only changes of this customer's records.")
]
EmployeeNumber = Annotated[
    int | None, strawberry.argument(description="Only changes that concern this employee.")
]


@strawberry.type(description="Changes in Kickserv, pushed as the server finds them.")
class Subscription:
    @strawberry.subscription(description="Jobs created, rescheduled or changing status.")
    async def job_changed(
        self,
        info: GraphInfo,
        status: Annotated[
            JobStatus | None, strawberry.argument(description="Only jobs now in this status.")
        ] = None,
        employee_number: EmployeeNumber = None,
        customer_number: CustomerNumber = None,
        after: After = None,
    ) -> AsyncGenerator[JobChange, None]:
        def accept(event: ChangeEvent) -> bool:
            return (
                event.type in _JOB_TYPES
                and (status is None or str(_current(event, "status") or "") == status.value)
                and (employee_number is None or employee_number in _employee_numbers(event))
                and _of_customer(event, customer_number)
            )

        return await _typed(info, after, accept, JobChange)

    @strawberry.subscription(description="Invoices paid in full.")
    async def invoice_paid(
        self, info: GraphInfo, customer_number: CustomerNumber = None, after: After = None
    ) -> AsyncGenerator[InvoiceChange, None]:
        accept = _customer_events({EventType.INVOICE_PAID}, customer_number)
        return await _typed(info, after, accept, InvoiceChange)

    @strawberry.subscription(description="Customers created or updated.")
    async def customer_changed(
        self, info: GraphInfo, customer_number: CustomerNumber = None, after: After = None
    ) -> AsyncGenerator[CustomerChange, None]:
        accept = _customer_events(_CUSTOMER_TYPES, customer_number)
        return await _typed(info, after, accept, CustomerChange)

    @strawberry.subscription(description="Visits scheduled, moved or reassigned.")
    async def task_changed(
        self, info: GraphInfo, employee_number: EmployeeNumber = None, after: After = None
    ) -> AsyncGenerator[TaskChange, None]:
        def accept(event: ChangeEvent) -> bool:
            return event.type in _TASK_TYPES and (
                employee_number is None or employee_number in _employee_numbers(event)
            )

        return await _typed(info, after, accept, TaskChange)

    @strawberry.subscription(description="Payments recorded.")
    async def payment_recorded(
        self, info: GraphInfo, customer_number: CustomerNumber = None, after: After = None
    ) -> AsyncGenerator[PaymentRecorded, None]:
        accept = _customer_events({EventType.PAYMENT_RECORDED}, customer_number)
        return await _typed(info, after, accept, PaymentRecorded)

    @strawberry.subscription(description="Opportunities (estimates) won or lost.")
    async def opportunity_changed(
        self, info: GraphInfo, customer_number: CustomerNumber = None, after: After = None
    ) -> AsyncGenerator[OpportunityChange, None]:
        accept = _customer_events(_OPPORTUNITY_TYPES, customer_number)
        return await _typed(info, after, accept, OpportunityChange)

    @strawberry.subscription(description="Every change of the tenant, or of the types given.")
    async def changes(
        self,
        info: GraphInfo,
        types: Annotated[
            list[EventType] | None,
            strawberry.argument(description="Only changes of these types (all when omitted)."),
        ] = None,
        after: After = None,
    ) -> AsyncGenerator[Change, None]:
        wanted = None if types is None else set(types)

        def accept(event: ChangeEvent) -> bool:
            return wanted is None or event.type in wanted

        return await changes_of(info, after, accept)
