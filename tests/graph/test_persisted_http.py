"""Persisted queries over real HTTP: Apollo's APQ protocol (POST and GET), trusted-document manifests
built with `kickserv-graph persisted build`, and the safelist policy of each API key."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.cli import main as cli
from graph.server.settings import Settings
from tests.graph.conftest import uvicorn_in_thread

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PARTNER_KEY = "partner-key-0123456789"
AUDITED_KEY = "audited-key-0123456789"
FULL_KEY = "full-access-key-0123456"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
CUSTOMERS = "query Customers { customers(first: 2) { nodes { number name } } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    with uvicorn_in_thread(build_app(settings)) as base_url:
        yield f"{base_url}/graphql"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("manifest") / "manifest.json"
    assert cli(["persisted", "build", str(EXAMPLES), "-o", str(path)]) == 0
    data: dict[str, Any] = json.loads(path.read_text())
    data["path"] = str(path)
    return data


def operation(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(op for op in manifest["operations"] if op["name"] == name)


@pytest.fixture(scope="module")
def open_server(manifest: dict[str, Any]) -> Iterator[str]:
    settings = Settings(
        sandbox_customers=20, persisted_manifests=(manifest["path"],), apq_max_entries=3
    )
    with serving(settings) as url:
        yield url


@pytest.fixture(scope="module")
def keyed_server(
    manifest: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    keys = tmp_path_factory.mktemp("keys") / "keys.toml"
    keys.write_text(
        f"""
[[keys]]
name = "partner"
key_sha256 = "{sha256(PARTNER_KEY)}"
policy = "persisted-only"

[[keys]]
name = "audited"
key = "{AUDITED_KEY}"
policy = "audit"

