"""The response cache over the real app (httpx.ASGITransport) and a real sandbox: what is a hit, what
is a miss, what ends an entry (a write, the shortest TTL read, the LRU bound), and what a hit must
still pass (authentication, the persisted-query policy, limits)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql.utilities import get_operation_ast

import graph.server.http
from graph.server.assembly import build_app, server_of
from graph.server.response_cache import ResponseCache
from graph.server.settings import Settings
from resolvers.cache import SharedCache
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import Graph, multi_credential_server, serving, settings_for

CUSTOMERS = "query Customers($first: Int!) { customers(first: $first) { nodes { number name } } }"
CUSTOMERS_AND_INVOICES = """
query CustomersAndInvoices {
  customers(first: 3) { nodes { number name } }
  invoices(first: 3) { nodes { id number } }
}"""
NAMES = "query Names { customers(first: 3) { nodes { name } } }"
TWO_OPERATIONS = """
query First { customers(first: 1) { nodes { name } } }
query Second { customers(first: 2) { nodes { name } } }
"""
JOBS = "query Jobs { jobs(first: 100) { totalCount nodes { number } } }"
NOTES = "query Notes($n: Int) { customer(number: $n) { notes { body } } }"
ADD_NOTE = """
mutation Note($n: Int!, $body: String!) {
  addCustomerNote(customerNumber: $n, input: {body: $body}) { body }
}"""
MISSING = "query Missing { customer(number: 999999) { name } }"
HIT = {"calls": 0, "pages": 0, "cacheHits": 0, "ms": 0.0, "responseCache": "hit"}
TRACE = {"apollo-federation-include-trace": "ftv1"}
OPEN_KEY = "open-key-0123456789abcdef"
PARTNER_KEY = "partner-key-0123456789abc"
FRUGAL_KEY = "frugal-key-0123456789abcd"


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=30, acme_customers=10, seed=3)) as sandbox:
        yield sandbox


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The operation name of every request the endpoint really executed."""
    seen: list[str | None] = []
    execute = graph.server.http.execute

    def counting(schema: Any, document: Any, *args: Any, **kwargs: Any) -> Any:
        operation = get_operation_ast(document, kwargs.get("operation_name"))
        seen.append(operation.name.value if operation and operation.name else None)
        return execute(schema, document, *args, **kwargs)

    monkeypatch.setattr(graph.server.http, "execute", counting)
    return seen


@asynccontextmanager
async def server(sb: RunningSandbox, **settings: Any) -> AsyncIterator[tuple[Graph, Any]]:
    app = build_app(settings_for(sb, **settings))
    async with serving(app, sb) as graph_:
        yield graph_, app


async def post(
    graph_: Graph, query: str, variables: dict[str, Any] | None = None, **extra: Any
) -> httpx.Response:
    headers = extra.pop("headers", {})
    body = {"query": query, "variables": variables or {}, **extra}
    return await graph_.http.post("/graphql", json=body, headers=headers)


def upstream(response: httpx.Response) -> dict[str, Any]:
    return dict(response.json().get("extensions", {}).get("upstream", {}))


# --- hits and misses ------------------------------------------------------------------------------


async def test_a_repeated_query_is_a_hit_without_execution_or_upstream_calls(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb) as (graph_, app):
        first = await graph_.run(CUSTOMERS, {"first": 3})
        again = await graph_.run(CUSTOMERS, {"first": 3})

    assert first.errors == [] and first.calls == 1
    assert "responseCache" not in first.upstream  # a miss says nothing new
    assert again.data == first.data
    assert again.calls == 0
    assert again.upstream == HIT
    assert executions == ["Customers"]
    assert server_of(app).response_cache.counters["hits"] == 1


async def test_other_variables_or_operation_are_misses(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb) as (graph_, _app):
        three = await graph_.run(CUSTOMERS, {"first": 3})
        two = await graph_.run(CUSTOMERS, {"first": 2})
        first = await post(graph_, TWO_OPERATIONS, operationName="First")
        second = await post(graph_, TWO_OPERATIONS, operationName="Second")
        first_again = await post(graph_, TWO_OPERATIONS, operationName="First")

    assert len(three.data["customers"]["nodes"]) == 3
    assert len(two.data["customers"]["nodes"]) == 2
    assert len(first.json()["data"]["customers"]["nodes"]) == 1
    assert len(second.json()["data"]["customers"]["nodes"]) == 2
    assert first_again.json()["data"] == first.json()["data"]
    assert upstream(first_again) == HIT
    assert executions == ["Customers", "Customers", "First", "Second"]


