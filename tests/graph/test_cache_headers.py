"""Cache-Control and Vary over real HTTP: an error-free query may be reused for as long as the least
fresh upstream answer it was built from (public in open mode, private and varying by key with API
keys); errors, APQ misses, limits, mutations and answers built without the cache are ``no-store``.
The shared cache's clock is frozen, so every max-age is exact."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graph.server.assembly import build_app, server_of
from graph.server.http_headers import CachePolicy
from graph.server.settings import Settings
from sandbox.app import SandboxConfig
from sandbox.testing import running_sandbox
from tests.graph.conftest import uvicorn_in_thread

KEY = "cache-headers-key-0123456"
GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}
JOB_TYPES = "{ jobTypes { id name } }"  # reference data: 600 s
WITH_PAYMENTS = "{ jobTypes { id } payments(first: 2) { nodes { id } } }"  # money: 15 s
NOTE = 'mutation { addCustomerNote(customerNumber: 1, input: {body: "cache headers"}) { body } }'


def frozen(app: Starlette) -> list[float]:
    """The shared cache's clock, frozen at now; move it by changing the list's one item."""
    now = [time.monotonic()]
    server_of(app).cache.clock = lambda: now[0]
    return now


@pytest.fixture(scope="module")
def open_graph() -> Iterator[tuple[str, list[float]]]:
    app = build_app(Settings(sandbox_customers=10))
    now = frozen(app)
    with uvicorn_in_thread(app) as base_url:
        yield f"{base_url}/graphql", now


@pytest.fixture(scope="module")
def keyed_graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = tmp_path_factory.mktemp("keys") / "keys.toml"
    keys.write_text(f'[[keys]]\nname = "web"\nkey = "{KEY}"\n')
    app = build_app(Settings(sandbox_customers=10, api_keys_file=str(keys)))
    frozen(app)
    with uvicorn_in_thread(app) as base_url:
        yield f"{base_url}/graphql"


def test_a_query_is_fresh_as_long_as_the_least_fresh_thing_it_read(
    open_graph: tuple[str, list[float]],
) -> None:
    url, now = open_graph
    types = httpx.get(url, params={"query": JOB_TYPES}, headers=GRAPHQL_RESPONSE)
    both = httpx.get(url, params={"query": WITH_PAYMENTS}, headers=GRAPHQL_RESPONSE)
    now[0] += 10
    both_again = httpx.get(url, params={"query": WITH_PAYMENTS}, headers=GRAPHQL_RESPONSE)
    posted = httpx.post(url, json={"query": JOB_TYPES}, headers=GRAPHQL_RESPONSE)

    assert types.status_code == both.status_code == 200 and "errors" not in both.json()
    # open mode: every caller reads the same account, so shared caches may keep it
    assert types.headers["cache-control"] == "public, max-age=600"
    assert both.headers["cache-control"] == "public, max-age=15"
    # 10 s later the response cache answers: what is left of the freshness
    assert both_again.json()["extensions"]["upstream"]["responseCache"] == "hit"
    assert both_again.headers["cache-control"] == "public, max-age=5"
    # POST answers alike (Apollo Router's response cache reads them; HTTP caches do not reuse POSTs)
    assert posted.headers["cache-control"] == "public, max-age=590"
    assert types.headers["vary"] == posted.headers["vary"] == "Accept"


def test_answers_with_api_keys_are_private_and_vary_by_key(keyed_graph: str) -> None:
    keyed = httpx.get(
        keyed_graph, params={"query": JOB_TYPES}, headers={**GRAPHQL_RESPONSE, "x-api-key": KEY}
    )
    bearer = httpx.get(
        keyed_graph,
        params={"query": JOB_TYPES},
        headers={**GRAPHQL_RESPONSE, "authorization": f"Bearer {KEY}"},
    )
    anonymous = httpx.get(keyed_graph, params={"query": JOB_TYPES}, headers=GRAPHQL_RESPONSE)

    for response in (keyed, bearer):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, max-age=600"
        assert response.headers["vary"] == "Accept, Authorization, X-API-Key"
    assert anonymous.status_code == 401
    assert anonymous.headers["cache-control"] == "no-store"
    assert anonymous.headers["vary"] == "Accept, Authorization, X-API-Key"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


NO_STORE_CASES: dict[str, tuple[str, dict[str, Any], int]] = {
    # name: (method, request, status)
    "validation error": ("GET", {"query": "{ nope }"}, 400),
    "APQ miss": (
        "GET",
        {"extensions": f'{{"persistedQuery":{{"version":1,"sha256Hash":"{sha256("{ x }")}"}}}}'},
        404,
    ),
    "over a limit": ("GET", {"query": "{ customers(first: 101) { totalCount } }"}, 400),
    "a field error": ("GET", {"query": "{ customer(number: 999999) { name } }"}, 200),
    "a mutation": ("POST", {"query": NOTE}, 200),
    "a mutation over GET": ("GET", {"query": NOTE}, 405),
    "a traced answer": ("TRACE", {"query": JOB_TYPES}, 200),
}


@pytest.mark.parametrize("case", NO_STORE_CASES)
def test_errors_apq_misses_and_mutations_are_no_store(
    open_graph: tuple[str, list[float]], case: str
) -> None:
    url, _ = open_graph
    method, request, status = NO_STORE_CASES[case]
    if method == "POST":
        response = httpx.post(url, json=request, headers=GRAPHQL_RESPONSE)
    elif method == "TRACE":  # as Apollo Router asks for a federated trace
        response = httpx.post(
            url,
            json=request,
            headers={**GRAPHQL_RESPONSE, "apollo-federation-include-trace": "ftv1"},
        )
    else:
        response = httpx.get(url, params=request, headers=GRAPHQL_RESPONSE)

    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["vary"] == "Accept"
    if case == "APQ miss":
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_stale_data_is_no_store() -> None:
    customer = {"query": "{ customer(number: 3) { number name } }"}
    with running_sandbox(SandboxConfig(customers=5, seed=4)) as sb:
        settings = Settings(
            kickserv_account="demo",
            kickserv_api_token="demo-token",
            kickserv_base_url=sb.base_url,
            kickserv_breaker_failures=1,
        )
        app = build_app(settings)
        now = frozen(app)
        with uvicorn_in_thread(app) as base_url:
            fresh = httpx.get(f"{base_url}/graphql", params=customer)
            now[0] += 120  # past the record's 60 s, within the stale window
            sb.state.knobs.update({"error_rate": 1.0})  # Kickserv fails: the cache serves stale
            stale = httpx.get(f"{base_url}/graphql", params=customer)

    assert fresh.headers["cache-control"] == "public, max-age=60"
    assert stale.json()["data"] == fresh.json()["data"]
    assert stale.json()["extensions"]["stale"]["values"] == 1
    assert stale.headers["cache-control"] == "no-store"


def test_without_the_shared_cache_nothing_is_known_fresh() -> None:
    with uvicorn_in_thread(build_app(Settings(sandbox_customers=5, cache_enabled=False))) as base:
        response = httpx.get(f"{base}/graphql", params={"query": JOB_TYPES})

    assert response.status_code == 200 and response.json()["data"]["jobTypes"]
    assert response.headers["cache-control"] == "no-store"


def test_vary_names_every_header_an_answer_depends_on() -> None:
    assert CachePolicy.of(Settings()) == CachePolicy(private=False, vary="Accept")
    assert CachePolicy.of(Settings(pass_through=True)) == CachePolicy(
        private=True, vary="Accept, X-Kickserv-Account, X-Kickserv-Token"
    )
    assert CachePolicy.of(Settings(api_keys_file="k.toml", pass_through=True)).vary == (
        "Accept, Authorization, X-API-Key, X-Kickserv-Account, X-Kickserv-Token"
    )
    assert CachePolicy().cache_control(0.99) == "no-store"  # under a second: nothing to promise
