"""Relay connections over Kickserv pages: which upstream pages a ``first``/``after`` window needs.

A cursor is an opaque encoding of an offset into the upstream listing. For a window
``[offset, offset + first)`` we pick the page size that touches the fewest upstream pages (preferring the
largest size, which keeps cache entries reusable between windows), fetch only those pages, concurrently,
and slice. Kickserv may cap ``per_page`` below what we ask (its real cap is unknown); the caller reports
the size the envelope actually used and the window is planned again with it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from resolvers.parsing import NumberError, ascii_int, quoted

CURSOR_PREFIX = "ks:"
# The furthest offset a cursor may name: past any Kickserv listing, and small enough that the page
# number it becomes is one Kickserv reads (a 4,300-digit cursor must not reach it as a page).
MAX_OFFSET_DIGITS = 9
MAX_OFFSET = 10**MAX_OFFSET_DIGITS - 1


class BadCursor(ValueError):
    """The ``after``/``before`` argument is not a cursor this server issued."""


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset ``cursor`` names: ``ks:`` and at most ``MAX_OFFSET_DIGITS`` ASCII digits."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        if not text.startswith(CURSOR_PREFIX):
            raise ValueError("not one of our cursors")
        return ascii_int(text[len(CURSOR_PREFIX) :], max_digits=MAX_OFFSET_DIGITS)
    except (binascii.Error, UnicodeError, ValueError) as exc:  # NumberError is a ValueError
        reason = f" (offset: {exc})" if isinstance(exc, NumberError) else ""
        raise BadCursor(
            f"Cursor {quoted(cursor)} is not valid{reason}; use a cursor from pageInfo."
        ) from exc


@dataclass(frozen=True, slots=True)
class PagePlan:
    """Fetch pages ``numbers`` of size ``per_page``; the window starts ``skip`` items into the first."""

    per_page: int
    numbers: tuple[int, ...]
    skip: int


def pages_touched(offset: int, first: int, per_page: int) -> int:
    return (offset + first - 1) // per_page - offset // per_page + 1


def plan_window(offset: int, first: int, max_per_page: int) -> PagePlan:
    """The fewest upstream pages (of one size, at most ``max_per_page``) covering the window."""
    if offset < 0 or first < 1 or max_per_page < 1:
        raise ValueError("offset >= 0, first >= 1 and max_per_page >= 1 are required")
    best = max_per_page
    best_count = pages_touched(offset, first, best)
    # A smaller size can align better with the window (offset 90, first 20 fits one page of 55).
    size = max_per_page - 1
    while size >= 1 and best_count > -(-first // max_per_page):
        count = pages_touched(offset, first, size)
        if count < best_count:
            best, best_count = size, count
        size -= 1
    start = offset // best + 1
    return PagePlan(best, tuple(range(start, start + best_count)), offset - (start - 1) * best)


def window_rounds(first: int, max_per_page: int) -> int:
    """Pages a window of ``first`` items needs at best (used by cost estimates)."""
    return -(-first // max_per_page)
