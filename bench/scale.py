"""Scenario 7: a large sandbox; every customer listed through the graph, and the invoice index built.

A fresh server each time (cold caches). Listing pages with ``first: 100`` and the cursor of the previous
page, as a client must; the index is built by the first lookup of an invoice by id.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.measure import post
from bench.options import Options
from bench.oracle import Need, listing, minimum, pages
from bench.processes import ServerProcess, running_ours
from bench.rounds import rounds_of
from bench.sandbox_process import Upstream, running_sandbox_process
from sandbox.config import SandboxConfig

LIST_QUERY = """query AllCustomers($after: String) {
  customers(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { id number name } }
}"""
INVOICE_QUERY = (
    """query OneInvoice($id: ID!) { invoice(id: $id) { id number total balanceRemaining } }"""
)


def _rss(server: ServerProcess) -> float | None:
    current = server.memory_mb()[0]
    return None if current is None else round(current, 1)


def _peak(server: ServerProcess) -> float | None:
    peak = server.memory_mb()[1]
    return None if peak is None else round(peak, 1)


def _list_all(server: ServerProcess, sandbox: Upstream) -> dict[str, Any]:
    sandbox.reset_requests()
    after: str | None = None
    pages = 0
    seen = 0
    started = time.perf_counter()
    with httpx.Client() as client:
        while True:
            body = post(client, server.url, LIST_QUERY, {"after": after})
            connection = body["data"]["customers"]
            pages += 1
            seen += len(connection["nodes"])
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
    wall = time.perf_counter() - started
    entries = sandbox.requests()
    return {
        "customers": seen,
        "requests": pages,
        "calls": len(entries),
        "rounds": rounds_of(entries),
        "wall_ms": round(wall * 1000, 1),
        "rss_mb_after": _rss(server),
    }


def _build_index(server: ServerProcess, sandbox: Upstream, invoice_id: int) -> dict[str, Any]:
    rss_before = _rss(server)
    sandbox.reset_requests()
    started = time.perf_counter()
    with httpx.Client() as client:
        post(client, server.url, INVOICE_QUERY, {"id": str(invoice_id)})
    wall = time.perf_counter() - started
    entries = sandbox.requests()
    rss_after = _rss(server)
    return {
        "calls": len(entries),
        "rounds": rounds_of(entries),
        "wall_ms": round(wall * 1000, 1),
        "rss_mb_before": rss_before,
        "rss_mb_after": rss_after,
        "rss_growth_mb": None
        if rss_before is None or rss_after is None
        else round(rss_after - rss_before, 1),
        "peak_rss_mb": _peak(server),
    }


def measure_scale(options: Options) -> dict[str, Any]:
    config = SandboxConfig(
        customers=options.scale_customers,
        seed=options.seed,
        latency_ms=options.latency_floor_ms,
        jitter_ms=2 * options.jitter_ms,
    )
    with running_sandbox_process(config) as sandbox:
        store = sandbox.store()
        invoiced = [j.id for j in store.jobs.values() if j.invoice_status is not None]
        in_listing = sum(1 for j in store.jobs.values() if j.invoice_date is not None)
        customers, invoices = len(store.customers), len(invoiced)
        # The oracle's minimum (bench.oracle): each listing read whole, page 1 then the rest.
        wanted = {
            "list": minimum(
                [Need("customers", (listing("c", "/customers.json", pages(customers)),))]
            ),
            "index": minimum(
                [Need("invoices", (listing("i", "/invoices.json", pages(in_listing)),))]
            ),
        }
        result: dict[str, Any] = {
            "customers": customers,
            "invoices": invoices,
            "minimum": {k: {"calls": m.calls, "rounds": m.rounds} for k, m in wanted.items()},
            "bound_ms": {k: round(m.rounds * options.latency_ms, 1) for k, m in wanted.items()},
        }
        for label, on in (("ours", True), ("off", False)):
            with running_ours(
                label,
                sandbox.base_url,
                loaders=on,
                cache=on,
                concurrency=options.upstream_concurrency,
            ) as server:
                idle = _rss(server)
                listed = _list_all(server, sandbox)
                index = _build_index(server, sandbox, invoiced[len(invoiced) // 2])
                result[label] = {"idle_rss_mb": idle, "list": listed, "index": index}
        return result
