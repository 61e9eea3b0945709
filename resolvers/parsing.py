"""Numbers a caller sends, parsed with ASCII rules and bounds, and input quoted short in messages.

Python's own parsers are too generous for input from the network: ``"²".isdigit()`` and
``"١٢".isdigit()`` are true while ``int("²")`` fails and ``int("١٢")`` is 12; ``int()`` refuses
more than 4,300 digits with a ``ValueError`` of its own; ``Decimal("1e99999999")`` is finite but
``quantize`` then fails, and ``Decimal`` reads Arabic-Indic digits, ``_`` and blanks too. Every
number that comes from a caller (ids, numbers, cursors, Content-Length, amounts) goes through this
module instead, which accepts ASCII only, checks the length before converting, and bounds the value:

- ``ascii_int``: ``[0-9]+``, at most ``max_digits`` digits (and at most ``maximum``);
- ``kickserv_id``: an id or number Kickserv could hold: 1 to ``MAX_ID`` (2^53 - 1, the largest
  integer every JSON client reads exactly; Kickserv's ids are Rails integers, far below it);
- ``bounded_decimal``: a decimal in plain or exponent notation, finite, at most ``MAX_PLACES``
  places and ``MAX_INTEGER_DIGITS`` digits before the point (below 10^15);
- ``moment_text`` and ``bounded_year``: dates and date-times are short ASCII strings, in years
  ``MIN_YEAR`` to ``MAX_YEAR`` (the ISO parsing itself is the GraphQL scalars').

Each raises ``NumberError`` (a ``ValueError``) whose text is the rule broken, as a phrase ("ASCII
digits only", "at most 10 decimal places"), without the value; callers name the argument, e.g.
``f"`id` must be a Kickserv id ({exc}), got {quoted(value)}."``, and quote the value with ``quoted``, which keeps at most ``QUOTE_LIMIT``
characters of it, so a 990 KB cursor is not sent back whole.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

MAX_ID = 2**53 - 1
MAX_ID_DIGITS = len(str(MAX_ID))  # 16
MAX_PLACES = 10
MAX_INTEGER_DIGITS = 15
QUOTE_LIMIT = 100
MIN_YEAR, MAX_YEAR = 1000, 9998
_MAX_MOMENT_TEXT = 64

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ONE = Decimal(1)
_MAX_DECIMAL_TEXT = 64  # characters: any decimal within the bounds above fits


class NumberError(ValueError):
    """The text is not a number of the kind asked, or is out of its bounds; its text is the rule."""


def ascii_int(text: str, *, max_digits: int, maximum: int | None = None) -> int:
    """A non-negative integer written in ASCII digits only (no sign, no blanks, no ``_``)."""
    if not text or not text.isascii() or not text.isdigit():
        raise NumberError("ASCII digits only")
    if len(text) > max_digits:
        raise NumberError(f"at most {max_digits} digits")
    value = int(text)
    if maximum is not None and value > maximum:
        raise NumberError(f"at most {maximum}")
    return value


def kickserv_id(value: object) -> int:
    """A Kickserv id or number given as digits (a string) or a JSON integer: 1 to ``MAX_ID``."""
    if isinstance(value, bool):
        raise NumberError("digits, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        number = ascii_int(value, max_digits=MAX_ID_DIGITS, maximum=MAX_ID)
    else:
        raise NumberError("digits in a string, or an integer")
    if not 1 <= number <= MAX_ID:
        raise NumberError(f"from 1 to {MAX_ID}")
    return number


def bounded_decimal(
    value: object,
    *,
    max_places: int = MAX_PLACES,
    max_integer_digits: int = MAX_INTEGER_DIGITS,
) -> Decimal:
    """A finite decimal from a string (or a JSON number), exactly as written (places kept).

    ``"12.50"``, ``"-3"``, ``"1.5e2"`` pass; ``"NaN"``, ``"Infinity"``, ``"1e99999999"``,
    ``"١٢"``, ``"1_000"``, ``" 12"`` and more than ``max_places`` places do not.
    """
    if isinstance(value, bool):
        raise NumberError("a number, not a boolean")
    if isinstance(value, int | float):
        value = repr(value)  # a JSON number: its shortest exact text; inf and nan fail below
    if not isinstance(value, str):
        raise NumberError("a number given as a string")
    if len(value) > _MAX_DECIMAL_TEXT or not _DECIMAL.fullmatch(value):
        raise NumberError("a number such as 12.50 or -3: ASCII digits, one point")
    try:
        number = Decimal(value)
    except InvalidOperation:  # an exponent past what Decimal can hold at all
        raise NumberError(
            f"less than 10^{max_integer_digits} in magnitude, with at most {max_places} decimal "
            "places"
        ) from None
    if places(number) > max_places:
        raise NumberError(f"at most {max_places} decimal places")
    if number and number.adjusted() >= max_integer_digits:
        raise NumberError(f"less than 10^{max_integer_digits} in magnitude")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:  # "1.5e2" is 150 (not 1.5E+2) for Kickserv
        number = number.quantize(_ONE)
    return number


def moment_text(value: object) -> str:
    """The text of a date or date-time: an ASCII string of at most 64 characters (the parsers
    behind it read whatever Python's ``int()`` reads, and echo it whole when they fail)."""
    if not isinstance(value, str):
        raise NumberError("an ISO 8601 string")
    if len(value) > _MAX_MOMENT_TEXT or not value.isascii():
        raise NumberError(f"an ISO 8601 string of at most {_MAX_MOMENT_TEXT} ASCII characters")
    return value


def bounded_year(year: int) -> None:
    """Dates and times from ``MIN_YEAR`` to ``MAX_YEAR``: a day or a UTC offset either side stays a
    date Python can hold (``0001-01-01T00:00+23:59`` in UTC, or 9999-12-31 plus an hour, cannot)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise NumberError(f"a year from {MIN_YEAR} to {MAX_YEAR}")


def places(number: Decimal) -> int:
    """Decimal places ``number`` needs (trailing zeros do not count), without rounding."""
    digits, exponent = number.as_tuple()[1:]
    assert isinstance(exponent, int), "finite decimals only"
    kept = len(digits)
    while kept > 1 and digits[kept - 1] == 0:
        kept -= 1
    return max(0, -(exponent + len(digits) - kept))


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr`` of a value for a message, cut to ``limit`` characters with how long it was."""
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        # repr() itself refuses ints past 4,300 digits; the size is all a message needs
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    head = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{head}…({len(text)} chars)"
