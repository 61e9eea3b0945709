"""An LRU bounded in bytes as well as entries: what a client can grow is bounded by what it costs.

A count bound alone lets a few large values take all the memory (600 requests carrying ~950 KB
documents took a process from 58 to 1,212 MB through caches bounded at 1,024 and 10,000 entries).
Callers say what each value costs (its ``size``, in bytes, an estimate of what it keeps alive); a
value larger than a tenth of the budget is not kept at all, so one request cannot empty the cache.
"""

from __future__ import annotations

import dataclasses
import operator
import sys
import types
import typing
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, Generic, TypeVar

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


_ATOMS = frozenset({str, bytes, int, float, complex, bool, Decimal, date, timedelta})
_MOMENTS = (datetime, time)  # atoms too, with their time zone (one per offset parsed, mostly)


def deep_size(value: object) -> int:
    """An estimate of the bytes ``value`` keeps alive: ``sys.getsizeof`` of it and of everything it
    holds (slots, ``__dict__``, containers, mappings, a time's zone), each object counted once.

    For cached upstream records and pages (frozen slotted dataclasses over strings, numbers, dates,
    tuples and dicts): within 5% of what tracemalloc sees a parsed page keep (tested:
    tests/resolvers/test_sizes.py). Objects shared with other values (interned strings, small ints)
    are counted here too, so the estimate errs high; classes and functions are not walked.

    It runs on every cache write, over every record of a page. What is on the stack has been
    counted as seen already; an atom (a string, a number, a date) is counted where it is found,
    never pushed; a slotted object's slots are read in one call (``operator.attrgetter``). A
    slotted dataclass (a record, an address, a page) is counted by a function compiled for its
    class from its fields' types (``_typed``): the same count, each object once, without the
    walk's dispatch per object, and without ``sys.getsizeof`` where its answer is known (a kept
    page of 100 tasks: 16.4 M instructions walked, 9.0 M typed, callgrind, 2026-12-03; tested
    equal to the walk).
    """
    if value is None:
        return 0
    return _walk(value, set())


SAMPLE = 8  # items of a listing counted for its provisional size


