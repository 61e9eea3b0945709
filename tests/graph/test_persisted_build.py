"""`kickserv-graph persisted build` run as a partner runs it (a subprocess): schema validation with
`file:line:column` messages, and bodies printed as Apollo Client sends them (so ids match)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from graphql import parse

from graph.schema.errors import PersistedQueryNotAllowed, PersistedQueryNotFound
from graph.server.apollo import add_typename, apollo_bodies, print_document
from graph.server.persisted import (
    MANIFEST_FORMAT,
    Manifest,
    ManifestError,
    PersistedQueries,
    SafelistPolicy,
    build_manifest,
    sha256_hex,
)

ROOT = Path(__file__).resolve().parents[2]


def persisted_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "graph.server.cli", "persisted", "build", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_unknown_fields_and_fragments_exit_2_with_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "card.graphql").write_text(
        "query Card($n: Int!) {\n  customer(number: $n) {\n    name\n    nope\n    ...Gone\n  }\n}\n"
    )
    (tmp_path / "broken.graphql").write_text("query Broken {\n  customers(first: 2) {\n")
    output = tmp_path / "manifest.json"

    result = persisted_build(str(tmp_path), "-o", str(output))

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert f"{tmp_path / 'card.graphql'}:4:5: Cannot query field 'nope' on type 'Customer'." in (
        line.split(" Did you mean")[0] for line in lines
    )
    assert f"{tmp_path / 'card.graphql'}:5:8: Unknown fragment 'Gone'." in lines
    assert f"{tmp_path / 'broken.graphql'}:3:1: Syntax Error: Expected Name, found <EOF>." in lines
    assert lines[-1] == "kickserv-graph persisted build: 3 problem(s); no manifest written."
    assert "SourceLocation" not in result.stderr
    assert not output.exists()


def test_wrong_argument_type_in_a_fragment_of_another_file_is_placed_in_that_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.graphql").write_text("query A {\n  customers(first: 1) { nodes { ...C } }\n}\n")
    (tmp_path / "b.graphql").write_text(
        "fragment C on Customer {\n  number\n  jobs(first: true) { totalCount }\n}\n"
    )

    result = persisted_build(str(tmp_path))

    assert result.returncode == 2
    assert result.stderr.startswith(f"{tmp_path / 'b.graphql'}:3:15: Int cannot represent")


def test_valid_operations_build_with_fragments_from_any_file(tmp_path: Path) -> None:
    (tmp_path / "a.graphql").write_text("query A { customers(first: 1) { nodes { ...C } } }")
    (tmp_path / "b.graphql").write_text("fragment C on Customer { number }")

    result = persisted_build(str(tmp_path))

    assert result.returncode == 0, result.stderr
    (operation,) = json.loads(result.stdout)["operations"]
    assert operation["body"] == (
        "query A {\n  customers(first: 1) {\n    nodes {\n      ...C\n      __typename\n    }\n"
        "    __typename\n  }\n}\n\nfragment C on Customer {\n  number\n  __typename\n}"
    )
    assert operation["id"] == sha256_hex(operation["body"])


def test_a_fragment_defined_twice_is_refused() -> None:
    with pytest.raises(
        ManifestError,
        match=re.escape("b.graphql:2:1: fragment 'C' is also defined at a.graphql:1:1."),
    ):
        build_manifest(
            [
                ("a.graphql", "fragment C on Customer { number }"),
                (
                    "b.graphql",
                    "query A { customers { nodes { ...C } } }\nfragment C on Customer { id }",
                ),
            ]
        )


# --- Apollo's transform and graphql-js 16's print ------------------------------------------------


def test_typename_is_added_as_apollo_client_adds_it() -> None:
    # What @apollo/client 4.3.8's addTypenameToDocument and graphql 16.15.0's print make of it.
    document = parse(
        'query Q { a { b { c } __typename } d @export(as: "x") { e } __schema { types { name } } }'
        "\nfragment F on T { f { g } }"
    )

    printed = print_document(add_typename(document))

    assert printed == (
        "query Q {\n  a {\n    b {\n      c\n      __typename\n    }\n    __typename\n  }\n"
        '  d @export(as: "x") {\n    e\n  }\n  __schema {\n    types {\n      name\n'
        "      __typename\n    }\n    __typename\n  }\n}\n\nfragment F on T {\n  f {\n    g\n    __typename\n  }\n"
        "  __typename\n}"
    )


@pytest.mark.parametrize(
    ("text", "graphql_js_16"),
    [
        (
            '{ a(x: {b: [1, 2, {c: "d"}], e: null}) @skip(if: false) }',
            '{\n  a(x: {b: [1, 2, {c: "d"}], e: null}) @skip(if: false)\n}',
        ),
        (
            'query Q($a: [Int!]! = [1, 2], $b: I = {x: {y: "z"}}) { f(a: $a) }',
            'query Q($a: [Int!]! = [1, 2], $b: I = {x: {y: "z"}}) {\n  f(a: $a)\n}',
        ),
        (  # 81 characters: the arguments go on their own lines
            'query L { field(one: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", two: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb") }',
            'query L {\n  field(\n    one: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"\n'
            '    two: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"\n  )\n}',
        ),
        (  # JavaScript counts an emoji as two: 82 characters there, 49 in Python
            'query E { f(a: "' + "\U0001f600" * 33 + '", b: "x") }',
            'query E {\n  f(\n    a: "' + "\U0001f600" * 33 + '"\n    b: "x"\n  )\n}',
        ),
        (
            "subscription S { s { ... on X @include(if: true) { y } ...F @skip(if: false) } }",
            "subscription S {\n  s {\n    ... on X @include(if: true) {\n      y\n    }\n"
            "    ...F @skip(if: false)\n  }\n}",
        ),
    ],
)
def test_print_matches_graphql_js_16(text: str, graphql_js_16: str) -> None:
    assert print_document(parse(text)) == graphql_js_16


# --- the server knows a manifest operation by the ids Apollo Client computes --------------------


async def test_an_old_manifest_serves_apollo_ids_and_a_proven_reordering() -> None:
    as_written = (
        'query Q { customers(first: 1, filter: {search: "a"}) { nodes { ...C } } }\n\n'
        "fragment C on Customer { number }"
    )
    reordered = (
        "fragment C on Customer { number __typename }\n"
        'query Q { customers(first: 1, filter: {search: "a"}) { nodes { ...C __typename } '
        "__typename } }"
    )
    operation = {"id": sha256_hex(as_written), "name": "Q", "type": "query", "body": as_written}
    manifest = {"format": MANIFEST_FORMAT, "version": 1, "operations": [operation]}
    queries = PersistedQueries(manifests=[Manifest.from_json(manifest)])
    apollo_16, apollo_17 = apollo_bodies(as_written)
    only = SafelistPolicy.PERSISTED_ONLY

    def apq(text: str) -> dict[str, object]:
        return {"persistedQuery": {"version": 1, "sha256Hash": sha256_hex(text)}}

    by_16 = await queries.resolve(None, None, apq(apollo_16), only)
    by_17 = await queries.resolve(None, None, apq(apollo_17), only)
    with pytest.raises(PersistedQueryNotFound):
        await queries.resolve(None, None, apq(reordered), only)
    sent = await queries.resolve(reordered, None, apq(reordered), only)
    then_by_hash = await queries.resolve(None, None, apq(reordered), only)
    with pytest.raises(PersistedQueryNotAllowed):
        await queries.resolve(reordered.replace("number", "name"), None, None, only)

    assert (by_16.query, by_16.source) == (apollo_16, "manifest")
    assert '{search: "a"}' in by_16.query and '{ search: "a" }' in by_17.query
    assert sent.query == reordered and sent.source == "apq"
    assert (then_by_hash.query, then_by_hash.source) == (reordered, "manifest")
