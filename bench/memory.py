"""Scenario 7b in isolation: the memory an invoice index of N invoices keeps (tracemalloc).

Invoices are synthetic but realistic: one real invoice entry from the sandbox, renumbered, serialised
into pages of 100 and parsed back the way the client parses a page, so no two invoices share strings.
The index keeps the ``compact_invoice`` projection, as the server's does.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from kickserv import Invoice
from resolvers.indexes import ListingIndex
from resolvers.tenant import compact_invoice

PER_PAGE = 100


@dataclass
class _Page:
    items: Sequence[Invoice]
    per_page: int
    total_pages: int
    total_entries: int


def _page_json(sample: dict[str, Any], number: int, count: int) -> bytes:
    first = (number - 1) * PER_PAGE
    entries = []
    for i in range(first, min(first + PER_PAGE, count)):
        entry = dict(sample)
        entry["id"] = 50_000_000 + i
        entry["job_number"] = 100_000 + i
        entry["name"] = f"{sample.get('name') or 'Job'} #{i}"
        entries.append(entry)
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
    index: ListingIndex[Invoice, Invoice] = ListingIndex(
        fetch_page, key=lambda r: r.id, project=compact_invoice, per_page=PER_PAGE, ttl=1e9
    )
    found = asyncio.run(index.get_many([50_000_000]))
    seconds = time.perf_counter() - started
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    retained = current - baseline
    assert found[0] is not None and index.size == count
    per_invoice = retained / count
    return {
        "invoices": count,
        "retained_mb": round(retained / 2**20, 2),
        "peak_mb": round((peak - baseline) / 2**20, 2),
        "bytes_per_invoice": round(per_invoice),
        "projected_100k_mb": round(per_invoice * 100_000 / 2**20, 1),
        "build_seconds_traced": round(seconds, 2),
    }
