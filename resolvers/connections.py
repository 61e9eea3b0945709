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

CURSOR_PREFIX = "ks:"


class BadCursor(ValueError):
    """The ``after``/``before`` argument is not a cursor this server issued."""


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(f"Cursor {cursor!r} is not valid; use a cursor from pageInfo.") from exc
    if not text.startswith(CURSOR_PREFIX) or not text[len(CURSOR_PREFIX) :].isdigit():
        raise BadCursor(f"Cursor {cursor!r} is not valid; use a cursor from pageInfo.")
    return int(text[len(CURSOR_PREFIX) :])


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
