"""Scenario 7b in isolation: the memory an invoice index of N invoices keeps (tracemalloc).

Invoices are synthetic but realistic: one real invoice entry from the sandbox, serialised into pages
of 100 and parsed back the way the client parses a page, so no two invoices share an object unless the
index makes them share it. Each invoice gets its own id, number and name (names never repeat, though
the sandbox's do), money (a subtotal of $50-$5,000, taxed or not, paid, unpaid or partly paid), dates
spread over three years, terms, and a customer: 0.73 customers per invoice, as in the sandbox's seeded
account (866 invoices of 632 customers). The index keeps ``IndexedInvoice``, as the server's does, and
what it measures is everything that stays: the index's dict and order, the projections, the ints and
strings they hold, and the shared tables (days, interned strings) they grew.

The interned strings are the exception that is charged rather than traced. The interpreter keeps one
table of them for the whole process, and when it fills, the ``sys.intern`` call that crosses the line
reallocates it whole, twice the size: megabytes holding every interned string of the process (in a
test run, mostly the suite's own names), traced as new while the old table, allocated before tracing
began, is freed untraced. Whether a build crosses that line depends on everything the process did
before (a build of the same invoices just before does not prevent it: its strings die with its index
and leave their slots used until the next reallocation). So that reallocation is left out
(``intern_table_mb`` reports it) and each distinct interned string the index holds is charged
``INTERNED_BYTES``, its share of the table.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import orjson

from kickserv import Invoice
from resolvers import invoice_index
from resolvers.indexes import ListingIndex
from resolvers.invoice_index import IndexedInvoice
from sandbox.shapes import money

PER_PAGE = 100
# A string's share of the interned-string table (CPython 3.11+: a 16-byte entry and 4-byte index
# slots, the table between a third and two thirds full): 44 bytes at its emptiest, rounded up.
INTERNED_BYTES = 48
CUSTOMERS_PER_INVOICE = 0.73  # the sandbox's seeded account: 866 invoices, 632 customers
TERMS = ("Due upon receipt", "Net 15", "Net 30")
LAST_DAY = date(2026, 11, 21)


@dataclass
class _Page:
    items: Sequence[Invoice]
    per_page: int
    total_pages: int
    total_entries: int


def _entry(sample: dict[str, Any], i: int, count: int) -> dict[str, Any]:
    """Invoice ``i`` of ``count``: the sample with its own values (the same for the same ``i``)."""
    rng = random.Random(i)
    subtotal = Decimal(rng.randrange(5_000, 500_000)) / 100
    tax = (subtotal * Decimal("0.0881")).quantize(Decimal("0.01")) if rng.random() < 0.6 else 0
    total = subtotal + tax
    paid = rng.random() < 0.77
    balance = 0 if paid else total if rng.random() < 0.5 else (total / 2).quantize(Decimal("0.01"))
    invoiced = LAST_DAY - timedelta(days=rng.randrange(3 * 365))
    sent = invoiced + timedelta(days=rng.randrange(3)) if rng.random() < 0.9 else None
    customer = rng.randrange(max(1, int(count * CUSTOMERS_PER_INVOICE)))
    glue = dict(sample.get("customer") or {})
    glue.update(
        id=60_000_000 + customer,
        customer_number=1_000 + customer,
        name=f"{glue.get('name') or 'Customer'} {customer}",
    )
    return {
        **sample,
        "id": 50_000_000 + i,
        "job_number": 100_000 + i,
        "name": f"{sample.get('name') or 'Job'} #{i}",
        "customer_id": glue["id"],
        "customer": glue,
        "subtotal": money(subtotal),
        "tax": money(Decimal(tax)),
        "total": money(total),
        "balance_remaining": money(Decimal(balance)),
        "invoice_status": "paid" if paid else "unpaid",
        "invoice_terms": rng.choice(TERMS),
        "invoice_date": invoiced.isoformat(),
        "invoice_sent_date": None if sent is None else sent.isoformat(),
        "invoice_paid_on": (invoiced + timedelta(days=rng.randrange(60))).isoformat()
        if paid
        else None,
    }


def _page_json(sample: dict[str, Any], number: int, count: int) -> bytes:
    first = (number - 1) * PER_PAGE
    entries = [_entry(sample, i, count) for i in range(first, min(first + PER_PAGE, count))]
    return orjson.dumps({"invoices": entries})


def measure_invoice_index(sample: dict[str, Any], count: int) -> dict[str, Any]:
    pages = -(-count // PER_PAGE)

    async def fetch_page(number: int, per_page: int) -> _Page:
        raw = orjson.loads(_page_json(sample, number, count))
        items = [Invoice.from_json(entry) for entry in raw["invoices"]]
        return _Page(items, PER_PAGE, pages, count)

    gc.collect()
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    index: ListingIndex[Invoice, IndexedInvoice] = ListingIndex(
        fetch_page,
        key=lambda r: r.id,
        project=IndexedInvoice.from_record,
        per_page=PER_PAGE,
        ttl=1e9,
    )
    found = asyncio.run(index.get_many([50_000_000]))
    seconds = time.perf_counter() - started
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    table = _intern_table_bytes(tracemalloc.take_snapshot())
    tracemalloc.stop()
    assert found[0] is not None and index.size == count
    interned = _distinct_interned(asyncio.run(index.values()))
    retained = current - baseline - table + interned * INTERNED_BYTES
    per_invoice = retained / count
    return {
        "invoices": count,
        "retained_mb": round(retained / 2**20, 2),
        "intern_table_mb": round(table / 2**20, 2),
        "interned_strings": interned,
        "peak_mb": round((peak - baseline) / 2**20, 2),
        "bytes_per_invoice": round(per_invoice),
        "projected_100k_mb": round(per_invoice * 100_000 / 2**20, 1),
        "build_seconds_traced": round(seconds, 2),
    }


def _intern_table_bytes(snapshot: tracemalloc.Snapshot) -> int:
    """What the ``sys.intern`` call of ``IndexedInvoice`` allocated and kept: only ever the process's
    table of interned strings, reallocated (the strings themselves were allocated when parsed)."""
    code = invoice_index._text.__code__
    lines = sorted({line for _, _, line in code.co_lines() if line is not None})
    kept = snapshot.filter_traces([tracemalloc.Filter(True, code.co_filename, n) for n in lines])
    return sum(trace.size for trace in kept.traces)


def _distinct_interned(values: Sequence[IndexedInvoice]) -> int:
    texts = {
        id(text)
        for v in values
        for text in (v.name, v.status, v.invoice_status, v.invoice_terms, v.customer_name)
        if text is not None
    }
    return len(texts)
