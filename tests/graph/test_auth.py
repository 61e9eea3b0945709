"""Tenants and authentication over real HTTP: API keys (Bearer or X-API-Key) mapped to Kickserv
accounts and credentials, pass-through credentials, open local development, tenant isolation with
warm caches, and secrets kept out of logs, errors and extensions."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from graph.server.assembly import build_app
from graph.server.auth import ApiKeys, ApiKeysError, Authenticator
from graph.server.settings import Settings
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import uvicorn_in_thread

DEMO_KEY = "demo-admin-key-0123456789"
ACME_KEY = "acme-office-key-0123456789"
TECH_KEY = "demo-tech-six-key-0123456"
OWN_KEY = "server-own-key-0123456789"
KEYS = (DEMO_KEY, ACME_KEY, TECH_KEY, OWN_KEY)
TOKENS = ("demo-token", "acme-token", "demo-token-6")
KEYS_FILE = f"""
[[keys]]
name = "demo-admin"
key_sha256 = "{hashlib.sha256(DEMO_KEY.encode()).hexdigest()}"
account = "demo"
token_env = "TEST_DEMO_KICKSERV_TOKEN"

[[keys]]
name = "acme-office"
key = "{ACME_KEY}"
account = "acme"
token = "acme-token"

[[keys]]
name = "demo-tech-6"
key = "{TECH_KEY}"
account = "demo"
token = "demo-token-6"

