"""Operation batching over real HTTP: a JSON array of operations (as Apollo Client's BatchHttpLink and
Apollo Router's subgraph batching send it) answered with a JSON array of results in order; each
operation measured by the limits and the caller's budget on its own, its errors in its own result;
the batch size capped (GRAPH_MAX_BATCH), and arrays refused when batching is off."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app, server_of
from graph.server.settings import Settings
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import uvicorn_in_thread

KEY = "batching-key-0123456789"
SMALL = "small-budget-key-0123456"
GRAPHQL_RESPONSE = "application/graphql-response+json"
CUSTOMER = "query One($n: Int!) { customer(number: $n) { number name } }"
JOB_TYPES = "query Types { jobTypes { id name } }"
INVOICES = "{ invoices(first: 30) { nodes { id customer { name } } } }"  # estimated 31 calls


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=20, seed=5)) as sb:
        yield sb


@pytest.fixture(scope="module")
def url(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = tmp_path_factory.mktemp("keys") / "keys.toml"
    keys.write_text(
        f'[[keys]]\nname = "batcher"\nkey = "{KEY}"\n\n'
        f'[[keys]]\nname = "small"\nkey = "{SMALL}"\nquery_budget = 20\n'
    )
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        api_keys_file=str(keys),
        max_batch=4,
        upstream_extensions=False,
    )
    app = build_app(settings)
    now = time.monotonic()
    server_of(app).cache.clock = lambda: now  # frozen: freshness (max-age) is exact
    with uvicorn_in_thread(app) as base_url:
        yield f"{base_url}/graphql"


def post(url: str, body: Any, *, key: str = KEY, accept: str = GRAPHQL_RESPONSE) -> httpx.Response:
    return httpx.post(url, json=body, headers={"x-api-key": key, "accept": accept})


def codes(result: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", ())]


def test_a_batch_answers_each_operation_in_order_as_alone(url: str) -> None:
    operations = [
        {"query": CUSTOMER, "variables": {"n": 2}, "operationName": "One"},
        {"query": JOB_TYPES},
        {"query": CUSTOMER, "variables": {"n": 1}},
    ]

    batch = post(url, operations)
    alone = [post(url, operation).json() for operation in operations]

    assert batch.status_code == 200
    assert batch.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert batch.json() == alone
    first, _, last = batch.json()
    assert (first["data"]["customer"]["number"], last["data"]["customer"]["number"]) == (2, 1)


def test_one_bad_operation_keeps_its_errors_to_itself(url: str, sandbox: RunningSandbox) -> None:
    sandbox.reset_requests()
    batch = post(
        url,
        [
            {"query": "{ nope }"},  # validation
            {"query": "{ customers(first: 101) { totalCount } }"},  # a limit
            {"query": JOB_TYPES},
            "not an operation",
        ],
    ).json()
    too_many = post(url, [{"query": JOB_TYPES}] * 5)

    assert [codes(r) for r in batch] == [
        ["GRAPHQL_VALIDATION_FAILED"],
        ["QUERY_TOO_COMPLEX"],
        [],
        ["BAD_REQUEST"],
    ]
    assert batch[1]["errors"][0]["extensions"]["rule"] == "pageSize"
    assert "data" not in batch[0] and "data" not in batch[1]
    assert [t["name"] for t in batch[2]["data"]["jobTypes"]]
    assert sandbox.request_count() <= 1  # the job types only; the others never ran
    # over the maximum: the whole batch is refused before any operation runs
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": "batchSize",
        "limit": 4,
        "measure": 5,
    }


def test_each_operation_is_measured_against_the_budget_on_its_own(url: str) -> None:
    cheap = {"query": "{ customer(number: 1) { name } }"}  # estimated 1 call
    # The small key's budget is 20 calls per operation: four cheap ones pass (4 in all), the
    # invoices listing (31) is refused in its place whatever comes with it.
    batch = post(url, [cheap, {"query": INVOICES}, cheap, cheap], key=SMALL)

    results = batch.json()
    assert batch.status_code == 200
    assert [codes(r) for r in results] == [[], ["QUERY_TOO_COMPLEX"], [], []]
    assert results[1]["errors"][0]["extensions"]["rule"] == "budget"
    assert results[1]["errors"][0]["extensions"]["limit"] == 20
    assert post(url, [{"query": INVOICES}]).json()[0]["data"]["invoices"]["nodes"]


def test_mixed_apq_items_in_one_batch(url: str) -> None:
    query = "query Batched { jobTypes { name } }"
    digest = sha256(query)

    first = post(
        url,
        [
            {"extensions": apq(digest)},  # not known yet: its own 404-coded result
            {"query": query, "extensions": apq(digest)},  # registers it
            {"query": CUSTOMER, "variables": {"n": 3}},
        ],
    )
    second = post(url, [{"extensions": apq(digest)}, {"extensions": apq(sha256("{ x }"))}])

    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-store"  # one of them is an error
    miss, registered, plain = first.json()
    assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert registered["data"]["jobTypes"] and plain["data"]["customer"]["number"] == 3
    hit, unknown = second.json()
    assert hit == registered
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]


def test_a_batch_is_authenticated_once(url: str) -> None:
    response = post(url, [{"query": JOB_TYPES}, {"query": JOB_TYPES}], key="wrong-key-0123456789")

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_an_error_free_batch_is_cached_as_its_least_fresh_operation(url: str) -> None:
    batch = post(url, [{"query": JOB_TYPES}, {"query": CUSTOMER, "variables": {"n": 4}}])
    types = post(url, {"query": JOB_TYPES})

    assert batch.headers["vary"] == "Accept, Authorization, X-API-Key"
    # the customer record lives 60 s in the cache, job types 600 s: the batch lasts the shorter
    assert batch.headers["cache-control"] == "private, max-age=60"
    assert types.headers["cache-control"] == "private, max-age=600"


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
def test_batching_switched_off_refuses_arrays(accept: str) -> None:
    settings = Settings(sandbox_customers=5, max_batch=0, upstream_extensions=False)
    with uvicorn_in_thread(build_app(settings)) as base_url:
        refused = httpx.post(
            f"{base_url}/graphql", json=[{"query": "{ __typename }"}], headers={"accept": accept}
        )
        single = httpx.post(f"{base_url}/graphql", json={"query": "{ __typename }"})

    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["extensions"] == {"code": "BATCHING_NOT_ENABLED"}
    assert "GRAPH_MAX_BATCH" in error["message"]
    assert single.json() == {"data": {"__typename": "Query"}}
