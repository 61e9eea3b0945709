"""What the byte-bounded cache counts a value as (``resolvers.bounded.deep_size``) is what keeping
it costs: within 5% of what tracemalloc sees a page of records keep once parsed from Kickserv's
JSON and trimmed (``resolvers.kept``), for each listing the cache keeps most of. Under the bound,
the bytes the cache says it holds are the bytes it holds."""

from __future__ import annotations

import dataclasses
import gc
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

import httpx
import orjson
import pytest

from kickserv import Customer, Invoice, Job, Payment, Task
from kickserv.pages import parse_page
from resolvers.bounded import Sizing, deep_size, provisional_size
from resolvers.kept import kept
from sandbox.config import SandboxConfig
from sandbox.testing import running_sandbox

LISTINGS: list[tuple[str, Callable[[object], Any]]] = [
    ("tasks", Task.from_json),
    ("jobs", Job.from_json),
    ("invoices", Invoice.from_json),
    ("customers", Customer.from_json),
    ("payments", Payment.from_json),
]


@pytest.fixture(scope="module")
def bodies() -> Iterator[dict[str, bytes]]:
    config = SandboxConfig(customers=300, seed=5, today=date(2026, 11, 21))
    with running_sandbox(config) as sandbox, httpx.Client(auth=("demo-token", "demo-token")) as c:
        yield {
            name: c.get(f"{sandbox.api_url()}/{name}.json", params={"per_page": 100}).content
            for name, _ in LISTINGS
        }


def kept_bytes(body: bytes, key: str, parse: Callable[[object], Any]) -> tuple[Any, int]:
    """The kept page read from ``body``, and the bytes tracemalloc sees it keep."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        page = kept(parse_page(orjson.loads(body), (key,), parse))
        gc.collect()
        return page, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("key", "parse"), LISTINGS, ids=[name for name, _ in LISTINGS])
def test_a_kept_page_is_counted_within_five_percent_of_what_it_keeps(bodies, key, parse):
    page, measured = kept_bytes(bodies[key], key, parse)
    assert len(page.items) == 100
    assert 0.95 * measured <= deep_size(page) <= 1.05 * measured, (deep_size(page), measured)


def test_a_time_counts_its_zone_once_and_utc_not_at_all():
    minus_5 = timezone(timedelta(hours=-5))
    alone = datetime(2026, 11, 21, 9, tzinfo=minus_5)
    zone = sys.getsizeof(minus_5) + sys.getsizeof(minus_5.utcoffset(None))
    assert deep_size(alone) == deep_size(alone.replace(tzinfo=None)) + zone
    two = (alone, alone.replace(hour=10))  # one zone between them
    assert deep_size(two) == sys.getsizeof(two) + 2 * deep_size(alone) - zone
    assert deep_size(alone.replace(tzinfo=UTC)) == deep_size(alone.replace(tzinfo=None))


def walked(value: object) -> int:
    """``deep_size`` with no record counted by its typed count: the walk alone."""
    from resolvers import bounded

    saved = dict(bounded._TYPED)
    bounded._TYPED.clear()
    bounded._TYPED.update(dict.fromkeys(saved))  # every class known, none typed
    try:
        return deep_size(value)
    finally:
        bounded._TYPED.clear()
        bounded._TYPED.update(saved)


@pytest.mark.parametrize(("key", "parse"), LISTINGS, ids=[name for name, _ in LISTINGS])
def test_a_records_typed_count_is_the_walk_it_unrolls(bodies, key, parse):
    """Kept and whole pages (raw dicts that share their strings with the typed fields), and
    records holding what their types do not say, shared objects, and the empty tuple."""
    read = parse_page(orjson.loads(bodies[key]), (key,), parse)
    for value in (read, kept(read), (read, kept(read))):
        assert deep_size(value) == walked(value)
    first = kept(read).items[0]
    shared = first.replace(id=first.id, raw={"again": first.id, "list": [1, "x"]})
    odd = first.replace(id="12", created_at=3.5, updated_at=date(2026, 1, 2))
    sized = [  # what a typed count sizes without sys.getsizeof: strings, ints, tuples
        first.replace(id=n) for n in (0, 1, -7, 2**30, 2**31, -(2**62), 2**64, 2**70)
    ]
    texts = [f.name for f in dataclasses.fields(first) if isinstance(getattr(first, f.name), str)]
    assert texts
    sized += [first.replace(**dict.fromkeys(texts, text)) for text in ("é" * 5, "x" * 300, "")]
    plus_3 = timezone(timedelta(hours=3))  # one zone shared by two times, UTC, another kind
    at = datetime(2026, 1, 1, tzinfo=plus_3)
    sized += [
        first.replace(created_at=at, updated_at=at.replace(hour=2)),
        first.replace(created_at=at.replace(tzinfo=UTC), updated_at=at.replace(tzinfo=Zone())),
    ]
    for value in (shared, odd, (shared, shared, odd), [first, first], *sized):
        assert deep_size(value) == walked(value)
    assert deep_size(odd) > deep_size(first.replace(created_at=None, updated_at=None))


@pytest.mark.parametrize(("key", "parse"), LISTINGS, ids=[name for name, _ in LISTINGS])
def test_a_page_sized_a_few_records_at_a_time_is_its_deep_size_and_its_estimate_errs_high(
    bodies, key, parse
):
    """What the cache counts a page at before (``provisional_size``) and after it settles it in
    slices (``Sizing``): the estimate above the exact size by less than a quarter."""
    for page in (kept(parse_page(orjson.loads(bodies[key]), (key,), parse)),):
        exact = deep_size(page)
        sizing, steps = Sizing(page, page.items), 1
        while (counted := sizing.step(7)) is None:
            steps += 1
        assert (counted, steps) == (exact, -(-len(page.items) // 7))
        assert Sizing(page, page.items).step() == exact
        assert exact <= provisional_size(page, page.items) < 1.25 * exact
        few = page.items[:12]  # counted whole
        assert provisional_size(few, few) == deep_size(few)


class Zone(tzinfo):
    """A zone of another kind than ``timezone``."""

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(hours=1)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return "+01"
