"""A big account's invoice index builds whole, the breaker closed, though its pages outlast a read
deadline: the scale run's failure (20,000 customers: 169 pages fired at once spent their deadlines in
our own queue, the breaker opened and ``invoice(id:)`` answered UPSTREAM_UNAVAILABLE), made small.

The sandbox (real HTTP) serves 52 invoice pages of 10 under a rate limit of 25 requests a second and
50 ms latency; the server reads 4 at once with a 1 s read deadline and opens its breaker after 3
failures: reading the pages takes seconds, several read deadlines.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from graph.server.assembly import build_app, server_of
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import graph_server, serving, settings_for

TODAY = date(2026, 11, 21)
SETTINGS = {
    "kickserv_read_deadline": 1.0,
    "kickserv_concurrency": 8,  # an index build reads with half: 4 pages at once
    "kickserv_max_per_page": 10,
    "kickserv_breaker_failures": 3,
    "max_aliases": 200,
    "max_root_fields": 200,
}


@pytest.fixture(scope="module")
def big() -> Iterator[RunningSandbox]:
    config = SandboxConfig(customers=600, seed=3, today=TODAY, latency_ms=50, rate_limit=25)
    with running_sandbox(config) as sandbox:
        yield sandbox


def listed_invoices(sandbox: RunningSandbox) -> list[str]:
    """The ids of every invoice the listing holds (an invoiced job with an invoice date)."""
    jobs = sandbox.store().jobs.values()
    return [str(j.id) for j in jobs if j.invoice_date is not None]


async def test_a_big_accounts_invoice_index_builds_whole_with_the_breaker_closed(big):
    ids = listed_invoices(big)
    assert len(ids) > 10 * 4 * 10  # pages: many rounds of the build's 4 readers
    sample = ids[:: len(ids) // 40]  # across every page of the listing, oldest to newest
    query = "{" + " ".join(f'i{n}: invoice(id: "{i}") {{ id }}' for n, i in enumerate(sample)) + "}"
    app = build_app(settings_for(big, **SETTINGS))
    async with serving(app, big) as graph:
        run = await graph.run(query)
        registry = server_of(app).registry
        assert registry is not None
        breakers = registry.upstream().breakers
    assert run.errors == [], run.errors[:2]
    assert [run.data[f"i{n}"]["id"] if run.data[f"i{n}"] else None for n in range(len(sample))] == (
        sample
    )
    assert [(b.state, b.opened) for b in breakers.values()] == [("closed", 0)]  # never opened
    answered = [e for e in run.log if e["path"].endswith("/invoices.json") and e["status"] == 200]
    assert len(answered) == -(-len(ids) // 10)  # every page read once
    assert 429 in {e["status"] for e in run.log}  # the rate limit was met: the queue was long


async def test_a_lookup_past_its_bound_gets_a_clear_error_and_the_build_goes_on(big):
    # 26 pages of 20 at about 2 a second take over 10 s; a lookup waits 0.5 s per round of 4 pages
    # plus one (4 s): it gets UPSTREAM_UNAVAILABLE, and the build it started goes on for the next.
    big.state.knobs.update({"rate_limit": 2})
    ids = listed_invoices(big)
    query = f'{{ first: invoice(id: "{ids[0]}") {{ id }} last: invoice(id: "{ids[-1]}") {{ id }} }}'
    settings = {**SETTINGS, "kickserv_read_deadline": 0.5, "kickserv_max_per_page": 20}
    try:
        async with graph_server(big, **settings) as graph:
            runs = [await graph.run(query)]
            while runs[-1].errors and len(runs) < 10:
                runs.append(await graph.run(query))
    finally:
        big.state.knobs.update({"rate_limit": 25})
    first, last = runs[0], runs[-1]
    assert [e["extensions"]["code"] for e in first.errors] == ["UPSTREAM_UNAVAILABLE"] * 2
    assert last.errors == [] and last.data == {"first": {"id": ids[0]}, "last": {"id": ids[-1]}}
    answered = [
        e
        for run in runs
        for e in run.log
        if e["path"].endswith("/invoices.json") and e["status"] == 200
    ]
    assert len(answered) == -(-len(ids) // 20)  # one build, each page read once