async def test_two_credentials_of_one_account_never_share_a_response(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with multi_credential_server(sb) as graph_:
        admin = await graph_.run(JOBS)
        limited = await graph_.run(JOBS, token="demo-token-6")
        limited_again = await graph_.run(JOBS, token="demo-token-6")
        admin_again = await graph_.run(JOBS)

    assert limited.calls > 0  # the admin's cached answer was not served to employee 6
    assert limited.data["jobs"]["totalCount"] < admin.data["jobs"]["totalCount"]
    assert limited_again.data == limited.data and limited_again.upstream == HIT
    assert admin_again.data == admin.data and admin_again.upstream == HIT
    assert len(executions) == 2


async def test_two_accounts_never_share_a_response(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    settings = Settings(kickserv_base_url=sb.base_url, pass_through=True)
    demo = {"x-kickserv-account": "demo", "x-kickserv-token": "demo-token"}
    acme = {"x-kickserv-account": "acme", "x-kickserv-token": "acme-token"}
    async with serving(build_app(settings), sb) as graph_:
        as_demo = await post(graph_, CUSTOMERS, {"first": 3}, headers=demo)
        as_acme = await post(graph_, CUSTOMERS, {"first": 3}, headers=acme)
        as_acme_again = await post(graph_, CUSTOMERS, {"first": 3}, headers=acme)

    names = {"demo": as_demo.json()["data"], "acme": as_acme.json()["data"]}
    store_names = [c.name for c in sb.store("acme").customers_by_number.values()]
    assert names["demo"] != names["acme"]
    assert {n["name"] for n in names["acme"]["customers"]["nodes"]} <= set(store_names)
    assert upstream(as_acme)["calls"] == 1
    assert as_acme_again.json()["data"] == names["acme"] and upstream(as_acme_again) == HIT
    assert len(executions) == 2


# --- what ends an entry ---------------------------------------------------------------------------


async def test_a_write_makes_the_next_identical_query_a_miss_that_shows_it(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb) as (graph_, _app):
        before = await graph_.run(NOTES, {"n": 3})
        cached = await graph_.run(NOTES, {"n": 3})
        wrote = await graph_.run(ADD_NOTE, {"n": 3, "body": "Gate code 4411"})
        after = await graph_.run(NOTES, {"n": 3})
        after_again = await graph_.run(NOTES, {"n": 3})
        wrote_again = await graph_.run(ADD_NOTE, {"n": 3, "body": "Gate code 4411"})

    assert cached.upstream == HIT
    assert wrote.errors == [] and wrote_again.errors == []
    bodies = [note["body"] for note in after.data["customer"]["notes"]]
    assert "Gate code 4411" not in [n["body"] for n in before.data["customer"]["notes"]]
    assert bodies.count("Gate code 4411") == 1
    assert after.upstream.get("responseCache") is None
    assert after_again.upstream == HIT
    # mutations are never cached: the second one ran (and wrote) too
    assert executions == ["Notes", "Note", "Notes", "Note"]
    assert sum(n.body == "Gate code 4411" for n in sb.store("demo").notes.values()) == 2


async def test_expiry_follows_the_shortest_ttl_of_what_was_read(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb) as (graph_, app):
        shared: SharedCache = server_of(app).cache
        offset = [0.0]
        shared.clock = lambda: time.monotonic() + offset[0]  # the store keeps real time

        async def hit(query: str, variables: dict[str, Any] | None = None) -> bool:
            return (await graph_.run(query, variables)).upstream.get("responseCache") == "hit"

        assert not await hit(CUSTOMERS, {"first": 3})  # customers: records, 60 s
        assert not await hit(CUSTOMERS_AND_INVOICES)  # and invoices: money, 15 s
        assert await hit(CUSTOMERS, {"first": 3}) and await hit(CUSTOMERS_AND_INVOICES)

        offset[0] = 20.0
        assert await hit(CUSTOMERS, {"first": 3})
        assert not await hit(CUSTOMERS_AND_INVOICES)

        offset[0] = 50.0  # a new query answered from the page cached at 0 lasts as long as it
        assert not await hit(NAMES)
        assert await hit(NAMES)

        offset[0] = 61.0
        assert not await hit(NAMES)
        assert not await hit(CUSTOMERS, {"first": 3})
        assert await hit(CUSTOMERS, {"first": 3})

    assert executions == [
        "Customers", "CustomersAndInvoices", "CustomersAndInvoices", "Names", "Names", "Customers",
    ]  # fmt: skip


async def test_responses_with_errors_are_not_cached(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb) as (graph_, app):
        first = await graph_.run(MISSING)
        again = await graph_.run(MISSING)

    assert first.errors and again.errors
    assert again.calls == 1
    assert executions == ["Missing", "Missing"]
    assert len(server_of(app).response_cache) == 0


async def test_federated_tracing_requests_bypass_the_cache(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb) as (graph_, _app):
        plain = await post(graph_, CUSTOMERS, {"first": 3})
        traced = await post(graph_, CUSTOMERS, {"first": 3}, headers=TRACE)
        traced_again = await post(graph_, CUSTOMERS, {"first": 3}, headers=TRACE)

    assert plain.json()["data"] == traced.json()["data"] == traced_again.json()["data"]
    assert "ftv1" in traced.json()["extensions"] and "ftv1" in traced_again.json()["extensions"]
    assert upstream(traced_again).get("responseCache") is None
    assert len(executions) == 3


async def test_the_lru_bound_holds_and_a_large_response_is_not_kept(
    sb: RunningSandbox, executions: list[str | None]
) -> None:
    async with server(sb, response_cache_max_entries=2) as (graph_, app):
        responses: ResponseCache = server_of(app).response_cache
        for first in (1, 2, 3):
            await graph_.run(CUSTOMERS, {"first": first})
        assert len(responses) == 2
        assert (await graph_.run(CUSTOMERS, {"first": 3})).upstream == HIT
        assert (await graph_.run(CUSTOMERS, {"first": 1})).upstream != HIT  # evicted first

        responses.max_response_bytes = 200
        await graph_.run(CUSTOMERS, {"first": 20})
        assert (await graph_.run(CUSTOMERS, {"first": 20})).upstream != HIT

    assert len(executions) == 6
    assert responses.counters["too_large"] == 2


@pytest.mark.parametrize("switch", ["cache_enabled", "response_cache_enabled"])
async def test_off_when_the_shared_cache_or_itself_is_off(
    sb: RunningSandbox, executions: list[str | None], switch: str
) -> None:
    async with server(sb, **{switch: False}) as (graph_, app):
        await graph_.run(CUSTOMERS, {"first": 3})
        again = await graph_.run(CUSTOMERS, {"first": 3})

    assert server_of(app).response_cache is None
    assert "responseCache" not in again.upstream
    assert len(executions) == 2


# --- what a hit must still pass -------------------------------------------------------------------


def keys_file(tmp_path: Path) -> str:
    path = tmp_path / "keys.toml"

    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    path.write_text(
        f"""
[[keys]]
name = "open"
key_sha256 = "{digest(OPEN_KEY)}"

[[keys]]
name = "partner"
key_sha256 = "{digest(PARTNER_KEY)}"
policy = "persisted-only"

[[keys]]
name = "frugal"
key_sha256 = "{digest(FRUGAL_KEY)}"
query_budget = 1
"""
    )
    return str(path)


async def test_a_hit_still_passes_authentication_the_safelist_and_the_budget(
    sb: RunningSandbox, executions: list[str | None], tmp_path: Path
) -> None:
    # given: three keys on the server's own credential, so they share one tenant
    query = CUSTOMERS_AND_INVOICES  # estimated at 2 upstream calls
    async with server(sb, api_keys_file=keys_file(tmp_path)) as (graph_, _app):
        opened = await post(graph_, query, headers={"x-api-key": OPEN_KEY})
        cached = await post(graph_, query, headers={"x-api-key": OPEN_KEY})
        # when: callers who may not run it send the very same request
        anonymous = await post(graph_, query)
        partner = await post(graph_, query, headers={"x-api-key": PARTNER_KEY})
        frugal = await post(graph_, query, headers={"x-api-key": FRUGAL_KEY})

    # then: refused as without a cache
    assert opened.status_code == 200 and upstream(cached) == HIT
    assert anonymous.status_code == 401
    assert partner.status_code == 403
    assert partner.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert frugal.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "data" not in partner.json() and "data" not in frugal.json()
    assert executions == ["CustomersAndInvoices"]