def provisional_size(value: object, items: Sequence[object]) -> int:
    """What ``deep_size(value)`` is estimated at, erring high, from ``SAMPLE`` of its ``items`` (a
    listing's records, held by ``value``) spread evenly: everything ``value`` holds but the other
    items, counted as ``deep_size`` counts it, and each other item at the mean size sampled plus an
    eighth (what a sampled item shares with others counted in it). Records of a listing differ
    little: on the sandbox's pages of 100 (tasks, jobs, invoices, customers, payments; 3 seeds) it
    erred high by 3-22% (2026-12-03), at a tenth of the cost. A listing of up to twice ``SAMPLE``
    items is counted whole."""
    count = len(items)
    if count <= 2 * SAMPLE:
        return deep_size(value)
    chosen = {i * count // SAMPLE for i in range(SAMPLE)}
    seen = {id(item) for i, item in enumerate(items) if i not in chosen}
    sampled = sum(_walk(items[i], seen) for i in chosen)
    each = sampled / len(chosen)
    return _walk(value, seen) + sampled + int((count - len(chosen)) * (each + each / 8))


class Largest:
    """The largest exact size seen of each record class (a dataclass; not a page, a tuple
    or a list): a record of a class seen before is counted at that size and a quarter more until it
    is sized. A job's detail took 0.1 ms to size against 0.025 ms to parse (2026-12-04), and the
    receivables' 50 arrive together."""

    def __init__(self) -> None:
        self._by_class: dict[type, int] = {}

    def estimate(self, value: object) -> int | None:
        known = self._by_class.get(type(value))
        return None if known is None else known + known // 4

    def learn(self, value: object, size: int) -> None:
        kind = type(value)
        record = hasattr(kind, "__dataclass_fields__") and getattr(value, "items", None) is None
        if record and size > self._by_class.get(kind, 0):
            self._by_class[kind] = size


def listed(value: object) -> Sequence[object] | None:
    """The records of a listing (a page's ``items``, or a tuple or a list) when more than twice
    ``SAMPLE``: what ``provisional_size`` samples and ``Sizing`` counts a few at a time."""
    items = value if type(value) in (tuple, list) else getattr(value, "items", None)
    if type(items) is tuple or type(items) is list:
        return items if len(items) > 2 * SAMPLE else None
    return None


class Sizing:
    """``deep_size(value)`` counted a few of its ``items`` at a time (``step``), then the rest of
    ``value``: the same objects, each counted once, as one call counts (values are immutable)."""

    __slots__ = ("_items", "_next", "_seen", "_total", "_value")

    def __init__(self, value: object, items: Sequence[object]) -> None:
        self._value, self._items = value, items
        self._next = self._total = 0
        self._seen: set[int] = set()

    def step(self, most: int | None = None) -> int | None:
        """Count up to ``most`` more items (all if None); the whole size once every item is
        counted, else None."""
        items, seen = self._items, self._seen
        end = len(items) if most is None else min(len(items), self._next + most)
        total = self._total
        for i in range(self._next, end):
            total += _walk(items[i], seen)
        self._next, self._total = end, total
        if end < len(items):
            return None
        return total + _walk(self._value, seen)


def _walk(value: object, seen: set[int]) -> int:
    """``value`` and everything it holds, leaving out what is in ``seen`` (and adding to it)."""
    if id(value) in seen:
        return 0
    seen.add(id(value))
    seen_add = seen.add
    total = 0
    stack: list[object] = [value]
    pop, push = stack.pop, stack.append
    getsizeof = sys.getsizeof
    typed = _TYPED
    while stack:
        item = pop()
        kind = type(item)
        held: Iterable[object]
        if kind is tuple or kind is list:
            held = item  # type: ignore[assignment]
        elif kind is dict:
            held = [*item.keys(), *item.values()]  # type: ignore[attr-defined]
        elif kind in _ATOMS:
            total += getsizeof(item)
            continue
        elif kind in _MOMENTS:
            total += getsizeof(item) + _zone(item.tzinfo, seen)  # type: ignore[attr-defined]
            continue
        else:
            count = typed[kind] if kind in typed else _typed(kind)  # _count_of, inlined
            if count is not None:
                total += count(item, seen)
                continue
            held = (_HOLDS.get(kind) or _holds(kind))(item)
        total += getsizeof(item)
        for child in held:
            if child is None:
                continue
            ident = id(child)
            if ident in seen:
                continue
            seen_add(ident)
            kind = type(child)
            if kind in _ATOMS:
                total += getsizeof(child)
            elif kind is datetime:
                total += getsizeof(child)
                zone = child.tzinfo  # type: ignore[attr-defined]
                if zone is not None and zone is not UTC and id(zone) not in seen:
                    total += _zone(zone, seen)
            elif kind is time:
                total += getsizeof(child) + _zone(child.tzinfo, seen)  # type: ignore[attr-defined]
            else:
                push(child)
    return total


# -- records counted by their fields' types ----------------------------------------------------------

Count = Callable[[object, set[int]], int]
_TYPED: dict[type, Count | None] = {}
_ATOMIC = (str, int, float, bool, Decimal, date)  # atoms a typed field may hold

# What sys.getsizeof answers, without its call (it parses its arguments by keyword: a third of a
# typed count): an ASCII string's size is the empty one's plus its length, an int's is set by its
# digits (its bit length), a tuple's by its length; floats, booleans, dates and times have one.
# Tested equal to sys.getsizeof (tests/resolvers/test_sizes.py).
_SIZES: dict[str, Any] = {
    "STR": sys.getsizeof(""),
    "INTS": tuple(sys.getsizeof((1 << bits) - 1) for bits in range(65)),
    "TUPLE": sys.getsizeof(()),
    "ITEM": sys.getsizeof((None,)) - sys.getsizeof(()),
}
_SIZE_OF = {
    str: "(STR + len({v}) if {v}.isascii() else gs({v}))",
    int: "(INTS[b] if (b := {v}.bit_length()) < 65 else gs({v}))",
}
for _kind, _example in ((float, 0.5), (bool, True), (date, date(2026, 1, 1))):
    _SIZES[_kind.__name__.upper()] = sys.getsizeof(_example)
    _SIZE_OF[_kind] = _kind.__name__.upper()
_SIZES["DATETIME"] = sys.getsizeof(datetime(2026, 1, 1))
_OFFSET = timezone(timedelta(hours=-5))  # any fixed offset's zone: its size and its offset's
_SIZES["ZONE"] = sys.getsizeof(_OFFSET) + sys.getsizeof(_OFFSET.utcoffset(None))


def _typed(kind: type) -> Count | None:
    """The count of an instance of ``kind`` and what it holds that is not in ``seen`` (the
    instance itself already in it): ``_walk``'s own count unrolled for the class from its fields'
    types, so it answers what the walk would. None for a class that is not a slotted dataclass
    whose field types resolve. A value of another type than its field's is walked."""
    _TYPED[kind] = None  # while compiling: a class that holds itself is walked
    try:
        hints = typing.get_type_hints(kind)
    except Exception:
        return None
    if not dataclasses.is_dataclass(kind):
        return None
    names, _getter, has_dict = _LAYOUT.get(kind) or _layout(kind)
    if has_dict or not names or any(f.name not in names for f in dataclasses.fields(kind)):
        return None
    namespace: dict[str, Any] = {"gs": sys.getsizeof, "walk": _walk, "zone": _zone, **_SIZES}
    namespace.update(datetime=datetime, timezone=timezone, UTC=UTC)
    namespace["SELF"] = sys.getsizeof(object.__new__(kind))
    lines = ["t = SELF"]
    for i, name in enumerate(names):
        lines += [f"v = o.{name}", *_count_field(hints.get(name), i, namespace)]
    lines.append("return t")
    source = "def count(o, seen):\n" + "\n".join("    " + line for line in lines)
    exec(compile(source, f"<size of {kind.__qualname__}>", "exec"), namespace)
    count: Count = namespace["count"]
    _TYPED[kind] = count
    return count


def _count_of(kind: type) -> Count | None:
    return _TYPED[kind] if kind in _TYPED else _typed(kind)


def _count_field(hint: object, i: int, namespace: dict[str, Any]) -> list[str]:
    """Lines adding to ``t`` what ``v`` (a field of type ``hint``) holds."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    kinds = [o for o in options if o is not type(None)]
    kind = kinds[0] if len(kinds) == 1 else None
    other = ["elif v is not None:", "    t += walk(v, seen)"]
    if kind in _ATOMIC or kind is datetime:
        namespace[f"k{i}"] = kind
        return [f"if type(v) is k{i}:", *_indent(_atom("v", kind)), *other]
    if typing.get_origin(kind) is tuple and typing.get_args(kind)[1:] == (Ellipsis,):
        item = typing.get_args(kind)[0]
        if item in _ATOMIC:
            namespace[f"k{i}"] = item
            each = [f"if type(e) is k{i}:", *_indent(_atom("e", item)), "elif e is not None:",
                    "    t += walk(e, seen)"]  # fmt: skip
        elif isinstance(item, type) and _count_of(item) is not None:
            namespace[f"k{i}"], namespace[f"c{i}"] = item, _TYPED[item]
            each = [f"if type(e) is k{i}:", *_indent(_held("e", f"c{i}")), "elif e is not None:",
                    "    t += walk(e, seen)"]  # fmt: skip
        else:
            each = ["t += walk(e, seen)"]
        held = ["seen.add(id(v))", "t += TUPLE + ITEM * len(v)", "for e in v:", *_indent(each)]
        return ["if type(v) is tuple:", "    if id(v) not in seen:", *_indent(held, 2), *other]
    if isinstance(kind, type) and _count_of(kind) is not None:
        namespace[f"k{i}"], namespace[f"c{i}"] = kind, _TYPED[kind]
        return [f"if type(v) is k{i}:", *_indent(_held("v", f"c{i}")), *other]
    return ["if v is not None and id(v) not in seen:", "    t += walk(v, seen)"]


def _atom(v: str, kind: type) -> list[str]:
    """Count the atom ``v`` of type ``kind`` once (a datetime with its zone)."""
    if kind is datetime:
        zone = ["if type(z) is timezone:", "    if id(z) not in seen:", "        seen.add(id(z))",
                "        t += ZONE", "else:", "    t += zone(z, seen)"]  # fmt: skip
        return [f"if id({v}) not in seen:", f"    seen.add(id({v}))", "    t += DATETIME",
                f"    z = {v}.tzinfo", "    if z is not None and z is not UTC:", *_indent(zone, 2)]  # fmt: skip
    size = _SIZE_OF.get(kind, "gs({v})").format(v=v)
    return [f"if id({v}) not in seen:", f"    seen.add(id({v}))", f"    t += {size}"]


def _held(v: str, count: str) -> list[str]:
    """Count the record ``v`` of a typed class once."""
    return [f"if id({v}) not in seen:", f"    seen.add(id({v}))", f"    t += {count}({v}, seen)"]


def _indent(lines: list[str], levels: int = 1) -> list[str]:
    return [" " * 4 * levels + line for line in lines]


def _mapping_holds(item: object) -> list[object]:
    mapping: Mapping[object, object] = item  # type: ignore[assignment]
    return [*mapping.keys(), *mapping.values()]


def _holds_itself(item: object) -> Iterable[object]:
    return item  # type: ignore[return-value]


def _holds_nothing(_item: object) -> tuple[()]:
    return ()


_HOLDS: dict[type, Callable[[object], Iterable[object]]] = {}


def _holds(kind: type) -> Callable[[object], Iterable[object]]:
    """How to find what an instance of ``kind`` holds (worked out once per type: an ABC's
    ``isinstance`` costs more than the rest of an object's walk)."""
    if issubclass(kind, Mapping):
        found: Callable[[object], Iterable[object]] = _mapping_holds
    elif issubclass(kind, (tuple, list, set, frozenset)):
        found = _holds_itself
    elif issubclass(kind, type) or any("__call__" in cls.__dict__ for cls in kind.__mro__):
        found = _holds_nothing  # classes and functions are not walked
    else:
        found = _attributes
    _HOLDS[kind] = found
    return found


def _zone(zone: tzinfo | None, seen: set[int]) -> int:
    """A time's zone (and the offset it holds), unless counted already or shared by all (UTC)."""
    if zone is None or zone is UTC or id(zone) in seen:
        return 0
    seen.add(id(zone))
    return sys.getsizeof(zone) + sys.getsizeof(zone.utcoffset(None))


_ABSENT = object()
_LAYOUT: dict[type, tuple[tuple[str, ...], Callable[[object], Any] | None, bool]] = {}


def _layout(kind: type) -> tuple[tuple[str, ...], Callable[[object], Any] | None, bool]:
    """The slot names of ``kind`` (its whole MRO), a getter of them all at once (None for fewer
    than two), and whether its instances have a ``__dict__``."""
    names = tuple(
        name
        for cls in kind.__mro__
        for name in cls.__dict__.get("__slots__", ())
        if name not in ("__dict__", "__weakref__")
    )
    has_dict = hasattr(kind, "__dictoffset__") and kind.__dictoffset__ != 0
    getter = operator.attrgetter(*names) if len(names) > 1 else None
    found = _LAYOUT[kind] = (names, getter, has_dict)
    return found


def _attributes(item: object) -> Iterable[object]:
    names, getter, has_dict = _LAYOUT.get(type(item)) or _layout(type(item))
    if getter is not None and not has_dict:
        try:
            held: tuple[object, ...] = getter(item)
            return held  # every slot set: a record's case
        except AttributeError:
            pass
    found = [value for name in names if (value := getattr(item, name, _ABSENT)) is not _ABSENT]
    if has_dict:
        attributes = getattr(item, "__dict__", None)
        if isinstance(attributes, dict):
            found.append(attributes)
    return found


def prepare(classes: Iterable[type]) -> None:
    """Compile now the typed counts of ``classes`` (and of the classes their fields hold), which
    ``deep_size`` otherwise compiles on the first value of each it meets: a server's start calls it
    (graph.server.serve), so its first request does not pay it."""
    for kind in classes:
        _count_of(kind)
