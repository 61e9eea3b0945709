"""Reading typed fields out of a JSON payload, collecting Rails-style validation errors."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.choices import full_message
from sandbox.errors import invalid


class Form:
    """`form.decimal("quantity", minimum=0)` returns a value or None and records what was wrong;
    `form.check()` raises the 422 if anything was."""

    def __init__(self, data: Any) -> None:
        self.data: dict[str, Any] = data if isinstance(data, dict) else {}
        self.errors: dict[str, list[str]] = {}

    def has(self, key: str) -> bool:
        return key in self.data

    def fail(self, key: str, problem: str) -> None:
        self.errors.setdefault(key, []).append(full_message(key, problem))

    def check(self) -> None:
        if self.errors:
            raise invalid(self.errors)

    def text(self, key: str, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(key, "can't be blank")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.fail(key, "is invalid")
            return None
        return str(value).strip()

    def integer(self, key: str, required: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.fail(key, "can't be blank")
            return None
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            self.fail(key, "is not a number")
            return None

    def decimal(self, key: str, minimum: Decimal | None = None) -> Decimal | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
            if not number.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            self.fail(key, "is not a number")
            return None
        if minimum is not None and number < minimum:
            self.fail(key, f"must be greater than or equal to {minimum}")
            return None
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        self.fail(key, "is invalid")
        return None

    def day(self, key: str) -> date | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        parsed = parse_day(value)
        if parsed is None:
            self.fail(key, "is not a valid date")
        return parsed

    def moment(self, key: str, tz: timezone) -> datetime | None:
        """An ISO-8601 timestamp; without an offset it is read in the account's zone."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(key, "is not a valid datetime")
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(tz).replace(microsecond=0)

    def choice(self, key: str, options: tuple[str, ...]) -> str | None:
        value = self.data.get(key)
        if value is None:
            return None
        if value not in options:
            self.fail(key, "is not included in the list")
            return None
        return str(value)


def parse_day(value: Any) -> date | None:
    """A YYYY-MM-DD date (a full timestamp is cut to its date)."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
