"""What a ``customer(number:)`` query asks of the customer's listings, read from its selection, for
``resolvers.prefetch`` to start them with the record (see there why)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from graph.schema.connections import window_args
from graph.schema.errors import GraphError
from resolvers.prefetch import CustomerListings


def _fields(selections: list[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def _window(arguments: dict[str, Any]) -> tuple[int, int] | None:
    # Literal arguments arrive as their source text ("100"), variables as values.
    try:
        after = arguments.get("after")
        return window_args(int(arguments.get("first", 25)), None if after is None else str(after))
    except (GraphError, TypeError, ValueError):
        return None  # the field itself will report the bad argument


def customer_listings(info: Info[Any, Any]) -> CustomerListings:
    wanted = CustomerListings()
    notes = invoices = False
    for root in info.selected_fields:
        for field in _fields(root.selections):
            arguments = dict(field.arguments or {})
            if field.name == "jobs" and (window := _window(arguments)):
                status = arguments.get("status")
                wanted.jobs.append((*window, None if status is None else str(status)))
            elif field.name == "payments" and (window := _window(arguments)):
                wanted.payments.append(window)
            notes = notes or field.name == "notes"
            invoices = invoices or field.name == "invoices"
    return CustomerListings(wanted.jobs, wanted.payments, notes, invoices)
