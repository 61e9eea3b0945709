"""One page type over Kickserv's three list envelopes, and the paginator every list method returns.

Envelopes read (see docs/sandbox-client-contract.md):
- will_paginate: ``{"<plural>": [...], "current_page", "per_page", "total_entries", "total_pages",
  "next_page", "previous_page"}`` (+ ``total_balance_remaining`` on invoices, kept in `extra`);
- ``{"<plural>": [...], "meta": {"pagination": {"current_page", "next_page", "prev_page",
  "total_pages", "total_count"}}}`` on payments (no per_page: derived from a full page);
- a bare JSON array (employees), read as the one and only page.

The envelope's `per_page` is trusted over the one asked for: Kickserv may clamp it. Only an envelope
that shows the clamp (a stated `per_page`, or a full page with a successor, smaller than asked) sets
`Page.per_page_cap`, the one figure a caller may learn Kickserv's page size from: a bare array's
length, or a short last page, says nothing about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from kickserv.errors import ResponseShape
from kickserv.records.fields import Fields, describe

T = TypeVar("T")

DEFAULT_PER_PAGE = 25  # Kickserv's page size when none is asked for
_PAGING_KEYS = frozenset(
    {
        "current_page",
        "per_page",
        "total_entries",
        "total_pages",
        "next_page",
        "previous_page",
        "meta",
    }
)
_DECIMAL_EXTRAS = ("total_balance_remaining",)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. `extra` holds the envelope's other keys (e.g. invoices'
    `total_balance_remaining`, as a Decimal).

    `per_page_cap` is the page size Kickserv showed it enforces when it served fewer per page than
    asked: the envelope's stated `per_page`, or the length of a full page that has a successor.
    None when the answer shows no cap: a bare array (employees), an unpaginated listing, a page of
    the size asked, or a short last page.
    """

    items: tuple[T, ...]
    number: int
    per_page: int
    total_entries: int
    total_pages: int
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)
    per_page_cap: int | None = None

    @property
    def has_next(self) -> bool:
        return self.number < self.total_pages

    @property
    def offset(self) -> int:
        """How many entries come before this page's first one."""
        return (self.number - 1) * self.per_page


def _items(body: Mapping[str, Any], keys: tuple[str, ...]) -> tuple[str, list[Any]]:
    for key in keys:
        value = body.get(key)
        if isinstance(value, list):
            return key, value
        if value is not None:
            raise ResponseShape(f"the {key!r} list should be a JSON array, got {describe(value)}.")
    lists = [(k, v) for k, v in body.items() if isinstance(v, list)]
    if len(lists) == 1:  # a renamed plural key ("jobs" for opportunities) is still the list
        return lists[0]
    names = " or ".join(repr(k) for k in keys)
    raise ResponseShape(f"the list envelope has no {names} array (keys: {sorted(body)[:12]}).")


def _parse_items(key: str, values: list[Any], parse: Callable[[object], T]) -> tuple[T, ...]:
    parsed = []
    for index, value in enumerate(values):
        try:
            parsed.append(parse(value))
        except ResponseShape as exc:
            raise ResponseShape(f"{key}[{index}]: {exc.message}") from None
    return tuple(parsed)


def parse_page(
    body: object,
    keys: tuple[str, ...],
    parse: Callable[[object], T],
    *,
    asked_page: int = 1,
    asked_per_page: int | None = None,
) -> Page[T]:
    """Read any of the three envelopes into a Page; `keys` are the accepted names of the list."""
    if isinstance(body, list):
        items = _parse_items(keys[0], body, parse)
        return _page(items, _only_page(len(items)))
    if not isinstance(body, Mapping):
        raise ResponseShape(
            f"a list answer should be a JSON object or array, got {describe(body)}."
        )
    key, values = _items(body, keys)
    items = _parse_items(key, values, parse)
    extra = {k: v for k, v in body.items() if k != key and k not in _PAGING_KEYS}
    extra_fields = Fields(extra, "envelope")
    for name in _DECIMAL_EXTRAS:
        if name in extra:
            extra[name] = extra_fields.optional_decimal(name)

    meta = body.get("meta")
    pagination = meta.get("pagination") if isinstance(meta, Mapping) else None
    if pagination is not None:
        paging = _meta_paging(
            Fields(pagination, "meta.pagination"), len(items), asked_page, asked_per_page
        )
    else:
        paging = _will_paginate_paging(
            Fields(body, "list envelope"), len(items), asked_page, asked_per_page
        )
    return _page(items, paging, extra)


class _Paging(NamedTuple):
    """Where a page stands in its listing, and the page-size cap it shows (see `Page`)."""

    number: int
    per_page: int
    total_entries: int
    total_pages: int
    cap: int | None = None


