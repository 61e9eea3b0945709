"""Listing entries kept as JSON bytes, so a page costs the sandbox little more than its envelope.

A listed shape (sandbox/shapes.py: a customer, a job, a task, an invoice, an opportunity) is built
by a pure function from its *key* alone: a flat tuple of the immutable values it shows, taken from
the record and from what it embeds (a task's job, customer, contact and employees). An entry
encoded once is served again while its record's key holds the very same objects, compared by
identity, not equality: a field set anew, even to an equal value, makes a new entry, so neither
``1`` and ``True`` nor one instant in two offsets can be confused. Whatever changes what an entry
shows (a write through the API, a test arranging records directly) changes its key, so nothing
needs invalidating and nothing can be served stale. Keys hold no mutable values (lists are spread
into them, a count first).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from operator import is_
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from sandbox.data import AccountStore

Key = tuple[Any, ...]
JsonObject = dict[str, Any]
MAX_KEPT = 500_000  # entries of one account; past it they are dropped and made anew

# What starlette's JSONResponse renders with, so a page assembled from kept entries is byte for
# byte the one JSONResponse would have rendered from the same objects.
encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class Record(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Record, contravariant=True)


class Fragments:
    """An account's encoded entries by (shape, record id), each with the key it was built from."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, int], tuple[Key, bytes]] = {}

    def encoded(self, kind: str, record_id: int, key: Key, build: Callable[[Key], Any]) -> bytes:
        kept = self._kept.get((kind, record_id))
        if kept is not None and len(kept[0]) == len(key) and all(map(is_, kept[0], key)):
            return kept[1]
        data = encode(build(key)).encode()
        if len(self._kept) >= MAX_KEPT:
            self._kept.clear()
        self._kept[(kind, record_id)] = (key, data)
        return data

    def __len__(self) -> int:
        return len(self._kept)


class Keyed(Generic[R]):
    """A shape as ``build(key(store, record))``: called, the JSON object; ``encoded``, its bytes,
    kept in the store's fragments."""

    def __init__(
        self,
        kind: str,
        key: Callable[[AccountStore, R], Key],
        build: Callable[[Key], JsonObject],
    ) -> None:
        self.kind, self.key, self.build = kind, key, build

    def __call__(self, store: AccountStore, record: R) -> JsonObject:
        return self.build(self.key(store, record))

    def encoded(self, store: AccountStore, record: R) -> bytes:
        return store.fragments.encoded(self.kind, record.id, self.key(store, record), self.build)
