"""Each record's ``from_json``, compiled from its readers: one function per class, no call per field.

``Record.from_json`` reads a record field by field, each through a ``Fields`` method that finds the
key, checks the type and converts it: ~40-60 µs a task, most of a cold request's CPU when it reads
the ~2,900 tasks of ``/tasks.json`` (2026-12-03). The compiled function does the same reads inline
for the values Kickserv sends as documented (an int where an id is, a string where a name is, an
ISO string where a time is), and hands the record to the reader-by-reader ``from_json`` (its
``slow`` path) at the first value it does not take as it is: a variant (an id as a string, money
with a ``$``, ``""`` for a missing value) or a wrong type. So the answer, and the error, are the
slow path's whenever the fast one steps aside, and its own answers are the same values the slow
path would give: every fast path below takes only values whose conversion both agree on.

Readers it does not know (functions of a record's module) are called as they are, with the record's
``Fields``, unless the module taught it their fast path (``fast``: ``Address.from_prefix``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kickserv.records.fields import Fields

Reader = tuple[Callable[..., Any], tuple[Any, ...]]


def _lookup(target: str, keys: tuple[str, ...]) -> list[str]:
    """``target`` = the value of the first of ``keys`` present and not null (else None)."""
    lines = [f"{target} = get({keys[0]!r})"]
    for key in keys[1:]:
        lines.append(f"if {target} is None: {target} = get({key!r})")
    return lines


def _typed(kind: str, *, required: bool) -> Callable[[str, tuple[Any, ...]], list[str]]:
    def emit(x: str, keys: tuple[Any, ...]) -> list[str]:
        check = f"type({x}) is not {kind}"
        return [*_lookup(x, keys), f"if {check if required else f'{x} is not None and ' + check}:"]

    return emit


def _with_default(kind: str) -> Callable[[str, tuple[Any, ...]], list[str]]:
    def emit(x: str, args: tuple[Any, ...]) -> list[str]:
        default, keys = args[0], args[1:]
        return [
            *_lookup(x, keys),
            f"if {x} is None: {x} = {default!r}",
            f"elif type({x}) is not {kind}:",
        ]

    return emit


def _moment(parse: str, refused: str, wrong: str) -> Callable[[str, tuple[Any, ...]], list[str]]:
    """A date or time parsed by ``parse`` from a string, unless ``refused`` before or ``wrong``
    after (conditions on ``{x}``). fromisoformat takes no surrounding blanks: a blank steps aside
    to the slow path, which strips."""

    def emit(x: str, keys: tuple[Any, ...]) -> list[str]:
        return [
            *_lookup(x, keys),
            f"if {x} is not None:",
            f"    if {refused.format(x=x)}: return slow(data)",
            f"    try: {x} = {parse}({x})",
            "    except ValueError: return slow(data)",
            f"    if {wrong.format(x=x)}:",
        ]

    return emit


_datetime = _moment("datetime_iso", "type({x}) is not str", "{x}.tzinfo is None")
_date = _moment("date_iso", "type({x}) is not str or len({x}) != 10", "False")


def _decimal(*, required: bool) -> Callable[[str, tuple[Any, ...]], list[str]]:
    # Decimal() reads a string the slow path reads the same (it strips blanks itself; a "," or "$"
    # the slow path removes makes Decimal fail here: slow path); an int exactly.
    def emit(x: str, keys: tuple[Any, ...]) -> list[str]:
        return [
            *_lookup(x, keys),
            f"if type({x}) is str:",
            f"    try: {x} = decimal({x})",
            "    except InvalidOperation: return slow(data)",
            f"    if not {x}.is_finite(): return slow(data)",
            f"elif type({x}) is int: {x} = decimal({x})",
            f"elif {'True' if required else f'{x} is not None'}:",
        ]

    return emit


def _object(x: str, args: tuple[Any, ...]) -> list[str]:
    key, _parse = args
    return [f"{x} = get({key!r})", f"if {x} is not None: {x} = {{parse}}({x})", "if False:"]


def _tuple(empty: str) -> Callable[[str, tuple[Any, ...]], list[str]]:
    def emit(x: str, args: tuple[Any, ...]) -> list[str]:
        key, _parse = args
        return [
            f"{x} = get({key!r})",
            f"if {x} is None: {x} = {empty}",
            f"elif type({x}) is list: {x} = tuple(map({{parse}}, {x}))",
            "else:",
        ]

    return emit


def _int_tuple(x: str, args: tuple[Any, ...]) -> list[str]:
    (key,) = args
    return [
        f"{x} = get({key!r})",
        f"if {x} is None: {x} = ()",
        f"elif type({x}) is list and all(type(i) is int for i in {x}): {x} = tuple({x})",
        "else:",
    ]


def _id_or_glue(x: str, args: tuple[Any, ...]) -> list[str]:
    key, glue, _id_of = args
    return [
        f"{x} = get({key!r})",
        f"if type({x}) is int: pass",
        f"elif {x} is None and get({glue!r}) is None: pass",
        "else:",
    ]


def _ids_or_glue(x: str, args: tuple[Any, ...]) -> list[str]:
    key, glue, _id_of = args
    return [
        f"{x} = get({key!r})",
        f"if type({x}) is list and {x} and all(type(i) is int for i in {x}): {x} = tuple({x})",
        f"elif ({x} is None or {x} == []) and get({glue!r}) in (None, []): {x} = ()",
        "else:",
    ]


def _raw(x: str, _args: tuple[Any, ...]) -> list[str]:
    return [f"{x} = dict(data)", "if False:"]


# Each known reader: the lines that set the field's variable; the last opens a block (an `if`) that
# runs when the value is not one the fast path takes, and whose body sends it to the slow path.
Emitter = Callable[[str, tuple[Any, ...]], list[str]]
_FAST: dict[Callable[..., Any], Emitter] = {
    Fields.required_int: _typed("int", required=True),
    Fields.optional_int: _typed("int", required=False),
    Fields.required_str: _typed("str", required=True),
    Fields.optional_str: _typed("str", required=False),
    Fields.optional_bool: _typed("bool", required=False),
    Fields.str_or: _with_default("str"),
    Fields.bool_or: _with_default("bool"),
    Fields.optional_datetime: _datetime,
    Fields.created_at: lambda x, _a: _datetime(x, ("created_at", "created_on")),
    Fields.updated_at: lambda x, _a: _datetime(x, ("updated_at", "updated_on")),
    Fields.optional_date: _date,
    Fields.required_decimal: _decimal(required=True),
    Fields.optional_decimal: _decimal(required=False),
    Fields.optional_object: _object,
    Fields.optional_tuple: _tuple("None"),
    Fields.tuple_of: _tuple("()"),
    Fields.int_tuple: _int_tuple,
    Fields.id_or_glue: _id_or_glue,
    Fields.ids_or_glue: _ids_or_glue,
}
_NAMES: dict[str, Any] = {}  # what the lines of readers taught by ``fast`` name


def fast(read: Callable[..., Any], emit: Emitter, **names: Any) -> None:
    """Teach the compiled readers a fast path for ``read`` (a reader a record module defines, such
    as ``Address.from_prefix``): ``emit`` gives its lines as the ones above do, and ``names`` are
    what those lines name. Before the first record that reads with ``read`` is declared."""
    _FAST[read] = emit
    _NAMES.update(names)


def compile_reader(
    cls: type,
    names: tuple[str, ...],
    readers: tuple[Reader, ...],
    raw_reader: Callable[..., Any],
    slow: Callable[[object], Any],
    constants: Mapping[str, Any] | None = None,
) -> Callable[[type, object], Any]:
    """``cls``'s ``from_json`` (a classmethod's function) over a dict, its fields set in order;
    ``slow(data)`` (``cls.read_json``) for anything else, and from the first value it steps aside
    from; a subclass's ``read_json``. The fields named in ``constants`` are not read: they take
    the value given."""
    constants = constants or {}
    namespace: dict[str, Any] = {
        "slow": slow,
        "Fields": Fields,
        "new": object.__new__,
        "cls": cls,
        "datetime_iso": datetime.fromisoformat,
        "date_iso": date.fromisoformat,
        "decimal": Decimal,
        "InvalidOperation": InvalidOperation,
        **_NAMES,
    }
    body = [
        "if klass is not cls: return klass.read_json(data)",
        "if type(data) is not dict: return slow(data)",
        "get = data.get",
    ]
    read_here = [(n, r) for n, r in zip(names, readers, strict=True) if n not in constants]
    if any(read not in _FAST and read is not raw_reader for _, (read, _a) in read_here):
        body.append(f"fields = Fields(data, {cls.__name__!r})")
    for i, (name, (read, args)) in enumerate(zip(names, readers, strict=True)):
        x = f"x{i}"
        if name in constants:
            namespace[f"constant{i}"] = constants[name]
            lines = [f"{x} = constant{i}", "if False:"]
        elif read is raw_reader:
            lines = _raw(x, args)
        elif read in _FAST:
            lines = _FAST[read](x, args)
            if read in (Fields.optional_object, Fields.optional_tuple, Fields.tuple_of):
                namespace[f"parse{i}"] = args[1]
                lines = [line.replace("{parse}", f"parse{i}") for line in lines]
        else:
            namespace[f"read{i}"], namespace[f"args{i}"] = read, args
            lines = [f"{x} = read{i}(fields, *args{i})", "if False:"]
        body.extend(lines)
        last = lines[-1]
        body.append(" " * (len(last) - len(last.lstrip()) + 4) + "return slow(data)")
    body.append("record = new(cls)")
    for i, name in enumerate(names):
        namespace[f"set{i}"] = _slot(cls, name).__set__
        body.append(f"set{i}(record, x{i})")
    body.append("return record")
    source = "def from_json(klass, data):\n" + "\n".join("    " + line for line in body)
    exec(compile(source, f"<from_json of {cls.__qualname__}>", "exec"), namespace)
    compiled: Callable[[type, object], Any] = namespace["from_json"]
    return compiled


def compile_replace(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """``cls``'s ``replace``: a copy of a record with the fields named in keywords changed (what
    ``dataclasses.replace`` does, without its checks per call: a fifth of its time)."""
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "KEEP": _KEEP}
    params = ", ".join(f"{name}=KEEP" for name in names)
    body = ["if type(self) is not cls: raise TypeError('replace a record of its own class')"]
    body.append("copy = new(cls)")
    for i, name in enumerate(names):
        namespace[f"set{i}"] = _slot(cls, name).__set__
        body.append(f"set{i}(copy, self.{name} if {name} is KEEP else {name})")
    body.append("return copy")
    source = f"def replace(self, *, {params}):\n" + "\n".join("    " + line for line in body)
    exec(compile(source, f"<replace of {cls.__qualname__}>", "exec"), namespace)
    compiled: Callable[..., Any] = namespace["replace"]
    return compiled


_KEEP = object()


def _slot(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        if name in klass.__dict__.get("__slots__", ()):
            return klass.__dict__[name]
    raise TypeError(f"{cls.__name__}.{name} is not a slot")  # pragma: no cover