def _page(items: tuple[T, ...], paging: _Paging, extra: Mapping[str, Any] | None = None) -> Page[T]:
    number, per_page, total_entries, total_pages, cap = paging
    return Page(items, number, per_page, total_entries, total_pages, extra or {}, cap)


def _cap(shown: int | None, asked_per_page: int | None) -> int | None:
    """`shown` when it is a page size smaller than the one asked for: Kickserv clamped it."""
    if shown is None or asked_per_page is None or not 0 < shown < asked_per_page:
        return None
    return shown


def _only_page(count: int) -> _Paging:
    """A listing that is not paginated: all `count` items on the one page."""
    return _Paging(1, count, count, 1 if count else 0)


def _meta_paging(f: Fields, count: int, asked_page: int, asked_per_page: int | None) -> _Paging:
    number = f.optional_int("current_page", "page") or asked_page
    total_pages = f.optional_int("total_pages") or 0
    more = f.optional_int("next_page") is not None or number < total_pages
    stated = f.optional_int("per_page", "limit")
    shown: int | None = None
    if stated is not None:
        per_page = shown = stated
    elif more:  # a page with a successor is full: its length is the real page size
        per_page = shown = count
    else:
        per_page = max(count, asked_per_page or DEFAULT_PER_PAGE)
    total = f.optional_int("total_count", "total_entries")
    if total is None:
        total = total_pages * per_page if more else (number - 1) * per_page + count
    return _Paging(number, per_page, total, total_pages, _cap(shown, asked_per_page))


def _will_paginate_paging(
    f: Fields, count: int, asked_page: int, asked_per_page: int | None
) -> _Paging:
    if not any(f.has(k) for k in ("current_page", "per_page", "total_entries", "total_pages")):
        return _only_page(count)
    number = f.optional_int("current_page") or asked_page
    stated = f.optional_int("per_page")
    per_page = stated or asked_per_page or DEFAULT_PER_PAGE
    stated_total = f.optional_int("total_entries")
    stated_pages = f.optional_int("total_pages")
    if stated_total is not None:
        total = stated_total
    elif stated_pages is not None:
        total = stated_pages * per_page
    else:
        total = (number - 1) * per_page + count
    total_pages = stated_pages if stated_pages is not None else math.ceil(total / per_page)
    return _Paging(number, per_page, total, total_pages, _cap(stated, asked_per_page))


FetchPage = Callable[[int, int | None], Awaitable[Page[T]]]


class Paginator(Generic[T]):
    """What every list method returns. Nothing is fetched until it is iterated or awaited.

    Once the first page says how many pages there are, the rest are fetched concurrently; the
    client's semaphore bounds how many requests are in flight, and `lookahead` bounds how many
    pages are fetched ahead of the consumer. Items and pages come out in order.
    """

    def __init__(self, fetch: FetchPage[T], *, per_page: int | None = None, lookahead: int = 8):
        self._fetch = fetch
        self._per_page = per_page
        self._lookahead = max(1, lookahead)

    def map_pages(self, change: Callable[[Page[T]], Page[T]]) -> Paginator[T]:
        """This listing with each page passed through ``change`` as it is read (the same calls)."""
        fetch = self._fetch

        async def changed(number: int, per_page: int | None) -> Page[T]:
            return change(await fetch(number, per_page))

        return Paginator(changed, per_page=self._per_page, lookahead=self._lookahead)

    async def page(self, number: int = 1, per_page: int | None = None) -> Page[T]:
        """One page; `per_page` defaults to the one this listing was asked with."""
        if number < 1:
            raise ValueError(f"page numbers start at 1, got {number}")
        return await self._fetch(number, per_page if per_page is not None else self._per_page)

    async def pages(self, first: Page[T] | None = None) -> AsyncGenerator[Page[T], None]:
        """Every page from `first` (fetched when not given) to the last, in order."""
        if first is None:
            first = await self.page(1)
        yield first
        per_page = self._per_page
        numbers = iter(range(first.number + 1, first.total_pages + 1))
        pending: list[asyncio.Task[Page[T]]] = []

        def top_up() -> None:
            while len(pending) < self._lookahead:
                number = next(numbers, None)
                if number is None:
                    return
                pending.append(asyncio.ensure_future(self._fetch(number, per_page)))

        try:
            top_up()
            while pending:
                page = await pending.pop(0)
                top_up()
                yield page
        finally:
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _items(self) -> AsyncGenerator[T, None]:
        async with contextlib.aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def all(self) -> list[T]:
        """Every item of every page."""
        return [item async for item in self]