[[keys]]
name = "full"
key = "{FULL_KEY}"
"""
    )
    settings = Settings(
        sandbox_customers=20, persisted_manifests=(manifest["path"],), api_keys_file=str(keys)
    )
    with serving(settings) as url:
        yield url


# --- the manifest builder -------------------------------------------------------------------


def test_persisted_build_writes_an_apollo_manifest_of_the_examples(
    manifest: dict[str, Any],
) -> None:
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert manifest["version"] == 1
    names = [op["name"] for op in manifest["operations"]]
    assert names == ["AccountsReceivable", "CustomerHistory", "Dashboard", "DispatchWeek"]
    for op in manifest["operations"]:
        assert op["id"] == sha256(op["body"])
        assert op["type"] == "query"


def test_persisted_build_refuses_an_anonymous_operation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "anonymous.graphql"
    source.write_text("{ customers { totalCount } }")

    assert cli(["persisted", "build", str(source), "-o", str(tmp_path / "m.json")]) == 2
    assert "needs a name" in capsys.readouterr().err
    assert not (tmp_path / "m.json").exists()


# --- Automatic Persisted Queries ------------------------------------------------------------


def test_apq_over_post_not_found_then_registered_then_by_hash(open_server: str) -> None:
    query = "query Apq1 { customers(first: 1) { totalCount } }"
    digest = sha256(query)

    unknown = httpx.post(open_server, json={"extensions": apq(digest)})
    registered = httpx.post(open_server, json={"query": query, "extensions": apq(digest)})
    by_hash = httpx.post(open_server, json={"extensions": apq(digest)})

    # Apollo Client retries with the full text on this message/code (404, as Apollo Server answers)
    assert unknown.status_code == 404
    assert unknown.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert registered.status_code == 200
    assert registered.json()["data"]["customers"]["totalCount"] == 20
    assert by_hash.status_code == 200
    assert by_hash.json()["data"] == registered.json()["data"]


def test_apq_over_get_answers_json_never_the_graphiql_page(open_server: str) -> None:
    query = "query Apq2($n: Int!) { customer(number: $n) { name } }"
    digest = sha256(query)
    hash_only = {"extensions": json.dumps(apq(digest)), "variables": json.dumps({"n": 2})}
    headers = {"accept": BROWSER_ACCEPT}

    unknown = httpx.get(open_server, params=hash_only, headers=headers)
    registered = httpx.get(open_server, params={**hash_only, "query": query}, headers=headers)
    by_hash = httpx.get(open_server, params=hash_only, headers=headers)

    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/json")
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered.status_code == 200
    assert by_hash.status_code == 200
    assert by_hash.headers["content-type"].startswith("application/json")
    assert by_hash.json()["data"] == registered.json()["data"]
    assert by_hash.json()["data"]["customer"]["name"]


def test_apq_refuses_a_query_that_does_not_match_its_hash(open_server: str) -> None:
    claimed = sha256("query Other { customers { totalCount } }")
    query = "query Apq3 { customers(first: 1) { totalCount } }"

    mismatch = httpx.post(open_server, json={"query": query, "extensions": apq(claimed)})
    later = httpx.post(open_server, json={"extensions": apq(claimed)})

    assert mismatch.status_code == 400
    assert mismatch.json()["errors"][0]["message"] == "provided sha does not match query"
    assert later.status_code == 404  # nothing was stored under the claimed hash


def test_apq_store_is_bounded(open_server: str) -> None:
    # given: a store of 3 entries (GRAPH_APQ_MAX_ENTRIES=3) and 4 registrations
    queries = [
        f"query Bounded{i} {{ customers(first: {i + 1}) {{ totalCount }} }}" for i in range(4)
    ]
    for query in queries:
        registered = httpx.post(
            open_server, json={"query": query, "extensions": apq(sha256(query))}
        )
        assert registered.status_code == 200

    # then: the oldest is gone, the newest is there
    oldest = httpx.post(open_server, json={"extensions": apq(sha256(queries[0]))})
    newest = httpx.post(open_server, json={"extensions": apq(sha256(queries[-1]))})
    assert oldest.status_code == 404
    assert newest.status_code == 200


# --- trusted documents -----------------------------------------------------------------------


def test_trusted_documents_by_document_id_or_manifest_hash(
    open_server: str, manifest: dict[str, Any]
) -> None:
    dashboard = operation(manifest, "Dashboard")
    variables = {"customers": 2, "jobs": 1}

    by_id = httpx.post(open_server, json={"documentId": dashboard["id"], "variables": variables})
    prefixed = httpx.post(
        open_server, json={"documentId": f"sha256:{dashboard['id']}", "variables": variables}
    )
    by_apq_hash = httpx.post(
        open_server, json={"extensions": apq(dashboard["id"]), "variables": variables}
    )
    by_get = httpx.get(
        open_server,
        params={"documentId": dashboard["id"], "variables": json.dumps(variables)},
        headers={"accept": BROWSER_ACCEPT},
    )
    unknown = httpx.post(open_server, json={"documentId": sha256("nothing")})

    assert by_id.status_code == 200
    assert len(by_id.json()["data"]["customers"]["edges"]) == 2
    assert prefixed.json()["data"] == by_id.json()["data"]
    assert by_apq_hash.json()["data"] == by_id.json()["data"]
    assert by_get.json()["data"] == by_id.json()["data"]
    assert unknown.status_code == 404
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


# --- safelist policies per API key ------------------------------------------------------------


def test_persisted_only_key_runs_manifest_operations_only(
    keyed_server: str, manifest: dict[str, Any]
) -> None:
    partner = {"x-api-key": PARTNER_KEY}
    receivable = operation(manifest, "AccountsReceivable")

    by_id = httpx.post(
        keyed_server,
        json={"documentId": receivable["id"], "variables": {"first": 2}},
        headers=partner,
    )
    manifest_text = httpx.post(
        keyed_server,
        json={"query": receivable["body"], "variables": {"first": 2}},
        headers=partner,
    )
    free_form = httpx.post(keyed_server, json={"query": CUSTOMERS}, headers=partner)
    registration = httpx.post(
        keyed_server,
        json={"query": CUSTOMERS, "extensions": apq(sha256(CUSTOMERS))},
        headers=partner,
    )
    not_registered = httpx.post(
        keyed_server,
        json={"extensions": apq(sha256(CUSTOMERS))},
        headers={"authorization": f"Bearer {FULL_KEY}"},
    )

    assert by_id.status_code == 200 and "errors" not in by_id.json()
    assert manifest_text.json()["data"] == by_id.json()["data"]
    assert free_form.status_code == 403
    (error,) = free_form.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert "documentId" in error["message"]
    assert registration.status_code == 403
    assert not_registered.status_code == 404  # the refused registration stored nothing


def test_audit_key_runs_unknown_documents_and_logs_them(
    keyed_server: str, manifest: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="graph.server.persisted")
    audited = {"authorization": f"Bearer {AUDITED_KEY}"}
    receivable = operation(manifest, "AccountsReceivable")

    free_form = httpx.post(keyed_server, json={"query": CUSTOMERS}, headers=audited)
    from_manifest = httpx.post(
        keyed_server,
        json={"query": receivable["body"], "variables": {"first": 1}},
        headers=audited,
    )

    assert free_form.status_code == 200 and "errors" not in free_form.json()
    assert from_manifest.status_code == 200
    audit_lines = [r.getMessage() for r in caplog.records if r.name == "graph.server.persisted"]
    assert audit_lines == [
        f"audit: key 'audited' sent document {sha256(CUSTOMERS)[:16]}, which is not in any "
        "trusted-document manifest"
    ]
