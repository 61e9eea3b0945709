"""The root fields, wired to ``RequestData``; ``build_schema()`` gives the federation v2 schema."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from operator import methodcaller
from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSchema
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

from graph.schema import prefetch
from graph.schema import sync as since_
from graph.schema.billing import Invoice, InvoiceStatus, Payment
from graph.schema.catalog import Item, JobChargeType, JobType, Vendor
from graph.schema.common import FromDay, GraphInfo, ToDay
from graph.schema.connections import (
    Connection,
    InvoiceConnection,
    connection,
    invoice_connection,
    window_args,
)
from graph.schema.customer_filters import (
    UNFILTERED,
    CustomerFilter,
    filter_text,
    filtered_customers,
)
from graph.schema.customers import Customer, Location
from graph.schema.errors import BadUserInput, ErrorCode, NotFound
from graph.schema.execution import LeanExecutionContext
from graph.schema.jobs import Job, Opportunity
from graph.schema.lean import make_lean
from graph.schema.lookups import LookupQuery
from graph.schema.lookups import int_id as _int_id
from graph.schema.people import Employee
from graph.schema.schedule import Task, visits
from graph.schema.statuses import JobStatus, OpportunityStatus
from graph.schema.webhooks import WebhookQueries
from resolvers.parsing import (
    NumberError,
    bounded_decimal,
    bounded_year,
    moment_text,
    quoted,
)
from resolvers.prefetch import customer_listings as start_listings
from resolvers.prefetch import customers_listings as start_nodes_listings
from resolvers.relations import by_number_or_id, one


@strawberry.type(
    name="InvoiceConnection",
    description="A page of invoices, with what is owed across all matching invoices.",
)
class InvoicePage(InvoiceConnection[Invoice]):
    """The invoice connection under its own name (see ``graph.schema.connections.invoice_connection``)."""


@strawberry.enum(description="Kickserv's named date ranges for scheduled jobs.")
class ScheduledWindow(Enum):
    TODAY = "today"
    TOMORROW = "tomorrow"
    THIS_WEEK = "this_week"
    NEXT_WEEK = "next_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    NEXT_MONTH = "next_month"
    LAST_MONTH = "last_month"


@strawberry.input(description="Filters Kickserv applies to the job list.")
class JobFilter:
    status: JobStatus | None = strawberry.field(
        default=None, description="Only jobs in this status."
    )
    job_type_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this kind of work."
    )
    scheduled: ScheduledWindow | None = strawberry.field(
        default=None, description="Only jobs scheduled in this window."
    )


@strawberry.enum(description="Order of payments.")
class PaymentSort(Enum):
    NEWEST_FIRST = "date:DESC"
    OLDEST_FIRST = "date:ASC"
    LARGEST_FIRST = "amount:DESC"
    SMALLEST_FIRST = "amount:ASC"
    RECENTLY_RECORDED = "created_at:DESC"


def _one_of(**given: Any) -> None:
    if sum(v is not None for v in given.values()) != 1:
        names = " or ".join(f"`{k}`" for k in given)
        raise BadUserInput(f"Give exactly one of {names}.")


# -- scalars -------------------------------------------------------------------------------------
# Strawberry's Decimal takes ``Decimal(str(value))`` (NaN, Arabic-Indic digits, 1e99999999), and its
# Date and DateTime quote the whole value when they fail and let years Python cannot shift through.
# These read with ``resolvers.parsing``'s rules and keep Strawberry's names and descriptions, so the
# SDL is unchanged; a refusal is a GraphQL error that quotes at most 100 characters of the value.
# DateTime is read by Python's ``datetime.fromisoformat`` (ISO 8601, ``Z`` included), not dateutil.


def _refused(kind: str, value: object, reason: object) -> GraphQLError:
    return GraphQLError(
        f"Expected a {kind} ({reason}), got {quoted(value)}.",
        extensions={"code": str(ErrorCode.BAD_USER_INPUT)},
    )


def _parse_decimal(value: object) -> Decimal:
    try:
        return bounded_decimal(value)
    except NumberError as exc:
        raise _refused("Decimal", value, exc) from None


def _parse_date(value: object) -> date:
    try:
        parsed = date.fromisoformat(moment_text(value))
        bounded_year(parsed.year)
    except NumberError as exc:
        raise _refused("Date", value, exc) from None
    except ValueError:
        raise _refused("Date", value, "an ISO 8601 date such as 2026-11-21") from None
    return parsed


def _parse_datetime(value: object) -> datetime:
    try:
        parsed = datetime.fromisoformat(moment_text(value))
        bounded_year(parsed.year)
    except NumberError as exc:
        raise _refused("DateTime", value, exc) from None
    except (ValueError, OverflowError):
        example = "an ISO 8601 date-time such as 2026-11-23T09:00:00-05:00"
        raise _refused("DateTime", value, example) from None
    return parsed


def _scalar(origin: type, name: str, description: str, parse: Any) -> ScalarDefinition:
    return ScalarDefinition(
        name=name,
        description=description,
        specified_by_url=None,
        serialize=str if origin is Decimal else methodcaller("isoformat"),
        parse_value=parse,
        parse_literal=None,  # graphql-core reads the literal, then calls parse_value
        origin=origin,
    )


SCALARS: dict[object, type | ScalarWrapper | ScalarDefinition] = {
    Decimal: _scalar(Decimal, "Decimal", "Decimal (fixed-point)", _parse_decimal),
    date: _scalar(date, "Date", "Date (isoformat)", _parse_date),
    datetime: _scalar(datetime, "DateTime", "Date with time (isoformat)", _parse_datetime),
}


@strawberry.type(description="Kickserv data as one graph.")
class Query(LookupQuery, WebhookQueries, since_.SyncQueries):
    @strawberry.field(description="One customer, by number or global id.")
    async def customer(
        self, info: GraphInfo, number: int | None = None, id: strawberry.ID | None = None
    ) -> Customer | None:
        _one_of(number=number, id=id)
        data = info.context.data
        global_id = None if id is None else _int_id(id, "id")
        if number is not None:
            data.background = True  # no round waits for the record: its listings start with it
            start_listings(data, number, prefetch.customer_listings(info))
        data.start_job_tasks(prefetch.job_tasks_bound(info, "customer"))
        record = await by_number_or_id(
            data.customer_by_number, data.customer_by_id, number, global_id, "Customer"
        )
        return Customer.from_record(record)

    @strawberry.field(description="Customers by customer number, filtered as Kickserv allows.")
    async def customers(
        self,
        info: GraphInfo,
        filter: CustomerFilter | None = None,
        first: int = 25,
        after: str | None = None,
        updated_since: since_.UpdatedSince = None,
    ) -> Connection[Customer] | None:
        offset, first = window_args(first, after)
        data = info.context.data
        data.start_job_tasks(prefetch.job_tasks_bound(info, "customers"))
        if filter is None and updated_since is None:  # the whole listing: nothing to check
            window = await data.customers(offset, first, **UNFILTERED)
        else:
            window = await filtered_customers(data, filter, updated_since, offset, first)
        if window.fetched:  # read from Kickserv now: its customers' listings are likely cold too
            numbers = [customer.customer_number for customer in window.items]
            await start_nodes_listings(data, numbers, prefetch.node_listings(info))
        return connection(window, Customer.from_record)

    @strawberry.field(description="One job (or opportunity), by number or global id.")
    async def job(
        self, info: GraphInfo, number: int | None = None, id: strawberry.ID | None = None
    ) -> Job | None:
        _one_of(number=number, id=id)
        data = info.context.data
        global_id = None if id is None else _int_id(id, "id")
        record = await by_number_or_id(data.job_by_number, data.job_by_id, number, global_id, "Job")
        return Job.from_record(record)

    @strawberry.field(description="Jobs, newest first.")
    async def jobs(
        self,
        info: GraphInfo,
        filter: JobFilter | None = None,
        first: int = 25,
        after: str | None = None,
        updated_since: since_.UpdatedSince = None,
    ) -> Connection[Job] | None:
        offset, first = window_args(first, after)
        info.context.data.start_job_tasks(prefetch.job_tasks_bound(info, "jobs"))
        f = filter or JobFilter()
        if (since := since_.aware(updated_since, "updatedSince")) is not None:
            return await since_.jobs(
                info, since, offset, first, f.status, f.job_type_id, f.scheduled
            )
        window = await info.context.data.jobs(
            offset,
            first,
            status=f.status.value if f.status else None,
            job_type_id=(
                None if f.job_type_id is None else _int_id(f.job_type_id, "filter.jobTypeId")
            ),
            scheduled=f.scheduled.value if f.scheduled else None,
        )
        return connection(window, Job.from_record)

    @strawberry.field(description="Opportunities (estimates), newest first.")
    async def opportunities(
        self,
        info: GraphInfo,
        status: OpportunityStatus | None = None,
        job_type_id: strawberry.ID | None = None,
        first: int = 25,
        after: str | None = None,
    ) -> Connection[Opportunity] | None:
        offset, first = window_args(first, after)
        window = await info.context.data.opportunities(
            offset,
            first,
            status.value if status else None,
            None if job_type_id is None else _int_id(job_type_id, "jobTypeId"),
        )
        return connection(window, Opportunity.from_record)

    @strawberry.field(
        description="One scheduled visit, by global id; with `jobNumber`, only if it is a visit "
        "of that job (Kickserv's `/jobs/{n}/tasks/{id}.json`), else NOT_FOUND."
    )
    async def task(
        self, info: GraphInfo, id: strawberry.ID, job_number: int | None = None
    ) -> Task | None:
        data = info.context.data
        record = await one(data.task_by_id, _int_id(id, "id"), "Task")
        if job_number is not None:
            job = await one(data.job_by_number, job_number, "Job")
            if record.job_id != job.id:
                raise NotFound(f"Task {id} is not a visit of job {job_number}.")
        return Task.from_record(record)

    @strawberry.field(
        description="Visits from `from` (inclusive) to `to` (exclusive), by start time."
    )
    async def schedule(
        self,
        info: GraphInfo,
        from_: FromDay,
        to: ToDay,
        employee_number: int | None = None,
        first: int = 25,
        after: str | None = None,
        task_type_id: strawberry.ID | None = None,
    ) -> Connection[Task] | None:
        return await visits(info, from_, to, employee_number, first, after, task_type_id)

    @strawberry.field(
        description="One invoice by global id (Kickserv has no such lookup; answered from an index)."
    )
    async def invoice(self, info: GraphInfo, id: strawberry.ID) -> Invoice | None:
        record = await one(info.context.data.invoice_by_id, _int_id(id, "id"), "Invoice")
        return Invoice.from_record(record)

    @strawberry.field(description="Invoices, newest first, with what is owed across all of them.")
    async def invoices(
        self,
        info: GraphInfo,
        status: InvoiceStatus | None = None,
        first: int = 25,
        after: str | None = None,
        updated_since: since_.UpdatedSince = None,
    ) -> InvoicePage | None:
        offset, first = window_args(first, after)
        if (since := since_.aware(updated_since, "updatedSince")) is not None:
            return await since_.invoices(info, since, status, offset, first, InvoicePage)
        window = await info.context.data.invoices(status.value if status else None, offset, first)
        return invoice_connection(window, Invoice.from_record, InvoicePage)

    @strawberry.field(description="Payments, optionally of one customer.")
    async def payments(
        self,
        info: GraphInfo,
        customer_number: int | None = None,
        sort: PaymentSort | None = None,
        first: int = 25,
        after: str | None = None,
        updated_since: since_.RecordedSince = None,
    ) -> Connection[Payment] | None:
        offset, first = window_args(first, after)
        if (since := since_.aware(updated_since, "updatedSince")) is not None:
            return await since_.payments(info, since, offset, first, customer_number, sort)
        sort_by, sort_order = sort.value.split(":") if sort else (None, None)
        window = await info.context.data.payments(
            customer_number, sort_by, sort_order, offset, first
        )
        return connection(window, Payment.from_record)

    @strawberry.field(description="Active employees.")
    async def employees(self, info: GraphInfo) -> list[Employee] | None:
        return [Employee.from_record(e) for e in await info.context.data.employees()]

    @strawberry.field(description="One employee, by employee number (inactive ones too).")
    async def employee(self, info: GraphInfo, number: int) -> Employee | None:
        record = await info.context.data.employee_by_number.get(number)
        if record is None:
            raise NotFound(f"Employee {number} was not found.")
        return Employee.from_record(record)

    @strawberry.field(description="Catalogue items; `name` matches part of the name.")
    async def items(
        self, info: GraphInfo, name: str | None = None, first: int = 25, after: str | None = None
    ) -> Connection[Item] | None:
        offset, first = window_args(first, after)
        window = await info.context.data.items(filter_text(name, "name"), offset, first)
        return connection(window, Item.from_record)

    @strawberry.field(description="Kinds of work (Kickserv's services).")
    async def job_types(
        self, info: GraphInfo, include_inactive: bool = False
    ) -> list[JobType] | None:
        return [JobType.from_record(t) for t in await info.context.data.job_types(include_inactive)]

    @strawberry.field(description="Kinds of charges.")
    async def job_charge_types(self, info: GraphInfo) -> list[JobChargeType] | None:
        return [JobChargeType.from_record(t) for t in await info.context.data.job_charge_types()]

    @strawberry.field(description="Vendors.")
    async def vendors(
        self, info: GraphInfo, first: int = 25, after: str | None = None
    ) -> Connection[Vendor] | None:
        offset, first = window_args(first, after)
        window = await info.context.data.vendors(offset, first)
        return connection(window, Vendor.from_record)


def build_schema() -> strawberry.federation.Schema:
    """The federation v2 schema of the running server (``_entities`` batched, see graph.schema.federation)."""
    from graph.schema.federation import FederatedSchema
    from graph.schema.mutations import Mutation  # imported here: the mutations import this module
    from graph.schema.subscriptions import Subscription

    schema = FederatedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Location],
        scalar_overrides=SCALARS,
        execution_context_class=LeanExecutionContext,
    )
    # Strawberry's per-field layers, where they do nothing here (see graph.schema.lean); not when
    # exception handlers could map a resolver's errors (this schema configures none).
    scalars = schema.schema_converter.scalar_registry
    if not getattr(schema.schema_converter, "_exception_handler_specs", ()):
        make_lean(graphql_schema(schema), schema.config, scalars, exempt=LEAN_EXEMPT)
    return schema


LEAN_EXEMPT = frozenset({"Subscription", "Mutation"})  # rare, and their resolvers take arguments


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """graphql-core's schema inside Strawberry's, which the server executes on directly.

    Strawberry has no public accessor for it: this is the one place that reads ``_schema``, and
    ``tests/graph/test_schema.py`` fails if a Strawberry upgrade moves it.
    """
    inner = schema._schema
    if not isinstance(inner, GraphQLSchema):  # pragma: no cover - a Strawberry upgrade
        raise TypeError("strawberry.Schema._schema is no longer a GraphQLSchema")
    return inner
