"""Input checks that run before any upstream call; every problem names the path of its field.

Paths use the mutation's argument names (``("input", "lineItems", 1, "quantity")``), because they are
what the caller wrote and what the error's ``extensions.invalidFields`` shows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from resolvers.parsing import MAX_PLACES, places
from resolvers.writes.errors import FieldProblem, InvalidInput, Path

MAX_TEXT = 10_000
# The largest amount, quantity or rate a write takes: what a field-service job can carry, with room
# for products (quantity x price) and sums to stay exact within Decimal's default 28 digits.
MAX_AMOUNT = Decimal("999999999.99")


class Checks:
    """Collects problems; ``done()`` raises them all at once."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def fail(self, path: Path, message: str) -> None:
        self.problems.append(FieldProblem(path, message))

    def done(self) -> None:
        if self.problems:
            raise InvalidInput(self.problems)

    def text(self, path: Path, value: str | None, *, required: bool = False) -> str | None:
        """The text stripped (Kickserv strips it too), None when blank."""
        if value is None or not value.strip():
            if required:
                self.fail(path, "must not be blank")
            return None
        if len(value) > MAX_TEXT:
            self.fail(path, f"must be at most {MAX_TEXT} characters")
        return value.strip()

    def amount(
        self, path: Path, value: Decimal | None, *, positive: bool = False, cents: bool = False
    ) -> None:
        """Money, quantities and rates: finite, not negative, below ``MAX_AMOUNT``, at most
        ``MAX_PLACES`` places (2 with ``cents``); checked without arithmetic that could raise
        (``quantize`` fails past the context's precision: ``1e99999999``)."""
        if value is None:
            return
        if not value.is_finite():
            self.fail(path, "must be a finite number")
        elif positive and value <= 0:
            self.fail(path, "must be greater than 0")
        elif value < 0:
            self.fail(path, "must not be negative")
        elif value > MAX_AMOUNT:
            self.fail(path, f"must be at most {MAX_AMOUNT}")
        elif cents and places(value) > 2:
            self.fail(path, "must not have more than 2 decimal places")
        elif places(value) > MAX_PLACES:
            self.fail(path, f"must not have more than {MAX_PLACES} decimal places")

    def moment(self, path: Path, value: datetime | None) -> None:
        if value is not None and value.utcoffset() is None:
            self.fail(path, "must include a UTC offset, e.g. 2026-11-23T09:00:00-05:00")

    def positive_id(self, path: Path, value: int | None) -> None:
        if value is not None and value <= 0:
            self.fail(path, "must be a positive Kickserv id or number")


class GivenFields:
    """Base of a write's input (a frozen dataclass, Kickserv's field names) whose None fields were
    not given."""

    __slots__ = ()

    def fields(self) -> dict[str, Any]:
        """What Kickserv is sent: the fields given."""
        names = [f.name for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        return {name: value for name in names if (value := getattr(self, name)) is not None}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def upstream_path(base: Path, renames: dict[str, str] | None = None) -> Callable[[str], Path]:
    """Kickserv's field name (``job_type_id``, ``job_charges.quantity``) as our input path."""

    def path_of(name: str) -> Path:
        field = (renames or {}).get(name, name.rsplit(".", 1)[-1])
        return (*base, camel(field))

    return path_of
