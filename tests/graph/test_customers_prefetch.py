"""A page of customers just read from Kickserv starts its customers' listings before its nodes are
built (``resolvers.prefetch.customers_listings``): ``customers { nodes { jobs { ... } } }`` sends
the job listings while the nodes are still to come, with no call more than the nodes' own; a field
under a directive, or a page found cached, starts nothing; nor does a ``customer(number:)``'s
listing under a directive. Over a real sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from graph.schema.customers import Customer
from resolvers import prefetch
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import SANDBOX, graph_server

CUSTOMERS = 5

JOBS_OF_EDGES = """{
  customers(first: 5) { edges { cursor node { number jobs(first: 2) { nodes { number name } } } } }
}"""

JOBS_BEHIND_A_DIRECTIVE = """query($jobs: Boolean!) {
  customers(first: 5) {
    edges { node { number jobs(first: 2) @include(if: $jobs) { nodes { number name } } } }
  }
}"""

JOBS_OF_NODES = """{
  customers(first: 5) { nodes { number name jobs(first: 2) { totalCount nodes { number } } } }
}"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(**SANDBOX)) as running:
        yield running


def job_listings(log: list[dict[str, Any]]) -> list[str]:
    return [str(e["path"]) for e in log if str(e["path"]).endswith("/jobs.json")]


@pytest.fixture
def listings_before_nodes(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> list[int]:
    """How many job listings the sandbox had received when the first customer node was built. The
    event loop is held meanwhile (up to 2 s, or until all have arrived): only calls written before
    can arrive."""
    seen: list[int] = []
    build = Customer.from_record

    def first_node(record: Any) -> Customer:
        if not seen:
            deadline = time.monotonic() + 2
            while len(job_listings(sandbox.requests())) < CUSTOMERS:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            seen.append(len(job_listings(sandbox.requests())))
        return build(record)

    monkeypatch.setattr(Customer, "from_record", staticmethod(first_node))
    # A loaded machine may take more than the 5 ms the resolver waits for the calls to be written:
    # wait up to a second here (it returns as soon as they are).
    monkeypatch.setattr(prefetch, "SEND_WAIT", 1.0)
    return seen


@pytest.mark.parametrize("query", [JOBS_OF_EDGES, JOBS_OF_NODES], ids=["edges", "nodes"])
async def test_the_job_listings_leave_before_the_nodes_are_built(
    sandbox: RunningSandbox, listings_before_nodes: list[int], query: str
) -> None:
    async with graph_server(sandbox) as graph:
        cold = await graph.run(query)
        assert cold.errors == []
        assert listings_before_nodes == [CUSTOMERS]
        # the nodes' own listings, joined: one call each, and the customer page
        assert len(job_listings(cold.log)) == CUSTOMERS and cold.calls == CUSTOMERS + 1
        warm = await graph.run(query)
    assert warm.errors == [] and warm.calls == 0 and warm.data == cold.data


async def test_listings_behind_a_directive_are_not_started(
    sandbox: RunningSandbox, listings_before_nodes: list[int]
) -> None:
    async with graph_server(sandbox) as graph:
        left_out = await graph.run(JOBS_BEHIND_A_DIRECTIVE, {"jobs": False})
        assert left_out.errors == [] and len(left_out.data["customers"]["edges"]) == CUSTOMERS
        assert listings_before_nodes == [0] and left_out.calls == 1  # the customer page alone
    listings_before_nodes.clear()
    async with graph_server(sandbox) as graph:  # cold again
        kept_in = await graph.run(JOBS_BEHIND_A_DIRECTIVE, {"jobs": True})
    # read by the nodes themselves, once each: a directive's outcome is not read ahead of them
    assert listings_before_nodes == [0]
    assert kept_in.errors == [] and kept_in.calls == CUSTOMERS + 1


async def test_a_cached_page_starts_nothing(sandbox: RunningSandbox) -> None:
    async with graph_server(sandbox) as graph:
        await graph.run("{ customers(first: 5) { nodes { number } } }")  # the page, cached
        listings = await graph.run(JOBS_OF_NODES)
    # the nodes read their listings themselves, as they would without the prefetch
    assert listings.errors == [] and listings.calls == CUSTOMERS


async def test_one_customers_listing_behind_a_false_directive_is_not_read(
    sandbox: RunningSandbox,
) -> None:
    """``customer(number:)`` starts its listings with its record, but not one under a directive:
    ``@include(if: false)`` would make it a call for nothing."""
    query = """query($number: Int!) {
      customer(number: $number) { name jobs(first: 2) @include(if: false) { nodes { number } } }
    }"""
    async with graph_server(sandbox) as graph:
        run = await graph.run(query, {"number": 1})
    assert run.errors == [] and run.data["customer"]["name"]
    assert run.paths() == ["/customers/1.json"]


async def test_listings_found_cached_are_not_waited_for(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page read from Kickserv whose customers' listings are all cached: the reads started find
    them at once, and the resolver does not wait for calls that never leave."""
    monkeypatch.setattr(prefetch, "SEND_WAIT", 30.0)  # waiting for sends would hang the test
    one = "query($n: Int!) { customer(number: $n) { jobs(first: 2) { nodes { number } } } }"
    async with graph_server(sandbox) as graph:
        for number in range(1, CUSTOMERS + 1):  # the listings, not the page of customers
            assert (await graph.run(one, {"n": number})).errors == []
        async with asyncio.timeout(10):
            run = await graph.run(JOBS_OF_NODES)
    assert run.errors == [] and run.paths() == ["/customers.json"]
