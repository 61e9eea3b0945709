"""Exact repeats of a request a response cache hit answered (graph.server.replays), over real HTTP:
answered with what the hit answered, only to the same caller with the same headers that matter,
never once a write moved the tenant's generation, never for a document the server resolved from
what it keeps at run time (APQ), and with the same headers and log fields as a hit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from graph.server.assembly import build_app, server_of
from graph.server.replays import MAX_BODY, request_key
from graph.server.settings import Settings
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import uvicorn_in_thread

DEMO_KEY = "replay-demo-key-0123456789"
ACME_KEY = "replay-acme-key-0123456789"
OTHER_TOKEN_KEY = "replay-demo6-key-012345678"  # demo's account, another Kickserv credential
KEYS_FILE = f"""
[[keys]]
name = "demo"
key = "{DEMO_KEY}"
account = "demo"
token = "demo-token"

[[keys]]
name = "acme"
key = "{ACME_KEY}"
account = "acme"
token = "acme-token"

[[keys]]
name = "demo-6"
key = "{OTHER_TOKEN_KEY}"
account = "demo"
token = "demo-token-6"
"""
NAME = "query Name { customer(number: 1) { number name } }"
NOTES = "query Notes { customer(number: 2) { notes { body } } }"
ADD_NOTE = """mutation Note($body: String!) {
  addCustomerNote(customerNumber: 2, input: {body: $body}) { body } }"""


class Served:
    def __init__(self, app: Starlette, url: str) -> None:
        self.app = app
        self.url = url
        self.client = httpx.Client(timeout=30)

    def post(self, body: dict[str, Any], key: str = DEMO_KEY, **headers: str) -> httpx.Response:
        return self.client.post(
            f"{self.url}/graphql", json=body, headers={"x-api-key": key, **headers}
        )

    def counts(self) -> dict[str, int]:
        cache = server_of(self.app).response_cache
        assert cache is not None
        return {name: cache.counters[name] for name in ("hits", "misses", "replays")}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=12, acme_customers=8, seed=4)) as sb:
        yield sb


@pytest.fixture(scope="module")
def served(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("replays")
    keys = directory / "keys.toml"
    keys.write_text(KEYS_FILE)
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        api_keys_file=str(keys),
        state_dir=str(directory / "state"),  # the embedded store: its change mark in use
    )
    app = build_app(settings)
    with uvicorn_in_thread(app) as url:
        served = Served(app, url)
        yield served
        served.client.close()


def test_an_exact_repeat_of_a_hit_is_replayed_with_a_hits_answer(served: Served) -> None:
    # when: the same request four times, each with its own request id (not part of the key)
    answers = [served.post({"query": NAME}, **{"x-request-id": f"replay-{i}"}) for i in range(4)]
    counts = served.counts()

    # then: a miss, a hit, then two replays, each answering the hit's bytes and headers
    miss, hit, *replays = answers
    assert [a.status_code for a in answers] == [200] * 4
    assert counts["replays"] == 2, counts
    for replayed in replays:
        assert replayed.content == hit.content
        assert replayed.headers["content-type"] == hit.headers["content-type"]
        assert replayed.headers["vary"] == hit.headers["vary"] == "Accept, Authorization, X-API-Key"
        assert replayed.headers["cache-control"].startswith("private, max-age=")
    assert [a.headers["x-request-id"] for a in answers] == [f"replay-{i}" for i in range(4)]
    assert miss.json()["data"] == hit.json()["data"]


def test_another_key_tenant_or_credential_never_gets_a_replay(
    served: Served, sandbox: RunningSandbox
) -> None:
    # given: demo's request replayed
    for _ in range(3):
        demo = served.post({"query": NAME})
    before = served.counts()

    # when: the same body with acme's key, another credential of demo's account, a wrong key
    acme = served.post({"query": NAME}, ACME_KEY)
    other_credential = served.post({"query": NAME}, OTHER_TOKEN_KEY)
    wrong = served.post({"query": NAME}, DEMO_KEY[:-1] + "x")
    after = served.counts()

    # then: acme reads its own account, demo-6 gets its own response (executed: a miss), the
    # wrong key is refused, and nothing of demo's was replayed to any of them
    assert (
        demo.json()["data"]["customer"]["name"] == sandbox.store("demo").customers_by_number[1].name
    )
    assert (
        acme.json()["data"]["customer"]["name"] == sandbox.store("acme").customers_by_number[1].name
    )
    assert other_credential.status_code == 200 and wrong.status_code == 401
    assert after["replays"] == before["replays"]
    assert after["misses"] - before["misses"] == 2


def test_a_header_that_matters_misses_the_replay_and_one_that_does_not_is_replayed(
    served: Served,
) -> None:
    for _ in range(3):
        served.post({"query": NAME})
    before = served.counts()

    # when: another Accept (another media type), an unknown header, then an ignored one
    graphql_json = served.post({"query": NAME}, accept="application/graphql-response+json")
    unknown = served.post({"query": NAME}, **{"x-something": "1"})
    counted = served.counts()
    ignored = served.post({"query": NAME}, **{"user-agent": "another-client/2"})
    after = served.counts()
    assert ignored.content == unknown.content

    # then: the first two go the whole way (response cache hits, not replays), the last replays
    assert graphql_json.headers["content-type"].startswith("application/graphql-response+json")
    assert unknown.status_code == 200
    assert counted["replays"] == before["replays"]
    assert counted["hits"] - before["hits"] == 2
    assert after["replays"] - counted["replays"] == 1


def test_a_write_ends_the_replay_at_once(served: Served) -> None:
    for _ in range(3):
        served.post({"query": NOTES})
    before = served.counts()

    written = served.post({"query": ADD_NOTE, "variables": {"body": "after the replays"}})
    after_write = served.post({"query": NOTES})

    assert written.status_code == 200 and "errors" not in written.json(), written.text
    bodies = [note["body"] for note in after_write.json()["data"]["customer"]["notes"]]
    assert "after the replays" in bodies
    assert served.counts()["replays"] == before["replays"]


def test_an_apq_hash_is_resolved_on_every_request_never_replayed(served: Served) -> None:
    digest = hashlib.sha256(NAME.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    registered = served.post({"query": NAME, "extensions": persisted})
    before = served.counts()

    answers = [served.post({"extensions": persisted}) for _ in range(3)]

    assert registered.status_code == 200
    assert all(a.status_code == 200 and "errors" not in a.json() for a in answers)
    counts = served.counts()
    assert counts["hits"] - before["hits"] == 3 and counts["replays"] == before["replays"]


def test_the_key_covers_method_path_query_string_body_and_headers() -> None:
    def scope(**changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "method": "POST",
            "path": "/graphql",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"x-api-key", b"k1"), (b"user-agent", b"a"), (b"x-request-id", b"1")],
        }
        return {**base, **changes}

    body = b'{"query": "{ a }"}'
    key = request_key(scope(), body)
    same = [
        request_key(scope(headers=[(b"x-api-key", b"k1"), (b"user-agent", b"b")]), body),
    ]
    different = [
        request_key(scope(method="GET"), body),
        request_key(scope(path="/graphql/"), body),
        request_key(scope(root_path="/api"), body),
        request_key(scope(query_string=b"x=1"), body),
        request_key(scope(), body + b" "),
        request_key(scope(headers=[(b"x-api-key", b"k2")]), body),
        request_key(scope(headers=[(b"x-api-key", b"k1"), (b"cookie", b"c")]), body),
        request_key(scope(headers=[(b"x-api-key", b"k1"), (b"x-api-key", b"k1")]), body),
        # the framing: a path's bytes never pass for a query string's, nor a header's for a body's
        request_key(scope(path="/graphq", query_string=b"l"), body),
        request_key(scope(headers=[(b"x-api-key", b"k1" + body)]), b""),
    ]
    assert key is not None and all(k == key for k in same)
    assert all(k is not None and k != key for k in different)
    assert len(set(different)) == len(different)
    assert request_key(scope(headers=[(b"x-api-key", b"k1\nx-api-key:k2")]), body) is None
    assert request_key(scope(), b" " * MAX_BODY) is not None
    assert request_key(scope(), b" " * (MAX_BODY + 1)) is None  # not hashed for nothing
