"""Relay connections: ``edges { cursor node }``, ``nodes``, ``pageInfo`` and ``totalCount``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from graph.schema.errors import BadUserInput
from resolvers.connections import BadCursor, decode_cursor, encode_cursor
from resolvers.tenant import Window

N = TypeVar("N")
R = TypeVar("R")

MAX_FIRST = 100  # the cap on `first`; the limits module reads it too


@strawberry.type(description="Where a page of a connection sits in the whole list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items come before this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of this page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of this page; pass it as `after` for the next page."
    )


@strawberry.type(description="One item of a connection with its cursor.")
class Edge(Generic[N]):
    cursor: str = strawberry.field(description="Opaque position of this item, for `after`.")
    node: N = strawberry.field(description="The item.")


def _edges(self: Connection[N], info: Info[Any, Any]) -> list[Edge[N]]:
    offset = self._offset
    return [Edge(cursor=encode_cursor(offset + i), node=n) for i, n in enumerate(self.nodes)]


def _page_info(self: Connection[Any], info: Info[Any, Any]) -> PageInfo:
    offset, count = self._offset, len(self.nodes)
    return PageInfo(
        has_next_page=offset + count < self.total_count,
        has_previous_page=offset > 0,
        start_cursor=encode_cursor(offset) if count else None,
        end_cursor=encode_cursor(offset + count - 1) if count else None,
    )


@strawberry.type(description="A page of a list Kickserv serves in pages.")
class Connection(Generic[N]):
    """``nodes`` and ``totalCount`` as they are; ``edges`` and ``pageInfo`` (a cursor per node)
    made only when a query asks for them, from where the page starts."""

    edges: list[Edge[N]] = strawberry.field(
        resolver=_edges, description="The items of this page with their cursors."
    )
    nodes: list[N] = strawberry.field(description="The items of this page, without cursors.")
    page_info: PageInfo = strawberry.field(
        resolver=_page_info, description="Where this page sits in the whole list."
    )
    total_count: int = strawberry.field(description="How many items the whole list has.")
    _offset: strawberry.Private[int]


@strawberry.type(description="A page of invoices, with what is owed across all matching invoices.")
class InvoiceConnection(Connection[N]):
    total_balance_remaining: Decimal | None = strawberry.field(
        description="What is still owed across every invoice matching the filter, not just this page."
    )


def window_args(first: int, after: str | None) -> tuple[int, int]:
    """(offset, first) from Relay arguments, with clear errors for bad values."""
    if first < 0:
        raise BadUserInput("`first` must be zero or more.", extensions={"argument": "first"})
    if first > MAX_FIRST:
        raise BadUserInput(
            f"`first` may be at most {MAX_FIRST}; page with `after` for more.",
            extensions={"argument": "first", "max": MAX_FIRST},
        )
    offset = 0
    if after is not None:
        try:
            offset = decode_cursor(after) + 1
        except BadCursor as exc:
            raise BadUserInput(str(exc), extensions={"argument": "after"}) from exc
    return offset, first


# A connection's fields that let a client continue from this page, and their subfields that do.
CONTINUE = {"pageInfo": frozenset({"hasNextPage", "endCursor"}), "edges": frozenset({"cursor"})}


def flattened(selections: Iterable[Selection], *, directed: bool = True) -> Iterator[SelectedField]:
    """The fields of ``selections``, fragments flattened; ``directed=False`` leaves out every field
    and fragment that carries a directive (a ``@skip`` or ``@include`` may leave it out)."""
    for selection in selections:
        if not directed and selection.directives:
            continue
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from flattened(selection.selections, directed=directed)


def follows_cursors(info: Info[Any, Any]) -> bool:
    """The connection this resolver returns is asked for what a client continues with
    (``pageInfo { hasNextPage endCursor }`` or ``edges { cursor }``): it can ask for the next
    page, so reading it ahead may serve it (``resolvers.read_ahead``)."""
    for connection in info.selected_fields:
        for field in flattened(connection.selections):
            wanted = CONTINUE.get(field.name)
            if wanted and any(leaf.name in wanted for leaf in flattened(field.selections)):
                return True
    return False


def connection(window: Window[R], convert: Callable[[R], N]) -> Connection[N]:
    nodes = [convert(item) for item in window.items]
    return Connection(nodes=nodes, total_count=window.total, _offset=window.offset)


IC = TypeVar("IC", bound="InvoiceConnection[Any]")


def invoice_connection(window: Window[R], convert: Callable[[R], N], kind: type[IC]) -> IC:
    """``kind`` is a concrete subclass (e.g. ``InvoiceConnection[Invoice]`` named
    "InvoiceConnection"): Strawberry would name the bare specialisation "InvoiceInvoiceConnection"."""
    balance = window.extra.get("total_balance_remaining")
    return kind(
        nodes=[convert(item) for item in window.items],
        total_count=window.total,
        _offset=window.offset,
        total_balance_remaining=balance if isinstance(balance, Decimal) else None,
    )


__all__: Sequence[str] = (
    "MAX_FIRST",
    "Connection",
    "Edge",
    "InvoiceConnection",
    "PageInfo",
    "connection",
    "flattened",
    "follows_cursors",
    "invoice_connection",
    "window_args",
)
