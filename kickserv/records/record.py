"""Declaring a record: each field says once, beside its type, where in Kickserv's JSON it comes from.

    @record
    class Vendor(Entity):
        name: str = reads(Fields.required_str, "name")
        active: bool = reads(Fields.bool_or, True, "active")

``Vendor.from_json(data)`` reads the fields in their order, each by its reader: a ``Fields`` method
(or any function taking ``Fields`` first) and the arguments after it. mypy checks what the reader
answers against the field's type. ``read_json`` does that reader by reader; ``from_json`` is the
same reads compiled into one function per class (``kickserv.records.compiled``), which hands what
it does not take as it is (a variant, a wrong type) to ``read_json``. A record is a frozen, slotted dataclass; ``raw`` keeps every key
Kickserv sent. An ``Entity`` (every record Kickserv stores, as opposed to the glue it embeds) has
its ``id``, ``created_at``, ``updated_at`` and ``raw`` from there: they come first in its fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Concatenate, ParamSpec, Self, TypeVar, cast, dataclass_transform

from kickserv.records.compiled import compile_reader, compile_replace
from kickserv.records.fields import Fields

P = ParamSpec("P")
T = TypeVar("T")
R = TypeVar("R", bound="Record")

Reader = tuple[Callable[..., Any], tuple[Any, ...]]  # a function taking Fields first, its arguments
_READ = "kickserv.read"


def reads(read: Callable[Concatenate[Fields, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """A field of a record, read from its JSON by ``read(fields, *args, **kwargs)``."""
    reader: Reader = (partial(read, **kwargs) if kwargs else read, args)
    return cast(T, dataclasses.field(metadata={_READ: reader}))


def _raw(fields: Fields) -> Mapping[str, Any]:
    return fields.raw


def raw_json() -> Mapping[str, Any]:
    """A record's ``raw``: every key Kickserv sent (left out of repr and hash)."""
    reader: Reader = (_raw, ())
    return cast(
        "Mapping[str, Any]", dataclasses.field(repr=False, hash=False, metadata={_READ: reader})
    )


class Record:
    """What every record shares: ``from_json``."""

    __slots__ = ()
    # Glue may come as a bare id (``"children": [12, 13]``), read as ``{"id": 12}``.
    bare_id: ClassVar[bool] = False
    _readers: ClassVar[tuple[Reader, ...]] = ()  # one a field, in their order

    @classmethod
    def fields_of(cls, data: object) -> Fields:
        if cls.bare_id and isinstance(data, int | str) and not isinstance(data, bool):
            data = {"id": data}
        return Fields(data, cls.__name__)

    @classmethod
    def read_json(cls, data: object) -> Self:
        """The record read from ``data`` reader by reader (what ``from_json`` steps aside to)."""
        fields = cls.fields_of(data)
        make: Callable[..., Self] = cls
        return make(*[read(fields, *args) for read, args in cls._readers])

    @classmethod
    def from_json(cls, data: object) -> Self:
        return cls.read_json(data)  # compiled per class by ``record``

    @classmethod
    def reader(
        cls, parsers: Mapping[str, Callable[[object], Any]] | None = None, /, **constants: Any
    ) -> Callable[[object], Self]:
        """A ``from_json`` that does not read the fields named: each takes the value given (what a
        caller that drops them anyway spares: ``Invoice.reader(tasks=())`` parses no task).

        ``parsers`` read the records a field embeds (a field read by ``Fields.optional_object``,
        ``tuple_of`` or ``optional_tuple``) with another function than the field's own, e.g. a
        glue's reader that keeps no ``raw``."""
        chosen = dict(parsers or {})
        key = (cls, _key_of(constants), _key_of(chosen))
        found = _READERS.get(key)
        if found is None:
            names = tuple(f.name for f in dataclasses.fields(cast(Any, cls)))
            readers = tuple(
                _parsed_with(read, chosen.pop(name, None))
                for name, read in zip(names, cls._readers, strict=True)
            )
            if chosen:
                raise TypeError(f"{cls.__name__} has no field {sorted(chosen)[0]!r} to parse")

            def slow(data: object) -> Any:
                fields = cls.fields_of(data)
                values = [
                    constants[name] if name in constants else read(fields, *args)
                    for name, (read, args) in zip(names, readers, strict=True)
                ]
                return cls(*values)

            compiled = compile_reader(cls, names, readers, _raw, slow, constants)
            found = _READERS[key] = partial(compiled, cls)
        reader: Callable[[object], Self] = found
        return reader

    def replace(self, **changes: Any) -> Self:
        """A copy with the fields named changed (``dataclasses.replace``; compiled per class by
        ``record``, as fast as a field read per field)."""
        copy: Self = dataclasses.replace(cast(Any, self), **changes)
        return copy


_READERS: dict[tuple[Any, ...], Callable[[object], Any]] = {}
_NESTED = frozenset({Fields.optional_object, Fields.tuple_of, Fields.optional_tuple})


def _key_of(values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The values by name, as a key: each value itself, or its id when it is not hashable (the
    compiled reader keeps the value, so its id is not reused while the key is in use)."""
    return tuple(sorted((name, _hashable(value)) for name, value in values.items()))


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ("id", id(value))
    return value


def _parsed_with(reader: Reader, parse: Callable[[object], Any] | None) -> Reader:
    """``reader`` with the records it embeds read by ``parse`` (itself when ``parse`` is None)."""
    if parse is None:
        return reader
    read, args = reader
    if read not in _NESTED:
        raise TypeError(f"{getattr(read, '__name__', read)!r} reads no embedded record")
    return read, (args[0], parse)


@dataclass_transform(frozen_default=True, field_specifiers=(reads, raw_json))
def record(cls: type[R]) -> type[R]:
    """Makes ``cls`` a frozen, slotted dataclass whose ``from_json`` reads each field."""
    made = dataclasses.dataclass(frozen=True, slots=True)(cls)
    fields = dataclasses.fields(cast(Any, made))
    made._readers = tuple(f.metadata[_READ] for f in fields)
    names = tuple(f.name for f in fields)
    compiled = compile_reader(made, names, made._readers, _raw, made.read_json)
    setattr(made, "from_json", classmethod(compiled))  # noqa: B010 (a method replaced)
    setattr(made, "replace", compile_replace(made, names))  # noqa: B010
    _DECLARED.append(made)
    return made


_DECLARED: list[type[Record]] = []


def declared() -> tuple[type[Record], ...]:
    """Every record class ``record`` has made so far, in the order declared (a server's start
    compiles what each needs ahead of its first request: graph.server.serve)."""
    return tuple(_DECLARED)


@record
class Entity(Record):
    """What every record Kickserv stores carries: its global id, when it was created and last
    changed (either may be missing), and every key sent."""

    id: int = reads(Fields.required_int, "id")
    created_at: datetime | None = reads(Fields.created_at)
    updated_at: datetime | None = reads(Fields.updated_at)
    raw: Mapping[str, Any] = raw_json()
