"""Limits before execution (depth, aliases, tokens, nesting, root fields, the page size, the
upstream-call budget per API key, the batch size), introspection switched off, masking, and GraphQL
over HTTP, all against the real app over real HTTP with a real sandbox behind it (so "refused before
execution" is counted). Every limit answers 400 QUERY_TOO_COMPLEX with its rule, limit and measure
under both media types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from graph.schema.query import build_schema, graphql_schema
from graph.server.assembly import build_app
from graph.server.limits import measure
from graph.server.settings import Settings, SettingsError
from resolvers.data import RequestData
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import uvicorn_in_thread

ROOT = Path(__file__).resolve().parents[2]
STANDARD = "standard-key-0123456789"
SMALL = "small-budget-key-0123456789"
BIG = "big-budget-key-0123456789"
INTROSPECTIVE = "introspective-key-0123456"
KEYS_FILE = f"""
[[keys]]
name = "standard"
key = "{STANDARD}"

[[keys]]
name = "small"
key = "{SMALL}"
query_budget = 20

[[keys]]
name = "big"
key = "{BIG}"
query_budget = 10000

[[keys]]
name = "introspective"
key = "{INTROSPECTIVE}"
introspection = true
"""
GRAPHQL_RESPONSE = "application/graphql-response+json"
DASHBOARD = (ROOT / "examples" / "dashboard.graphql").read_text()
SCHEMA = graphql_schema(build_schema())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=30, seed=2)) as sb:
        yield sb


def credentials(sb: RunningSandbox) -> dict[str, Any]:
    return {
        "kickserv_account": "demo",
        "kickserv_api_token": "demo-token",
        "kickserv_base_url": sb.base_url,
    }


@pytest.fixture(scope="module")
def keyed(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = tmp_path_factory.mktemp("keys") / "keys.toml"
    keys.write_text(KEYS_FILE)
    settings = Settings(
        **credentials(sandbox),
        api_keys_file=str(keys),
        max_depth=8,
        max_aliases=3,
        max_root_fields=3,
        max_tokens=500,
        query_budget=200,
        max_batch=3,
    )
    with uvicorn_in_thread(build_app(settings)) as base_url:
        yield f"{base_url}/graphql"


@pytest.fixture(scope="module")
def open_server(sandbox: RunningSandbox) -> Iterator[str]:
    settings = Settings(**credentials(sandbox), introspection=False, max_body_bytes=4000)
    with uvicorn_in_thread(build_app(settings)) as base_url:
        yield f"{base_url}/graphql"


def post(url: str, query: str, variables: dict[str, Any] | None = None, *, key: str = STANDARD):
    return httpx.post(
        url,
        json={"query": query, "variables": variables or {}},
        headers={"x-api-key": key, "accept": GRAPHQL_RESPONSE},
    )


def refused(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    return error  # type: ignore[no-any-return]


def cost_of(query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return measure(SCHEMA, fragments, operation, variables).estimate


# --- limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "rule", "measure", "limit"),
    [
        (
            "{ invoices { nodes { job { customer { jobs { nodes { tasks { customer { name } } } } } } } } }",
            "depth",
            9,
            8,
        ),
        (
            "{ a: customer(number: 1) { id } b: customer(number: 2) { id } "
            "c: customer(number: 3) { id } d: customer(number: 4) { id } }",
            "aliases",
            4,
            3,
        ),
        (
            "{ employees { id } jobTypes { id } jobChargeTypes { id } vendors { totalCount } }",
            "rootFields",
            4,
            3,
        ),
    ],
)
def test_shape_limits_refuse_before_any_upstream_call(
    keyed: str, sandbox: RunningSandbox, query: str, rule: str, measure: int, limit: int
) -> None:
    sandbox.reset_requests()
    error = refused(post(keyed, query))

    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": rule,
        "measure": measure,
        "limit": limit,
    }
    assert sandbox.request_count() == 0


def test_too_many_tokens_is_refused_while_parsing(keyed: str, sandbox: RunningSandbox) -> None:
    query = "{ customers { nodes { " + " ".join(["id"] * 600) + " } } }"
    sandbox.reset_requests()

    error = refused(post(keyed, query))

    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "more than 500 tokens" in error["message"]
    assert sandbox.request_count() == 0


DEEP = (
    "{ invoices { nodes { job { customer { jobs { nodes { tasks { customer { name } } } } } } } } }"
)
ALIASES = "{ a: customer(number: 1) { id } b: customer(number: 2) { id } c: customer(number: 3) { id } d: customer(number: 4) { id } }"
ROOTS = "{ employees { id } jobTypes { id } jobChargeTypes { id } vendors { totalCount } }"
NESTED = "{ customers(filter: " + "[" * 201 + "]" * 201 + ") { totalCount } }"
TOKENS = "{ customers { nodes { " + " ".join(["id"] * 600) + " } } }"
EVERY_LIMIT = {
    # rule: (body, limit, measure)
    "tokens": ({"query": TOKENS}, 500, 501),
    "nesting": ({"query": NESTED}, 200, 201),
    "depth": ({"query": DEEP}, 8, 9),
    "aliases": ({"query": ALIASES}, 3, 4),
    "rootFields": ({"query": ROOTS}, 3, 4),
    "pageSize": ({"query": "{ customers(first: 101) { totalCount } }"}, 100, 101),
    "budget": (
        {"query": DASHBOARD, "variables": {"customers": 100, "jobs": 50}},
        200,
        1 + 100 * (2 + 50) + 1,
    ),
    "batchSize": ([{"query": "{ __typename }"}] * 4, 3, 4),
}


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE, "application/json"])
@pytest.mark.parametrize("rule", EVERY_LIMIT)
def test_every_limit_is_a_400_with_rule_limit_and_measure_under_both_media_types(
    keyed: str, sandbox: RunningSandbox, rule: str, accept: str
) -> None:
    body, limit, measure = EVERY_LIMIT[rule]
    sandbox.reset_requests()

    response = httpx.post(keyed, json=body, headers={"x-api-key": STANDARD, "accept": accept})

    error = refused(response)
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert {k: error["extensions"][k] for k in ("code", "rule", "limit", "measure")} == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": rule,
        "limit": limit,
        "measure": measure,
    }
    assert sandbox.request_count() == 0


def test_first_over_the_cap_is_refused_before_execution(
    keyed: str, sandbox: RunningSandbox
) -> None:
    sandbox.reset_requests()
    error = refused(
        post(keyed, "query($n: Int!) { customers(first: $n) { totalCount } }", {"n": 500})
    )

    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": "pageSize",
        "limit": 100,
        "measure": 500,
        "argument": "first",
        "field": "Query.customers",
    }
    assert "`first` is 500 on Query.customers" in error["message"]
    assert sandbox.request_count() == 0


def test_over_budget_reports_the_estimate_and_the_limit(
    keyed: str, sandbox: RunningSandbox
) -> None:
    big = {"customers": 100, "jobs": 50}
    sandbox.reset_requests()

    error = refused(post(keyed, DASHBOARD, big))
    within = post(keyed, DASHBOARD)  # the defaults: 20 customers, 5 jobs each

    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": "budget",
        "measure": cost_of(DASHBOARD, big),
        "limit": 200,
    }
    assert error["extensions"]["measure"] == 1 + 100 * (2 + 50) + 1
    assert within.status_code == 200 and "errors" not in within.json()
    assert within.json()["extensions"]["upstream"]["calls"] <= cost_of(DASHBOARD)


def test_budgets_are_per_api_key(keyed: str) -> None:
    query = "{ invoices(first: 30) { nodes { id customer { name } } } }"  # 1 + 30 = 31
    assert cost_of(query) == 31

    small = refused(post(keyed, query, key=SMALL))
    standard = post(keyed, query, key=STANDARD)
    big = post(keyed, DASHBOARD, {"customers": 100, "jobs": 50}, key=BIG)

    assert small["extensions"]["limit"] == 20
    assert standard.status_code == 200
    assert big.status_code == 200 and "errors" not in big.json()


def test_the_cost_model_as_documented() -> None:
    documented = "{ customers(first: 20) { nodes { jobs(first: 5) { nodes { tasks { id } } } } } }"
    entities = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id customer { name } } } }"
    # Fragments spread into each other double the fields at each level: measured once each.
    levels = [
        f"fragment F{i} on Customer {{ a{i}: id b{i}: id ...F{i + 1} ...F{i + 1} }}"
        for i in range(24)
    ]
    nested = "\n".join([*levels, "fragment F24 on Customer { name }"])

    assert cost_of(documented) == 121
    assert cost_of(entities, {"r": [{"__typename": "Invoice", "id": "1"}] * 100}) == 200
    assert cost_of("{ employees { id } jobTypes { id } }") == 2  # one listing each
    assert cost_of("{ jobs(first: 10) { nodes { jobType { name } customer { name } } } }") == 12
    document = parse("{ customer(number: 1) { ...F0 } }\n" + nested)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    assert measure(SCHEMA, fragments, operation, {}).aliases == 2 * (2**24 - 1)


# --- introspection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Job") { name } }',
        "{ _service { sdl } }",
    ],
)
def test_introspection_is_off_with_api_keys_unless_the_key_allows_it(
    keyed: str, query: str
) -> None:
    error = refused(post(keyed, query))
    allowed = post(keyed, query, key=INTROSPECTIVE)

    assert error["extensions"] == {
        "code": "GRAPHQL_VALIDATION_FAILED",
        "reason": "INTROSPECTION_DISABLED",
    }
    assert allowed.status_code == 200 and "errors" not in allowed.json()


def test_introspection_can_be_switched_off_in_open_mode(open_server: str) -> None:
    error = refused(post(open_server, "{ __schema { types { name } } }"))
    typename = post(open_server, "{ __typename }")

    assert error["extensions"]["reason"] == "INTROSPECTION_DISABLED"
    assert typename.json()["data"] == {"__typename": "Query"}


# --- errors ----------------------------------------------------------------------------------


def test_unexpected_exceptions_are_masked_and_known_errors_keep_their_codes(
    open_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: RequestData) -> Any:
        raise RuntimeError("boom with demo-token inside")

    monkeypatch.setattr(RequestData, "employees", broken)

    response = post(open_server, "{ employees { id } customer(number: 999999) { id } }")

    body = response.json()
    assert response.status_code == 200
    codes = {e["path"][0]: (e["extensions"]["code"], e["message"]) for e in body["errors"]}
    assert codes["employees"] == ("INTERNAL_SERVER_ERROR", "Unexpected error.")
    assert codes["customer"][0] == "NOT_FOUND"
    assert "boom" not in response.text and "demo-token" not in response.text


# --- GraphQL over HTTP -----------------------------------------------------------------------


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), ("application/json", 200)])
def test_request_errors_status_depends_on_the_media_type(
    open_server: str, accept: str, status: int
) -> None:
    response = httpx.post(open_server, json={"query": "{ nope }"}, headers={"accept": accept})

    assert response.status_code == status
    assert response.headers["content-type"] == f"{accept}; charset=utf-8"
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_no_mutation_over_get(open_server: str) -> None:
    response = httpx.get(open_server, params={"query": "mutation { anything }"})

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"variables": {}}', "no query"),
        (b'{"query": 42}', "'query' parameter must be a string"),
        (
            b'{"query": "{ __typename }", "variables": [1]}',
            "'variables' parameter must be a JSON object",
        ),
    ],
)
def test_malformed_requests_get_a_clear_400(open_server: str, content: bytes, message: str) -> None:
    response = httpx.post(
        open_server, content=content, headers={"content-type": "application/json"}
    )

    error = refused(response)
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert message in error["message"]


def test_wrong_variable_types_are_a_400(open_server: str, sandbox: RunningSandbox) -> None:
    sandbox.reset_requests()
    response = post(open_server, "query($n: Int!) { customer(number: $n) { id } }", {"n": "one"})

    error = refused(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$n" in error["message"]
    assert sandbox.request_count() == 0


def test_oversized_bodies_are_refused_before_parsing(open_server: str) -> None:
    # Not even JSON: a 413 (not a 400) shows the body was never parsed.
    response = httpx.post(
        open_server, content=b"{" * 5000, headers={"content-type": "application/json"}
    )

    error = refused(response, 413)
    assert error["extensions"]["code"] == "REQUEST_TOO_LARGE"


def test_other_methods_and_content_types(open_server: str) -> None:
    put = httpx.put(open_server, json={"query": "{ __typename }"})
    form = httpx.post(open_server, data={"query": "{ __typename }"})

    assert put.status_code == 405
    assert form.status_code == 415


# --- settings --------------------------------------------------------------------------------


def test_settings_read_the_auth_persisted_and_limit_variables() -> None:
    settings = Settings.from_env(
        {
            "GRAPH_API_KEYS_FILE": "/etc/kickserv-graph/keys.toml",
            "GRAPH_PASS_THROUGH": "on",
            "GRAPH_PERSISTED_MANIFESTS": "a.json, b.json",
            "GRAPH_APQ": "off",
            "GRAPH_APQ_MAX_ENTRIES": "50",
            "GRAPH_SAFELIST": "persisted-only",
            "GRAPH_INTROSPECTION": "on",
            "GRAPH_MAX_DEPTH": "9",
            "GRAPH_MAX_ALIASES": "8",
            "GRAPH_MAX_TOKENS": "700",
            "GRAPH_MAX_ROOT_FIELDS": "6",
            "GRAPH_QUERY_BUDGET": "321",
        }
    )

    assert (settings.api_keys_file, settings.pass_through) == (
        "/etc/kickserv-graph/keys.toml",
        True,
    )
    assert settings.persisted_manifests == ("a.json", "b.json")
    assert (settings.apq_enabled, settings.apq_max_entries) == (False, 50)
    assert (settings.safelist, settings.introspection) == ("persisted-only", True)
    assert (settings.max_depth, settings.max_aliases, settings.max_tokens) == (9, 8, 700)
    assert (settings.max_root_fields, settings.query_budget) == (6, 321)
    assert Settings.from_env({}).introspection is None  # decided by whether keys are configured
    with pytest.raises(SettingsError, match="GRAPH_SAFELIST is 'strict'"):
        Settings.from_env({"GRAPH_SAFELIST": "strict"})
    with pytest.raises(SettingsError, match="GRAPH_QUERY_BUDGET is 0"):
        Settings.from_env({"GRAPH_QUERY_BUDGET": "0"})


def test_every_example_fits_the_default_budget() -> None:
    default = Settings().query_budget
    for path in sorted((ROOT / "examples").glob("*.graphql")):
        variables = {"number": 1, "from": "2026-01-01", "to": "2026-01-08"}
        assert cost_of(path.read_text(), variables) <= default, path.name
