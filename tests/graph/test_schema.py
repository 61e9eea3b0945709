"""schema.graphql is the exported SDL of the running schema, and the schema documents itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import strawberry
from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
)

from graph.schema.query import build_schema
from graph.server.cli import main, schema_sdl

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "schema.graphql"


def ours(named: GraphQLNamedType) -> bool:
    """Types we define: not introspection's (``__Type``), federation's (``_Service``, ``_Any``) or
    the ``@link`` machinery's (``link__Purpose``)."""
    return not named.name.startswith("_") and not named.name.startswith("link__")


def undocumented(schema: GraphQLSchema) -> list[str]:
    missing = []
    for name, named in sorted(schema.type_map.items()):
        if not ours(named) or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not (named.description or "").strip():
            missing.append(name)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not field_name.startswith("_") and not (field.description or "").strip():
                    missing.append(f"{name}.{field_name}")
    return missing


def test_committed_schema_is_the_running_schema():
    assert COMMITTED.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql differs from the running schema: run `kickserv-graph export-schema` and "
        "commit schema.graphql."
    )


def test_every_type_and_field_has_a_description():
    assert undocumented(build_schema()._schema) == []


@strawberry.type
class Bare:
    plain: int


@strawberry.type(description="Root.")
class BareQuery:
    @strawberry.field(description="A bare thing.")
    def bare(self) -> Bare:
        return Bare(plain=1)


def test_the_description_walk_finds_what_is_missing():
    assert undocumented(strawberry.Schema(query=BareQuery)._schema) == ["Bare", "Bare.plain"]


def test_export_schema_writes_schema_graphql_by_default(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["export-schema"]) == 0
    assert (tmp_path / "schema.graphql").read_text(encoding="utf-8") == schema_sdl()


def test_export_schema_to_a_named_file_or_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    target = tmp_path / "out" / "subgraph.graphql"
    target.parent.mkdir()
    assert main(["export-schema", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_sdl()
    capsys.readouterr()
    assert main(["export-schema", "--output", "-"]) == 0
    assert capsys.readouterr().out == schema_sdl()


def test_export_schema_reports_an_unwritable_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["export-schema", "-o", str(tmp_path / "missing" / "schema.graphql")]) == 2
    assert "missing" in capsys.readouterr().err


def test_the_sdl_is_a_federation_v2_subgraph_with_keys():
    sdl = schema_sdl()
    assert sdl.startswith('schema @link(url: "https://specs.apollo.dev/federation/v2')
    for entity in ("Customer", "Job", "Invoice", "Task", "Employee"):
        assert f"type {entity} @key(fields: " in sdl
    assert "type InvoiceConnection {" in sdl and "InvoiceInvoiceConnection" not in sdl
