"""Which fields a query selects on the object a resolver returns, for ``resolvers.relations`` to
pick the cheapest source (glue or full record)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql.pyutils import Path
from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection


def _names(selections: Iterable[Selection], into: set[str]) -> set[str]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            into.add(selection.name)
        elif isinstance(selection, FragmentSpread | InlineFragment):
            _names(selection.selections, into)
    return into


def _place(path: Path) -> tuple[str, ...]:
    """A field's place in the operation: its response path without list indices, each key with
    the type it is selected on. Every item of a list shares it, and one place is one set of
    field nodes (an alias names one field; ``_entities`` items differ by parent type)."""
    place: list[str] = []
    node: Path | None = path
    while node is not None:
        if isinstance(node.key, str):
            place.append(f"{node.typename}.{node.key}")
        node = node.prev
    return tuple(place)


def asked(info: Info[Any, Any]) -> frozenset[str]:
    """Names of the fields selected on the value this resolver returns (fragments flattened).

    A list resolves the same field once per item: the answer is remembered per request (in
    ``info.context.selections`` when the context has one), keyed by the field's place.
    """
    memo: dict[tuple[str, ...], frozenset[str]] | None = getattr(info.context, "selections", None)
    key = _place(info.path)
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
