"""Incremental reads: records changed since a moment (``updatedSince``), and a sync cursor a
warehouse stores and resumes from (``customersChangedSince`` and its siblings).

What Kickserv offers for this, as ``/work/shared/kickserv-api.md`` confirms it: no listing filters
or sorts by ``updated_at``; ``/payments.json`` sorts by ``created_at`` (``sort_by=created_at
&sort_order=DESC``, [C]). So:

- customers, jobs and invoices changed since a moment: the whole listing (its pages at once,
  through the shared cache like any listing), filtered here; a record Kickserv sends without
  ``updated_at`` is included (it cannot be told apart). The cost is the listing's page count,
  reported in ``extensions.upstream``;
- payments since a moment: newest first by ``created_at``, reading pages until one reaches back
  past the moment (each page is checked to come back in that order; if one does not, the whole
  listing is read instead). A payment counts from when it was recorded.

The sync cursor orders a kind's records by (``updated_at``, number), and encodes the position of
the last record handed out. Each page reads the listing fresh from Kickserv (never the cache: a
sync must not miss a change made since a cached page was read). Semantics: **at least once**. A
record changed again after it was handed out comes again (its ``updated_at`` moved past the
cursor). Kickserv's times have whole seconds, so records changed in the newest second seen may
still be joined by others in that same second: when a page reaches the end of what changed, its
``nextCursor`` goes back to the start of the newest ``HEAD_MARGIN`` seconds, and the next sync
hands those records out again (duplicates to de-duplicate by number and ``updatedAt``, never a
gap). Within a sync that goes on (``hasMore``) the cursor is exact, so it always moves forward.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from kickserv import KickservClient, Page, Paginator, Payment
from resolvers import resources
from resolvers.resources import Listing, filters
from resolvers.stats import record_page
from resolvers.tenant import Tenant

T = TypeVar("T")

HEAD_MARGIN = timedelta(seconds=2)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class BadSyncCursor(ValueError):
    """A cursor that is not one of ours, or of another kind of record."""


@dataclass(frozen=True, slots=True)
class SyncKind(Generic[T]):
    """One kind of record a warehouse syncs: its listing and the number that orders ties."""

    name: str
    listing: Callable[[KickservClient], Paginator[T]]
    number: Callable[[T], int]


def changed_at(record: Any) -> datetime:
    moment = getattr(record, "updated_at", None) or getattr(record, "created_at", None)
    return moment if isinstance(moment, datetime) else EPOCH


def recorded_at(payment: Payment) -> datetime:
    return payment.created_at or EPOCH


KINDS: dict[str, SyncKind[Any]] = {
    "customers": SyncKind("customers", lambda ks: ks.customers.list(), lambda c: c.customer_number),
    "jobs": SyncKind("jobs", lambda ks: ks.jobs.list(), lambda j: j.job_number),
    "invoices": SyncKind("invoices", lambda ks: ks.invoices.list(), lambda i: i.job_number),
    "payments": SyncKind("payments", lambda ks: ks.payments.list(), lambda p: p.id),
}


# -- updatedSince on the root connections ----------------------------------------------------------


async def updated_since(
    tenant: Tenant, resource: Listing[T, Any], listing: Paginator[T], params: Any, since: datetime
) -> list[T]:
    """The records of a whole listing (in its own order) changed at or after ``since``."""
    window = await tenant.everything(resource, listing, params)
    return [r for r in window.items if _since(r, since)]


def _since(record: Any, since: datetime) -> bool:
    moment = getattr(record, "updated_at", None)
    return moment is None or moment >= since


async def payments_since(
    tenant: Tenant, customer_number: int | None, since: datetime
) -> list[Payment]:
    """Payments recorded at or after ``since``, newest first, reading pages only until one reaches
    back past it (Kickserv's confirmed ``created_at`` order, checked on each page)."""
    listing = tenant.client.payments.list(
        customer_number=customer_number, sort_by="created_at", sort_order="DESC"
    )
    params = filters(customer_number=customer_number, sort_by="created_at", sort_order="DESC")
    found: list[Payment] = []
    newest_so_far: datetime | None = None
    number = 1
    while True:
        page = await tenant.page(resources.PAYMENTS, listing, params, number, tenant.max_per_page)
        stamps = [recorded_at(p) for p in page.items]
        if any(a < b for a, b in itertools.pairwise(stamps)) or (
            newest_so_far is not None and stamps and stamps[0] > newest_so_far
        ):  # not the order Kickserv promises: read it all instead
            plain = tenant.client.payments.list(customer_number=customer_number)
            window = await tenant.everything(
                resources.PAYMENTS, plain, filters(customer_number=customer_number)
            )
            every = [p for p in window.items if recorded_at(p) >= since]
            return sorted(every, key=recorded_at, reverse=True)
        found += [p for p in page.items if recorded_at(p) >= since]
        if stamps:
            newest_so_far = stamps[-1]
        if (stamps and stamps[-1] < since) or number >= page.total_pages:
            return found
        number += 1


# -- the sync cursor -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncPosition:
    """After which record a sync resumes: (``at``, ``number``) in (updated_at, number) order;
    ``number`` None: before every record changed at ``at``."""

    kind: str
    at: datetime
    number: int | None = None

    def encode(self) -> str:
        body = {"k": self.kind, "t": self.at.isoformat(), "n": self.number}
        return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, kind: str) -> SyncPosition:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            body = json.loads(base64.urlsafe_b64decode(padded.encode()))
            at = datetime.fromisoformat(body["t"])
            number = body["n"]
            if body["k"] != kind or at.utcoffset() is None:
                raise ValueError
            if number is not None and not isinstance(number, int):
                raise ValueError
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise BadSyncCursor(
                f"Not a sync cursor of {kind}: pass the `nextCursor` a sync of {kind} returned."
            ) from None
        return cls(kind, at, number)


