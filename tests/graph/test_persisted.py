from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.schema.errors import BadRequest
from graph.server.persisted import (
    Manifest,
    PersistedQueries,
    PersistedQueryNotAllowed,
    PersistedQueryNotFound,
    SafelistPolicy,
    build_manifest,
    sha256_hex,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DOC = """
query A { ...F }
query B { customers(first: 1) { totalCount } }
fragment F on Query { employees { id } }
"""


def manifest() -> Manifest:
    return Manifest.from_json(build_manifest([("doc.graphql", DOC)]))


def test_build_manifest_gives_each_operation_its_fragments_and_hash():
    data = build_manifest([("doc.graphql", DOC)])
    ops = {op["name"]: op for op in data["operations"]}
    assert data["format"] == "apollo-persisted-query-manifest" and data["version"] == 1
    assert "fragment F" in ops["A"]["body"] and "fragment F" not in ops["B"]["body"]
    for op in ops.values():
        assert op["id"] == sha256_hex(op["body"]) and op["type"] == "query"


def test_build_manifest_from_examples_round_trips():
    sources = [(p.name, p.read_text()) for p in sorted(EXAMPLES.glob("*.graphql"))]
    data = build_manifest(sources)
    assert {op["name"] for op in data["operations"]} >= {"Dashboard", "DispatchWeek"}
    assert len(Manifest.from_json(json.loads(json.dumps(data))).operations) == len(sources)


@pytest.mark.parametrize(
    "bad",
    [
        {"format": "nope", "version": 1, "operations": []},
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{"id": "x", "body": "{a}"}],
        },
    ],
)
def test_manifest_rejects_wrong_format_version_and_hash(bad):
    with pytest.raises(ValueError):
        Manifest.from_json(bad)


def test_unnamed_or_duplicate_operations_are_refused():
    with pytest.raises(ValueError, match="name"):
        build_manifest([("a.graphql", "{ employees { id } }")])
    with pytest.raises(ValueError, match="also defined"):
        build_manifest([("a.graphql", "query X { a }"), ("b.graphql", "query X { b }")])


async def test_apq_flow_unknown_hash_then_register_then_hash_only():
    pq = PersistedQueries()
    query = "{ employees { id } }"
    digest = sha256_hex(query)
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    with pytest.raises(PersistedQueryNotFound) as not_found:
        await pq.resolve(None, None, ext)
    assert not_found.value.message == "PersistedQueryNotFound"
    with pytest.raises(BadRequest, match="does not match"):
        await pq.resolve("{ other }", None, ext)
    assert (await pq.resolve(query, None, ext)).source == "apq"
    assert (await pq.resolve(None, None, ext)).query == query


async def test_apq_store_is_bounded():
    pq = PersistedQueries(apq_max_entries=3)
    for i in range(10):
        q = f"{{ f{i} }}"
        await pq.resolve(q, None, {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(q)}})
    assert pq.apq_size == 3


async def test_document_id_and_persisted_only_policy():
    m = manifest()
    pq = PersistedQueries(manifests=[m])
    op = next(o for o in m.operations.values() if o.name == "B")
    assert (await pq.resolve(None, f"sha256:{op.id}", None)).query == op.body
    by_hash = await pq.resolve(
        None,
        None,
        {"persistedQuery": {"version": 1, "sha256Hash": op.id}},
        SafelistPolicy.PERSISTED_ONLY,
    )
    assert by_hash.source == "manifest"
    with pytest.raises(PersistedQueryNotFound):
        await pq.resolve(None, "sha256:" + "0" * 64, None)
    with pytest.raises(PersistedQueryNotAllowed):
        await pq.resolve("{ employees { id } }", None, None, SafelistPolicy.PERSISTED_ONLY)
    # the exact text of a manifest operation is allowed even as free-form
    assert (
        await pq.resolve(op.body, None, None, SafelistPolicy.PERSISTED_ONLY)
    ).source == "manifest"
    # persisted-only callers cannot register new APQ entries nor use others' registrations
    q = "{ vendors { totalCount } }"
    await pq.resolve(q, None, {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(q)}})
    with pytest.raises(PersistedQueryNotFound):
        await pq.resolve(
            None,
            None,
            {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(q)}},
            SafelistPolicy.PERSISTED_ONLY,
        )


async def test_audit_policy_logs_but_allows(caplog):
    pq = PersistedQueries(manifests=[manifest()])
    with caplog.at_level("WARNING", logger="graph.server.persisted"):
        assert (await pq.resolve("{ unknown }", None, None, SafelistPolicy.AUDIT)).source == "query"
    assert "not in any trusted-document manifest" in caplog.text
    assert "{ unknown }" not in caplog.text
