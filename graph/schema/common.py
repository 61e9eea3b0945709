"""What every type module of the schema shares: the resolver ``Info``, ids, and ``Address``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from inspect import isawaitable
from typing import Annotated, Any, TypeVar, cast

import strawberry
from strawberry.types import Info

from graph.schema.context import GraphContext
from kickserv import Address as AddressRecord
from resolvers.relations import MaybeAwaitable

GraphInfo = Info[GraphContext, Any]

T = TypeVar("T")
U = TypeVar("U")

# Marks a sync resolver that may still call Kickserv (the server's limits count it as async).
UPSTREAM = {"upstream": True}


FromDay = Annotated[date, strawberry.argument(name="from", description="First day (inclusive).")]
ToDay = Annotated[date, strawberry.argument(description="Day after the last (exclusive).")]


def graph_id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def then(value: MaybeAwaitable[T], convert: Callable[[T], U]) -> U:
    """What a sync resolver returns: ``convert(value)`` now, or an awaitable of it that graphql-core
    awaits. Glue answers come back as plain values (no coroutine, no task); only loads are awaited."""
    if isawaitable(value):
        return cast(U, _then(value, convert))
    return convert(value)


async def _then(value: Awaitable[T], convert: Callable[[T], U]) -> U:
    return convert(await value)


@strawberry.type(description="A postal address (a customer's service or billing address).")
class Address:
    line1: str | None = strawberry.field(description="Street address.")
    line2: str | None = strawberry.field(description="Second address line (suite, unit).")
    city: str | None = strawberry.field(description="City.")
    state: str | None = strawberry.field(description="State or region.")
    zip: str | None = strawberry.field(description="ZIP or postal code.")
    country: str | None = strawberry.field(description="Country.")

    @classmethod
    def from_record(cls, a: AddressRecord) -> Address:
        return cls(
            line1=a.street,
            line2=a.street_2,
            city=a.city,
            state=a.state,
            zip=a.zip_code,
            country=a.country,
        )
