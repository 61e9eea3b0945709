"""The ``customers`` root's filter: what Kickserv filters itself, what the graph checks, and the
window of customers a filtered read answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

import kickserv
from graph.schema import sync as since_
from graph.schema.errors import BadUserInput
from graph.schema.lookups import int_id
from resolvers.customer_search import CustomerCriteria, TooManyToCheck, matching_customers
from resolvers.data import RequestData
from resolvers.tenant import Window


@strawberry.input(description="Filters Kickserv applies to the customer list.")
class CustomerFilter:
    name: str | None = strawberry.field(default=None, description="Exact name.")
    search: str | None = strawberry.field(default=None, description="Part of the name.")
    begins_with: str | None = strawberry.field(
        default=None, description="First letter of the name (case-insensitive)."
    )
    service_state: str | None = strawberry.field(default=None, description="Service address state.")
    service_address: str | None = strawberry.field(
        default=None, description="Exact service street address."
    )
    customer_source_id: strawberry.ID | None = strawberry.field(
        default=None, description="How the customer found the business (Kickserv's source id)."
    )
    number: int | None = strawberry.field(default=None, description="Exact customer number.")
    email: str | None = strawberry.field(
        default=None,
        description="Email address, whole and case-insensitive (checked by the graph).",
    )
    phone: str | None = strawberry.field(
        default=None,
        description="Phone or mobile number, by its digits: punctuation and a leading +1 do not "
        "matter (checked by the graph).",
    )
    active: bool | None = strawberry.field(
        default=None, description="Only active (true) or inactive (false) customers."
    )
    tags: list[str] | None = strawberry.field(
        default=None,
        description="Only customers carrying every one of these tags (each candidate's tags are "
        "read: combine with another filter when the account is large).",
    )

    updated_from: datetime | None = strawberry.field(
        default=None, description="Only customers changed at or after this moment (with offset)."
    )
    updated_to: datetime | None = strawberry.field(
        default=None, description="Only customers changed before this moment (with offset)."
    )

    def criteria(self) -> CustomerCriteria:
        """What the graph checks itself: Kickserv v2 documents none of these filters."""
        for argument, value in (("filter.email", self.email), ("filter.phone", self.phone)):
            filter_text(value, argument)
        for argument, moment in (
            ("filter.updatedFrom", self.updated_from),
            ("filter.updatedTo", self.updated_to),
        ):
            if moment is not None and moment.utcoffset() is None:
                raise BadUserInput(
                    f"`{argument}` needs a UTC offset (2026-11-21T09:00:00-05:00).",
                    extensions={"argument": argument},
                )
        tags = tuple(filter_text(t, "filter.tags") or "" for t in self.tags or ())
        return CustomerCriteria(
            self.email, self.phone, self.active, tags, self.updated_from, self.updated_to
        )


def kickserv_filters(f: CustomerFilter) -> dict[str, Any]:
    """What of ``f`` Kickserv's customer listing filters itself (None: not asked)."""
    return {
        "name": filter_text(f.name, "filter.name"),
        "q": filter_text(f.search, "filter.search"),
        "begins_with": filter_text(f.begins_with, "filter.beginsWith"),
        "service_state": filter_text(f.service_state, "filter.serviceState"),
        "service_address": filter_text(f.service_address, "filter.serviceAddress"),
        "customer_source_id": (
            None
            if f.customer_source_id is None
            else int_id(f.customer_source_id, "filter.customerSourceId")
        ),
        "customer_number": f.number,
    }


MAX_FILTER_TEXT = 1000  # characters of a filter Kickserv gets in its URL


def filter_text(value: str | None, argument: str) -> str | None:
    if value is not None and len(value) > MAX_FILTER_TEXT:
        raise BadUserInput(
            f"`{argument}` may be at most {MAX_FILTER_TEXT} characters, got {len(value)}.",
            extensions={"argument": argument, "max": MAX_FILTER_TEXT},
        )
    return value


UNFILTERED = kickserv_filters(CustomerFilter())  # every one None


async def filtered_customers(
    data: RequestData,
    filter: CustomerFilter | None,
    updated_since: since_.UpdatedSince,
    offset: int,
    first: int,
) -> Window[kickserv.Customer]:
    f = filter or CustomerFilter()
    f.updated_from = since_.later(f.updated_from, since_.aware(updated_since, "updatedSince"))
    given = kickserv_filters(f)
    criteria = f.criteria()
    if not criteria.given:
        return await data.customers(offset, first, **given)
    try:
        found = await matching_customers(data, criteria, **given)
    except TooManyToCheck as exc:
        raise BadUserInput(
            str(exc), extensions={"argument": "filter.tags", "candidates": exc.candidates}
        ) from None
    return Window(tuple(found[offset : offset + first]), offset, len(found))
