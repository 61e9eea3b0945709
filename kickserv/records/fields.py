"""Reading one JSON object into typed values, tolerant of Kickserv's plausible variants.

Every reader takes alternative keys (``"created_at", "created_on"``): the first one present and not
null wins. Wrong types raise `ResponseShape` naming the record and key, never KeyError/TypeError.
Variants accepted on purpose: money as string or number, ids as strings of digits, "" for a missing
optional value, booleans as 0/1 or "true"/"false".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from kickserv.errors import ResponseShape

T = TypeVar("T")

_DIGITS = re.compile(r"-?\d+")
_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


def describe(value: object) -> str:
    """A short, safe description of a JSON value for error messages."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


class Fields:
    """Typed access to one JSON object of a record named `record` (used in messages)."""

    __slots__ = ("_data", "record")

    def __init__(self, data: object, record: str) -> None:
        if not isinstance(data, Mapping):
            raise ResponseShape(f"{record} should be a JSON object, got {describe(data)}.")
        self._data: Mapping[str, Any] = data
        self.record = record

    @property
    def raw(self) -> dict[str, Any]:
        """Every key Kickserv sent, copied so later mutation of the body cannot reach the record."""
        return dict(self._data)

    def has(self, key: str) -> bool:
        return key in self._data

    def value(self, key: str) -> Any:
        """The value sent under ``key`` as it is (None when absent): for readers with a fast path
        of their own, which hand any other value to the typed readers below."""
        return self._data.get(key)

    def _find(self, keys: tuple[str, ...]) -> tuple[str, Any]:
        for key in keys:
            value = self._data.get(key)
            if value is not None:
                return key, value
        return keys[0], None

    def _wrong(self, key: str, expected: str, value: object) -> ResponseShape:
        return ResponseShape(f"{self.record}.{key} should be {expected}, got {describe(value)}.")

    def _missing(self, keys: tuple[str, ...], expected: str) -> ResponseShape:
        names = " or ".join(repr(k) for k in keys)
        return ResponseShape(f"{self.record} is missing {names} ({expected}).")

    def _required(
        self, keys: tuple[str, ...], expected: str, convert: Callable[[str, Any], T]
    ) -> T:
        key, value = self._find(keys)
        if value is None or value == "":
            raise self._missing(keys, expected)
        return convert(key, value)

    def _optional(self, keys: tuple[str, ...], convert: Callable[[str, Any], T | None]) -> T | None:
        key, value = self._find(keys)
        if value is None or value == "":
            return None
        return convert(key, value)

    # integers -----------------------------------------------------------------------------
    def _to_int(self, key: str, value: Any) -> int:
        if isinstance(value, bool):
            raise self._wrong(key, "an integer", value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise self._wrong(key, "an integer", value)

    def required_int(self, *keys: str) -> int:
        return self._required(keys, "an integer", self._to_int)

    def optional_int(self, *keys: str) -> int | None:
        return self._optional(keys, self._to_int)

    def id_or_glue(self, key: str, glue: str, id_of: Callable[[object], int]) -> int | None:
        """The id under ``key``, or the id of the glue record under ``glue`` when only that was
        sent (``id_of`` reads it)."""
        found = self.optional_int(key)
        return found if found is not None else self.optional_object(glue, id_of)

    def ids_or_glue(self, key: str, glue: str, id_of: Callable[[object], int]) -> tuple[int, ...]:
        """The ids listed under ``key``, or the ids of the glue records under ``glue`` when none
        are."""
        return self.int_tuple(key) or self.tuple_of(glue, id_of)

    def int_tuple(self, key: str) -> tuple[int, ...]:
        """A list of ids; absent or null is empty."""
        value = self._data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._wrong(key, "a list of integers", value)
        return tuple(self._to_int(f"{key}[{i}]", item) for i, item in enumerate(value))

    # strings ------------------------------------------------------------------------------
    def _to_str(self, key: str, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise self._wrong(key, "a string", value)

    def required_str(self, *keys: str) -> str:
        key, value = self._find(keys)
        if value is None:
            raise self._missing(keys, "a string")
        return self._to_str(key, value)

    def optional_str(self, *keys: str) -> str | None:
        key, value = self._find(keys)
        return None if value is None else self._to_str(key, value)

    def str_or(self, default: str, *keys: str) -> str:
        found = self.optional_str(*keys)
        return default if found is None else found

    # decimals -----------------------------------------------------------------------------
    def _to_decimal(self, key: str, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise self._wrong(key, "a decimal", value)
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            # repr gives the shortest round-tripping text: 1464.27, not 1464.2699999...
            return Decimal(repr(value))
        if isinstance(value, str):
            try:
                parsed = Decimal(value.strip().replace(",", "").lstrip("$"))
            except InvalidOperation:
                raise self._wrong(key, "a decimal string", value) from None
            if parsed.is_finite():
                return parsed
        raise self._wrong(key, "a decimal", value)

    def required_decimal(self, *keys: str) -> Decimal:
        return self._required(keys, "a decimal", self._to_decimal)

    def optional_decimal(self, *keys: str) -> Decimal | None:
        return self._optional(keys, self._to_decimal)

    def optional_float(self, *keys: str) -> float | None:
        """A decimal (in any of its variants) as a float: coordinates."""
        found = self.optional_decimal(*keys)
        return None if found is None else float(found)

    # booleans -----------------------------------------------------------------------------
    def _to_bool(self, key: str, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise self._wrong(key, "a boolean", value)

    def optional_bool(self, *keys: str) -> bool | None:
        return self._optional(keys, self._to_bool)

    def bool_or(self, default: bool, *keys: str) -> bool:
        found = self.optional_bool(*keys)
        return default if found is None else found

    # dates and times ----------------------------------------------------------------------
    def _to_datetime(self, key: str, value: Any) -> datetime:
        if not isinstance(value, str):
            raise self._wrong(key, "an ISO-8601 timestamp", value)
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise self._wrong(key, "an ISO-8601 timestamp", value) from None
        if parsed.tzinfo is None:
            raise self._wrong(key, "a timestamp with a UTC offset", value)
        return parsed

    def required_datetime(self, *keys: str) -> datetime:
        return self._required(keys, "an ISO-8601 timestamp", self._to_datetime)

    def optional_datetime(self, *keys: str) -> datetime | None:
        return self._optional(keys, self._to_datetime)

    def created_at(self) -> datetime | None:
        """Every record's creation time, sent as `created_at` or `created_on`."""
        return self.optional_datetime("created_at", "created_on")

    def updated_at(self) -> datetime | None:
        """Every record's last change, sent as `updated_at` or `updated_on`."""
        return self.optional_datetime("updated_at", "updated_on")

    def _to_date(self, key: str, value: Any) -> date:
        if not isinstance(value, str):
            raise self._wrong(key, "a YYYY-MM-DD date", value)
        text = value.strip()
        try:
            if len(text) > 10:  # a timestamp where a date was expected: its local date is meant
                return datetime.fromisoformat(text).date()
            return date.fromisoformat(text)
        except ValueError:
            raise self._wrong(key, "a YYYY-MM-DD date", value) from None

    def optional_date(self, *keys: str) -> date | None:
        return self._optional(keys, self._to_date)

    # nested -------------------------------------------------------------------------------
    def optional_object(self, key: str, parse: Callable[[object], T]) -> T | None:
        value = self._data.get(key)
        return None if value is None else parse(value)

    def optional_tuple(self, key: str, parse: Callable[[object], T]) -> tuple[T, ...] | None:
        """A nested list, or None when the key is absent (absent differs from empty here)."""
        value = self._data.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self._wrong(key, "a list", value)
        return tuple(parse(item) for item in value)

    def tuple_of(self, key: str, parse: Callable[[object], T]) -> tuple[T, ...]:
        return self.optional_tuple(key, parse) or ()
