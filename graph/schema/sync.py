"""Incremental sync in the schema: ``updatedSince`` on the root connections (their resolvers call
``*_since`` here) and the sync cursor fields (``SyncQueries``: ``customersChangedSince`` and its
siblings). What Kickserv allows and the cursor's semantics: ``resolvers.sync``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Generic, TypeVar

import strawberry

from graph.schema.billing import Invoice, Payment
from graph.schema.common import GraphInfo
from graph.schema.connections import (
    MAX_FIRST,
    Connection,
    InvoiceConnection,
    connection,
    invoice_connection,
)
from graph.schema.customers import Customer
from graph.schema.errors import BadUserInput
from graph.schema.jobs import Job
from graph.schema.lookups import int_id
from resolvers import resources, sync
from resolvers.resources import filters
from resolvers.tenant import Window

N = TypeVar("N")
R = TypeVar("R")
IC = TypeVar("IC", bound="InvoiceConnection[Any]")

UpdatedSince = Annotated[
    datetime | None,
    strawberry.argument(
        description="Only records changed at or after this moment (with a UTC offset). Kickserv "
        "cannot filter or sort by it: the whole listing is read and filtered (cost in "
        "`extensions.upstream`)."
    ),
]
RecordedSince = Annotated[
    datetime | None,
    strawberry.argument(
        description="Only payments recorded at or after this moment (with a UTC offset), newest "
        "first: Kickserv sorts payments by when they were recorded, so only the pages back to "
        "this moment are read. Not with `sort`."
    ),
]


def aware(moment: datetime | None, argument: str) -> datetime | None:
    if moment is not None and moment.utcoffset() is None:
        raise BadUserInput(
            f"`{argument}` needs a UTC offset (2026-11-21T09:00:00-05:00).",
            extensions={"argument": argument},
        )
    return moment


def sliced(items: Sequence[R], offset: int, first: int, extra: Any = None) -> Window[R]:
    return Window(tuple(items[offset : offset + first]), offset, len(items), extra or {})


# -- updatedSince on the root connections ----------------------------------------------------------


def later(a: datetime | None, b: datetime | None) -> datetime | None:
    """The later of two optional moments (``customers``: ``updatedSince`` and its filter's
    ``updatedFrom`` together)."""
    return b if a is None else a if b is None else max(a, b)


async def jobs(
    info: GraphInfo,
    since: datetime,
    offset: int,
    first: int,
    status: Enum | None,
    job_type_id: strawberry.ID | None,
    scheduled: Enum | None,
) -> Connection[Job]:
    data = info.context.data
    type_id = None if job_type_id is None else int_id(job_type_id, "filter.jobTypeId")
    when = None if scheduled is None else str(scheduled.value)
    listing = data.ks.jobs.list(job_type_id=type_id, scheduled=when)
    params = filters(job_type_id=type_id, scheduled=when)
    found = await sync.updated_since(data.tenant, resources.JOBS, listing, params, since)
    if status is not None:  # /jobs.json does not document `status`: checked here
        found = [j for j in found if j.status == status.value]
    return connection(sliced(found, offset, first), Job.from_record)


async def invoices(
    info: GraphInfo,
    since: datetime,
    status: Enum | None,
    offset: int,
    first: int,
    kind: type[IC],
) -> IC:
    """Invoices changed since ``since``, with what is owed across the whole listing."""
    data = info.context.data
    wanted = None if status is None else str(status.value)
    listing = data.ks.invoices.list(invoice_status=wanted)
    window = await data.tenant.everything(resources.INVOICES, listing, wanted)
    found = [i for i in window.items if i.updated_at is None or i.updated_at >= since]
    return invoice_connection(sliced(found, offset, first, window.extra), Invoice.from_record, kind)


async def payments(
    info: GraphInfo,
    since: datetime,
    offset: int,
    first: int,
    customer_number: int | None,
    sort: Any,
) -> Connection[Payment]:
    if sort is not None:
        raise BadUserInput(
            "`updatedSince` lists payments newest first (by when they were recorded): leave "
            "`sort` out.",
            extensions={"argument": "sort"},
        )
    found = await sync.payments_since(info.context.data.tenant, customer_number, since)
    return connection(sliced(found, offset, first), Payment.from_record)


# -- the sync cursor -------------------------------------------------------------------------------


@strawberry.type(
    description="One page of a sync: records changed after the cursor, oldest change first."
)
class Changes(Generic[N]):
    nodes: list[N] = strawberry.field(
        description="Records in the order they last changed (updatedAt, then number)."
    )
    next_cursor: str = strawberry.field(
        description="Store it, and pass it as `cursor` to resume (at least once: a record may "
        "come again, never be skipped)."
    )
    has_more: bool = strawberry.field(
        description="More changed records follow now: ask again with `nextCursor`."
    )


Cursor = Annotated[
    str | None,
    strawberry.argument(
        description="The `nextCursor` of the previous page; none: start at `since`, or from the "
        "beginning."
    ),
]
Since = Annotated[
    datetime | None,
    strawberry.argument(
        description="Where a sync without a cursor starts (with a UTC offset); ignored with one."
    ),
]
First = Annotated[
    int, strawberry.argument(description=f"How many records at most (1 to {MAX_FIRST * 10}).")
]


async def changes(
    info: GraphInfo,
    kind: str,
    cursor: str | None,
    since: datetime | None,
    first: int,
    convert: Callable[[Any], N],
) -> Changes[N]:
    if not 0 < first <= MAX_FIRST * 10:
        raise BadUserInput(
            f"`first` must be from 1 to {MAX_FIRST * 10}.", extensions={"argument": "first"}
        )
    if cursor is None:
        position = sync.start_position(kind, aware(since, "since"))
    else:
        try:
            position = sync.SyncPosition.decode(cursor, kind)
        except sync.BadSyncCursor as exc:
            raise BadUserInput(str(exc), extensions={"argument": "cursor"}) from None
    page = await sync.sync_page(info.context.data.tenant, sync.KINDS[kind], position, first)
    return Changes(
        nodes=[convert(r) for r in page.records],
        next_cursor=page.next_cursor,
        has_more=page.has_more,
    )


def changed_since(
    kind: str, answer: type[Changes[N]], convert: Callable[[Any], N], description: str
) -> Changes[N]:
    """The root field of one kind's changes (``answer``: ``Changes`` of its GraphQL type, which
    ``convert`` makes of each record)."""

    async def resolve(
        info: GraphInfo,
        cursor: Cursor = None,
        since: Since = None,
        first: First = 100,
    ) -> Changes[N]:
        return await changes(info, kind, cursor, since, first, convert)

    return strawberry.field(resolver=resolve, graphql_type=answer, description=description)


@strawberry.type
class SyncQueries:
    """Root fields of incremental sync (mixed into ``Query``)."""

    customers_changed_since = changed_since(
        "customers",
        Changes[Customer],
        Customer.from_record,
        "Customers changed after the cursor, for a warehouse to store and resume from "
        "(`nextCursor`). Each page reads the whole customer listing from Kickserv.",
    )
    jobs_changed_since = changed_since(
        "jobs",
        Changes[Job],
        Job.from_record,
        "Jobs changed after the cursor (see `customersChangedSince`).",
    )
    invoices_changed_since = changed_since(
        "invoices",
        Changes[Invoice],
        Invoice.from_record,
        "Invoices changed after the cursor (see `customersChangedSince`).",
    )
    payments_changed_since = changed_since(
        "payments",
        Changes[Payment],
        Payment.from_record,
        "Payments recorded or changed after the cursor (see `customersChangedSince`).",
    )