[[keys]]
name = "server-own"
key = "{OWN_KEY}"
"""
TENANT_QUERY = """
query Tenant { customer(number: 1) { id name } jobs(first: 100) { totalCount nodes { id number } } }
"""
JOB = "query Job($n: Int!) { job(number: $n) { id number name } }"


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    with uvicorn_in_thread(build_app(settings)) as base_url:
        yield f"{base_url}/graphql"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=40, acme_customers=25, seed=5)) as sb:
        yield sb


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("keys") / "keys.toml"
    path.write_text(KEYS_FILE)
    return str(path)


@pytest.fixture(scope="module")
def keyed_server(sandbox: RunningSandbox, keys_file: str) -> Iterator[str]:
    # The server's own credential (for keys without one) is demo's, over real HTTP.
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        api_keys_file=keys_file,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEST_DEMO_KICKSERV_TOKEN", "demo-token")
        app = build_app(settings)
    with uvicorn_in_thread(app) as base_url:
        yield f"{base_url}/graphql"


def post(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str):
    return httpx.post(url, json={"query": query, "variables": variables or {}}, headers=headers)


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


# --- API keys --------------------------------------------------------------------------------


def test_a_key_is_accepted_as_bearer_or_x_api_key(keyed_server: str) -> None:
    as_bearer = post(keyed_server, TENANT_QUERY, **bearer(ACME_KEY))
    as_header = post(keyed_server, TENANT_QUERY, **{"x-api-key": ACME_KEY})
    hashed = post(keyed_server, TENANT_QUERY, **bearer(DEMO_KEY))  # stored as key_sha256

    assert as_bearer.status_code == as_header.status_code == hashed.status_code == 200
    assert as_bearer.json()["data"] == as_header.json()["data"]
    assert "errors" not in hashed.json()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer not-a-key-of-ours-123456"},
        {"x-api-key": DEMO_KEY[:-1]},
        {"authorization": "Bearer"},
        {"authorization": f"Basic {DEMO_KEY}"},
    ],
    ids=["missing", "wrong", "truncated", "empty", "not-bearer"],
)
def test_a_missing_or_wrong_key_is_unauthenticated(keyed_server: str, headers: dict) -> None:
    response = post(keyed_server, TENANT_QUERY, **headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    assert "data" not in response.json()


def test_unauthenticated_get_is_refused_before_anything_runs(
    keyed_server: str, sandbox: RunningSandbox
) -> None:
    sandbox.reset_requests()
    response = httpx.get(keyed_server, params={"query": TENANT_QUERY})

    assert response.status_code == 401
    assert sandbox.request_count() == 0


def test_open_mode_needs_no_key_as_the_quickstart_promises() -> None:
    with serving(Settings(sandbox_customers=5)) as url:
        response = post(url, "{ customers { totalCount } }")

    assert response.status_code == 200
    assert response.json()["data"] == {"customers": {"totalCount": 5}}


def test_open_mode_answers_one_caller_for_the_servers_credential_as_it_stands() -> None:
    authenticator = Authenticator(Settings())
    request = Request({"type": "http", "headers": []})
    first = authenticator(request, ("demo", "token-a"))
    assert (first.name, first.account, first.token) == ("anonymous", "demo", "token-a")
    assert authenticator(request, ("demo", "token-a")) is first
    # the server's credential changed (a sandbox started, a token rotated): a caller for it
    again = authenticator(request, ("demo", "token-b"))
    assert (again.account, again.token) == ("demo", "token-b")
    assert authenticator(request, ("acme", "token-b")).account == "acme"


# --- pass-through ----------------------------------------------------------------------------


def test_pass_through_uses_the_callers_credential_and_keeps_none(sandbox: RunningSandbox) -> None:
    settings = Settings(kickserv_base_url=sandbox.base_url, pass_through=True)
    assert settings.kickserv_api_token is None and not settings.sandbox_mode
    acme = {"x-kickserv-account": "acme", "x-kickserv-token": "acme-token"}

    with serving(settings) as url:
        as_acme = post(url, TENANT_QUERY, **acme)
        anonymous = post(url, TENANT_QUERY)
        half = post(url, TENANT_QUERY, **{"x-kickserv-account": "acme"})
        ready = httpx.get(url.removesuffix("/graphql") + "/readyz")

    assert as_acme.status_code == 200, as_acme.text
    assert (
        as_acme.json()["data"]["customer"]["name"]
        == sandbox.store("acme").customers_by_number[1].name
    )
    assert anonymous.status_code == 401
    assert "x-kickserv-token" in anonymous.json()["errors"][0]["message"]
    assert half.status_code == 401
    assert ready.status_code == 200


# --- tenant isolation ------------------------------------------------------------------------


async def test_tenants_and_credentials_see_only_their_own_data_concurrently(
    keyed_server: str, sandbox: RunningSandbox
) -> None:
    callers = {"demo": DEMO_KEY, "acme": ACME_KEY, "tech6": TECH_KEY, "own": OWN_KEY}
    async with httpx.AsyncClient(timeout=30) as client:

        async def ask(key: str, query: str, variables: dict[str, Any] | None = None) -> Any:
            response = await client.post(
                keyed_server,
                json={"query": query, "variables": variables or {}},
                headers=bearer(key),
            )
            return response.json()

        # given: caches warmed by every caller, admin first
        warm = {name: await ask(key, TENANT_QUERY) for name, key in callers.items()}
        demo_jobs = {n["number"] for n in warm["demo"]["data"]["jobs"]["nodes"]}
        tech_jobs = {n["number"] for n in warm["tech6"]["data"]["jobs"]["nodes"]}
        hidden = min(demo_jobs - tech_jobs)
        await ask(DEMO_KEY, JOB, {"n": hidden})  # the admin's read of it is now cached

        # when: everyone asks the same things at once, several times over
        rounds = await asyncio.gather(
            *(
                ask(key, TENANT_QUERY)
                for _ in range(3)
                for key in (DEMO_KEY, ACME_KEY, TECH_KEY, OWN_KEY)
            )
        )
        hidden_for = await asyncio.gather(
            ask(TECH_KEY, JOB, {"n": hidden}), ask(DEMO_KEY, JOB, {"n": hidden})
        )

    # then: each sees its own tenant, as warm as it was cold
    for i, result in enumerate(rounds):
        name = ("demo", "acme", "tech6", "own")[i % 4]
        assert result["data"] == warm[name]["data"]
    demo, acme = sandbox.store("demo"), sandbox.store("acme")
    assert warm["demo"]["data"]["customer"]["name"] == demo.customers_by_number[1].name
    assert warm["acme"]["data"]["customer"]["name"] == acme.customers_by_number[1].name
    assert warm["acme"]["data"]["customer"]["id"] != warm["demo"]["data"]["customer"]["id"]
    assert warm["own"]["data"] == warm["demo"]["data"]
    # and: a limited employee of the same account does not see what the admin's cache holds
    assert tech_jobs < demo_jobs
    assert warm["tech6"]["data"]["jobs"]["totalCount"] == len(tech_jobs)
    limited, admin = hidden_for
    assert limited["data"] == {"job": None}
    assert limited["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert admin["data"]["job"]["number"] == hidden


def test_entities_of_another_tenant_are_not_found(
    keyed_server: str, sandbox: RunningSandbox
) -> None:
    demo_invoice = next(j for j in sandbox.store("demo").jobs.values() if j.invoice_status)
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { id } } }"
    reps = {"r": [{"__typename": "Invoice", "id": str(demo_invoice.id)}]}

    as_demo = post(keyed_server, query, reps, **bearer(DEMO_KEY)).json()
    as_acme = post(keyed_server, query, reps, **bearer(ACME_KEY)).json()

    assert as_demo["data"] == {"_entities": [{"id": str(demo_invoice.id)}]}
    assert as_acme["data"] == {"_entities": [None]}
    assert as_acme["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# --- secrets ---------------------------------------------------------------------------------


def test_keys_and_tokens_never_reach_logs_errors_or_extensions(
    keyed_server: str, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    with serving(Settings(kickserv_base_url=sandbox.base_url, pass_through=True)) as passing:
        for url, query, headers in [
            (keyed_server, TENANT_QUERY, bearer(DEMO_KEY)),
            (keyed_server, TENANT_QUERY, bearer(TECH_KEY)),
            (keyed_server, JOB, bearer(TECH_KEY)),  # missing variable: an error
            (keyed_server, TENANT_QUERY, bearer(DEMO_KEY + "x")),  # wrong key
            (keyed_server, TENANT_QUERY, {"x-api-key": ACME_KEY}),
            (
                passing,
                TENANT_QUERY,
                {"x-kickserv-account": "acme", "x-kickserv-token": "acme-token"},
            ),
            # a token Kickserv refuses: the error names no credential
            (
                passing,
                TENANT_QUERY,
                {"x-kickserv-account": "demo", "x-kickserv-token": "demo-token-6x"},
            ),
        ]:
            response = post(url, query, **headers)
            bodies.append(response.text)

    refused = json.loads(bodies[-1])
    assert refused["data"] == {"customer": None, "jobs": None}
    assert {e["extensions"]["code"] for e in refused["errors"]} == {"UNAUTHENTICATED"}
    assert "X-Kickserv-Token" in refused["errors"][0]["message"]
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    for secret in (*KEYS, *TOKENS, "demo-token-6x"):
        for body in bodies:
            assert secret not in body
        assert secret not in logged


# --- the keys file ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('keys = "x"', "expected a non-empty `keys` list"),
        ('[[keys]]\nkey = "0123456789abcdef"', "needs a `name`"),
        ('[[keys]]\nname = "a"', "needs exactly one of `key` and `key_sha256`"),
        ('[[keys]]\nname = "a"\nkey = "short"', "at least 16 characters"),
        ('[[keys]]\nname = "a"\nkey_sha256 = "abc"', "64 hex digits"),
        ('[[keys]]\nname = "a"\nkey = "0123456789abcdef"\naccount = "demo"', "both `account`"),
        (
            '[[keys]]\nname = "a"\nkey = "0123456789abcdef"\naccount = "demo"\n'
            'token_env = "NOT_SET_ANYWHERE"',
            "environment variable NOT_SET_ANYWHERE (its token) is not set",
        ),
        ('[[keys]]\nname = "a"\nkey = "0123456789abcdef"\npolicy = "lax"', "`policy` must be"),
        ('[[keys]]\nname = "a"\nkey = "0123456789abcdef"\nquery_budget = 0', "`query_budget`"),
        (
            '[[keys]]\nname = "a"\nkey = "0123456789abcdef"\n'
            '[[keys]]\nname = "a"\nkey = "fedcba9876543210"',
            "key names must be unique",
        ),
        (
            '[[keys]]\nname = "a"\nkey = "0123456789abcdef"\n'
            '[[keys]]\nname = "b"\nkey = "0123456789abcdef"',
            "two entries have the same key",
        ),
    ],
)
def test_a_wrong_keys_file_is_refused_at_start_up_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(text)

    with pytest.raises(ApiKeysError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ApiKeys.load(path, environ={})


def test_the_keys_file_may_be_json(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"name": "a", "key": DEMO_KEY, "policy": "audit"}]}))

    keys = ApiKeys.load(path, environ={})

    found = keys.find(DEMO_KEY)
    assert found is not None and found.name == "a" and found.policy == "audit"
    assert keys.find(ACME_KEY) is None
    assert DEMO_KEY not in repr(found)
