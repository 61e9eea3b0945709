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
from collections.abc import Awaitable, Iterator
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from graph.schema.connections import window_args
from graph.schema.errors import GraphError
from resolvers.data import RequestData


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


def _started(work: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(work)
    # A failure is the child resolver's to report (it makes the same call): consume it here.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


def customer_listings(info: Info[Any, Any], data: RequestData, number: int) -> None:
    """Start the listings the query asks of customer ``number``: jobs, payments, notes, invoices."""
    if not data.tenant.cache.enabled:
        return
    for root in info.selected_fields:
        for field in _fields(root.selections):
            arguments = dict(field.arguments or {})
            if field.name == "jobs" and (window := _window(arguments)):
                status = arguments.get("status")
                status = None if status is None else str(status)
                _started(data.customer_jobs(number, window[0], window[1], status))
            elif field.name == "payments" and (window := _window(arguments)):
                _started(data.payments(number, None, None, window[0], window[1]))
            elif field.name == "notes":
                _started(data.customer_notes(number))
            elif field.name == "invoices":
                _started(data.jobs_by_customer_number.get(number))
