"""Which fields a query asks of an object, so a resolver can pick the cheapest source.

Kickserv embeds small "glue" records (a task's customer, an invoice's customer, a task's employees). When
the query only asks what the glue carries, fetching the full record would be a wasted upstream call.
"""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _names(selections: Iterable[Selection], into: set[str]) -> set[str]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            into.add(selection.name)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            _names(selection.selections, into)
    return into


def requested_fields(info: Info) -> frozenset[str]:
    """Names of the fields selected on the value this resolver returns (fragments flattened).

    A list resolves the same field node once per item: the answer is remembered per request (in
    ``info.context.selections`` when the context has one), keyed by the field nodes' identity.
    """
    memo: dict[tuple[int, ...], frozenset[str]] | None = getattr(info.context, "selections", None)
    key = tuple(map(id, info._raw_info.field_nodes))
    if memo is not None:
        known = memo.get(key)
        if known is not None:
            return known
    names: set[str] = set()
    for field in info.selected_fields:
        _names(field.selections, names)
    answer = frozenset(names)
    if memo is not None:
        memo[key] = answer
    return answer


def only_asks_for(info: Info, available: frozenset[str]) -> bool:
    """True when every field selected on the returned value is in ``available``."""
    return requested_fields(info) <= available
