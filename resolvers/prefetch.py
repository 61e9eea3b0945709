"""Start a customer's listings while its record is still on the way.

``customer(number: N) { name jobs { ... } payments { ... } }``: the jobs and payments listings need
only the number, which the query already gave, yet a resolver runs only after its parent returned, so
they would wait a whole round for the customer record. The root resolver starts them here, at the
same moment as the record; the child resolvers then ask for exactly the same windows and join those
calls in flight (single-flight) or find them cached. With the shared cache off nothing is started:
without single-flight the children would fetch everything a second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from resolvers.data import RequestData


@dataclass(frozen=True, slots=True)
class CustomerListings:
    """What a query asks of one customer's listings: windows as (offset, first)."""

    jobs: list[tuple[int, int, str | None]] = field(default_factory=list)  # + status
    payments: list[tuple[int, int]] = field(default_factory=list)
    notes: bool = False
    invoices: bool = False


def _started(work: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(work)
    # A failure is the child resolver's to report (it makes the same call): consume it here.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def customer_listings(data: RequestData, number: int, wanted: CustomerListings) -> None:
    """Start the listings ``wanted`` of customer ``number``: jobs, payments, notes, invoices."""
    if not data.tenant.cache.enabled:
        return
    for offset, first, status in wanted.jobs:
        _started(data.customer_jobs(number, offset, first, status))
    for offset, first in wanted.payments:
        _started(data.payments(number, None, None, offset, first))
    if wanted.notes:
        _started(data.customer_notes(number))
    if wanted.invoices:
        _started(data.jobs_by_customer_number.get(number))
