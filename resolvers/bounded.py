"""An LRU bounded in bytes as well as entries: what a client can grow is bounded by what it costs.

A count bound alone lets a few large values take all the memory (600 requests carrying ~950 KB
documents took a process from 58 to 1,212 MB through caches bounded at 1,024 and 10,000 entries).
Callers say what each value costs (its ``size``, in bytes, an estimate of what it keeps alive); a
value larger than a tenth of the budget is not kept at all, so one request cannot empty the cache.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

LARGEST_SHARE = 10  # a value may take at most 1/LARGEST_SHARE of the budget


class BytesLRU(Generic[K, V]):
    def __init__(self, max_bytes: int, max_entries: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, size: int) -> bool:
        """Keep ``value`` (costing ``size`` bytes); False when it is too large to keep."""
        self.pop(key)
        if size > self.max_bytes // LARGEST_SHARE:
            return False
        self._entries[key] = (value, size)
        self.bytes += size
        while self.bytes > self.max_bytes or (
            self.max_entries is not None and len(self._entries) > self.max_entries
        ):
            _, (_, gone) = self._entries.popitem(last=False)
            self.bytes -= gone
        return True

    def pop(self, key: K) -> V | None:
        found = self._entries.pop(key, None)
        if found is None:
            return None
        self.bytes -= found[1]
        return found[0]

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


_ATOMS = frozenset(
    {str, bytes, int, float, complex, bool, Decimal, date, time, datetime, timedelta}
)


def deep_size(value: object) -> int:
    """An estimate of the bytes ``value`` keeps alive: ``sys.getsizeof`` of it and of everything it
    holds (slots, ``__dict__``, containers, mappings), each object counted once.

    For cached upstream records and pages (frozen slotted dataclasses over strings, numbers, dates,
    tuples and dicts): within 5% of what tracemalloc sees a parsed page keep. Objects shared with
    other values (interned strings, small ints) are counted here too, so the estimate errs high;
    classes and functions are not walked.

    It runs on every cache write, over every record of a page: the exact types that records are
    made of are tested first (``type(x) is dict``), before any ``isinstance`` against an ABC.
    """
    seen: set[int] = set()
    seen_add = seen.add
    total = 0
    stack: list[object] = [value]
    pop, extend = stack.pop, stack.extend
    getsizeof = sys.getsizeof
    while stack:
        item = pop()
        if item is None:
            continue
        ident = id(item)
        if ident in seen:
            continue
        seen_add(ident)
        total += getsizeof(item)
        kind = type(item)
        if kind in _ATOMS:
            continue
        if kind is tuple or kind is list:
            extend(item)  # type: ignore[arg-type]
        elif kind is dict:
            extend(item.keys())  # type: ignore[attr-defined]
            extend(item.values())  # type: ignore[attr-defined]
        elif isinstance(item, Mapping):
            extend(item.keys())
            extend(item.values())
        elif isinstance(item, (tuple, list, set, frozenset)):
            extend(item)
        elif not isinstance(item, type) and not callable(item):
            extend(_attributes(item))
    return total


_ABSENT = object()
_LAYOUT: dict[type, tuple[tuple[str, ...], bool]] = {}


def _layout(kind: type) -> tuple[tuple[str, ...], bool]:
    """The slot names of ``kind`` (its whole MRO) and whether its instances have a ``__dict__``."""
    names = tuple(
        name
        for cls in kind.__mro__
        for name in cls.__dict__.get("__slots__", ())
        if name not in ("__dict__", "__weakref__")
    )
    found = _LAYOUT[kind] = (names, hasattr(kind, "__dictoffset__") and kind.__dictoffset__ != 0)
    return found


def _attributes(item: object) -> list[object]:
    names, has_dict = _LAYOUT.get(type(item)) or _layout(type(item))
    held = [found for name in names if (found := getattr(item, name, _ABSENT)) is not _ABSENT]
    if has_dict:
        attributes = getattr(item, "__dict__", None)
        if isinstance(attributes, dict):
            held.append(attributes)
    return held
