"""Start a customer's listings while its record is still on the way.

``customer(number: N) { name jobs { ... } payments { ... } }``: the jobs and payments listings need
only the number, which the query already gave, yet a resolver runs only after its parent returned, so
they would wait a whole round for the customer record. The root resolver starts them here, at the
same moment as the record; the child resolvers then ask for exactly the same windows and join those
calls in flight (single-flight) or find them cached. With the shared cache off nothing is started:
without single-flight the children would fetch everything a second time.

When the jobs' nodes ask what only a job's own record holds (its line items, payments, notes, tags,
payment request), those records are asked for as soon as the jobs listing lands, through the
request's loader, whose futures the nodes' resolvers then find: they would otherwise leave only once
the customer's record has landed too, and the slower of the two first calls decided when (a cold
customer history, in process: the job records left 7 ms after the listing had landed, 2026-12-04).
Loaders off, nothing is started either (the resolvers would load the same records again).

``customers(first: 20) { nodes { jobs { ... } } }``: a page of customers just read from Kickserv
starts its customers' listings the same way (``customers_listings``), and the root resolver waits
until their calls are written: the nodes' resolvers would otherwise ask for them only once every
node before them was built (the cold dashboard's 20 listings left ~1.8 ms after its customer page
was kept, in process, 2026-12-04). A page found cached starts nothing: its customers' listings are
likely cached too. A read that finds its listing cached sends no call, so the wait also ends once
every read started has ended: all cached, nothing is waited for (some cached, some not: the wait
ends at ``SEND_WAIT``, 5 ms). Only fields outside any ``@skip``/``@include`` count, here as for
``customer``: a listing read for a field the query then leaves out would be a call for nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kickserv import Job
from kickserv.client import SEND_WAIT
from resolvers.data import RequestData
from resolvers.tenant import Window


@dataclass(slots=True)
class CustomerListings:
    """What a query asks of one customer's listings: windows as (offset, first)."""

    # + status, and whether every node asks what only the job's own record holds
    jobs: list[tuple[int, int, str | None, bool]] = field(default_factory=list)
    payments: list[tuple[int, int]] = field(default_factory=list)
    notes: bool = False
    invoices: bool = False


def _started(work: Awaitable[Any]) -> asyncio.Future[Any]:
    task = asyncio.ensure_future(work)
    # A failure is the child resolver's to report (it makes the same call): consume it here.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    return task


def customer_listings(
    data: RequestData, number: int, wanted: CustomerListings
) -> list[asyncio.Future[Any]]:
    """Start the listings ``wanted`` of customer ``number`` (jobs, payments, notes, invoices): the
    reads started, each one call at least unless it is cached."""
    if not data.tenant.cache.enabled:
        return []
    started = []
    for offset, first, status, details in wanted.jobs:
        window = data.customer_jobs(number, offset, first, status)
        started.append(
            _started(_with_details(data, window) if details and data.loaders_enabled else window)
        )
    for offset, first in wanted.payments:
        started.append(_started(data.payments(number, None, None, offset, first)))
    if wanted.notes:
        started.append(_started(data.customer_notes(number)))
    if wanted.invoices:
        started.append(_started(data.jobs_by_customer_number.get(number)))
    return started


async def customers_listings(
    data: RequestData, numbers: Sequence[int], wanted: CustomerListings
) -> None:
    """Start the listings ``wanted`` of each customer of a page just read from Kickserv, and return
    once their calls are written, or every one of them is done (all cached: no call), or after
    ``kickserv.client.SEND_WAIT``: the nodes' resolvers would otherwise ask for them only once every
    node before them is built."""
    client = data.tenant.client
    mark = client.send_mark()
    started = [read for number in numbers for read in customer_listings(data, number, wanted)]
    if not started:  # nothing asked, or no shared cache to join them in
        return
    data.background = True  # its reads go on beside the request's own (they run from the wait on)
    written = asyncio.ensure_future(client.sent_since(mark, len(started), SEND_WAIT))
    finished = asyncio.ensure_future(asyncio.wait(started))  # (cancelled, it leaves them be)
    try:
        await asyncio.wait((written, finished), return_when=asyncio.FIRST_COMPLETED)
    finally:
        written.cancel()
        finished.cancel()


async def _with_details(data: RequestData, window: Awaitable[Window[Job]]) -> None:
    """The jobs window, then its jobs' own records (their nodes' resolvers find them loading)."""
    jobs = (await window).items
    await data.job_by_number.get_many([job.job_number for job in jobs])