@dataclass(frozen=True, slots=True)
class SyncPage(Generic[T]):
    records: Sequence[T]
    next_cursor: str
    has_more: bool


async def sync_page(
    tenant: Tenant, kind: SyncKind[T], position: SyncPosition, first: int, concurrency: int = 8
) -> SyncPage[T]:
    """The next ``first`` records of ``kind`` after ``position`` (see the module docstring)."""
    records = await _fresh(tenant, kind, concurrency)
    ordered = sorted(records, key=lambda r: (changed_at(r), kind.number(r)))
    after = [r for r in ordered if _after(r, kind, position)]
    page = after[:first]
    has_more = len(after) > first
    if has_more:
        last = page[-1]
        return SyncPage(page, _at(kind, changed_at(last), kind.number(last)), True)
    head = changed_at(ordered[-1]) if ordered else None
    if head is None or head < position.at:
        return SyncPage(page, position.encode(), False)
    # The end of what changed: the newest seconds again next time (ties that may still come).
    resume = SyncPosition(kind.name, max(head - HEAD_MARGIN, position.at), None)
    return SyncPage(page, resume.encode(), False)


def _at(kind: SyncKind[Any], at: datetime, number: int | None) -> str:
    return SyncPosition(kind.name, at, number).encode()


def _after(record: Any, kind: SyncKind[Any], position: SyncPosition) -> bool:
    at = changed_at(record)
    if at != position.at:
        return at > position.at
    return position.number is None or kind.number(record) > position.number


async def _fresh(tenant: Tenant, kind: SyncKind[T], concurrency: int) -> list[T]:
    """Every record of the listing, read from Kickserv now (pages after the first at once)."""
    listing = kind.listing(tenant.client)
    per_page = tenant.max_per_page

    async def fetch(number: int) -> Page[T]:
        record_page()
        return await listing.page(number, per_page)

    first = await fetch(1)
    pages = [first]
    numbers = list(range(2, first.total_pages + 1))
    for start in range(0, len(numbers), concurrency):
        pages += await asyncio.gather(*(fetch(n) for n in numbers[start : start + concurrency]))
    return [item for page in pages for item in page.items]


def start_position(kind: str, since: datetime | None) -> SyncPosition:
    """Where a sync without a cursor starts: at ``since`` (inclusive), or from the beginning."""
    return SyncPosition(kind, since if since is not None else EPOCH, None)
