"""The README's Coverage section names graph fields that exist: every `Type.field` it cites is a
field of that type, every `field(argument: ...)` a root query or mutation field taking those
arguments, and every confidence is one of the reference's words."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import (
    GraphQLArgument,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from graph.schema.query import build_schema, graphql_schema

ROOT = Path(__file__).resolve().parents[1]
CONFIDENCE = re.compile(r"\b(confirmed|inferred|unknown|graph)\b")


def coverage_rows() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Coverage\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| ---") and "| Graph |" not in line:
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows.append(cells)
    return rows


def schema() -> GraphQLSchema:
    return graphql_schema(build_schema())


def test_the_section_has_rows_of_three_cells() -> None:
    rows = coverage_rows()
    assert len(rows) > 60
    assert [r for r in rows if len(r) != 3] == []


def test_every_confidence_is_a_word_of_the_reference() -> None:
    assert [r for r in coverage_rows() if not CONFIDENCE.search(r[2])] == []


def test_every_cited_type_field_exists() -> None:
    s = schema()
    missing = []
    for row in coverage_rows():
        for type_name, field in re.findall(r"`([A-Z]\w*)\.(\w+)", row[1]):
            named = s.get_type(type_name)
            kinds = (GraphQLObjectType, GraphQLInputObjectType)
            if not isinstance(named, kinds) or field not in named.fields:
                missing.append(f"{type_name}.{field}")
    assert missing == []


def test_every_cited_root_field_exists_with_its_arguments() -> None:
    s = schema()
    roots = [t for t in (s.query_type, s.mutation_type) if t is not None]
    missing = []
    for row in coverage_rows():
        for name, arguments in re.findall(r"`([a-z]\w*)(?:\(([^`]*)\))?`", row[1]):
            field = next((t.fields[name] for t in roots if name in t.fields), None)
            if field is None:
                if arguments:  # `name(...)` is always a root field; a bare word may be a key
                    missing.append(name)
                continue
            for argument in re.findall(r"(\w+):", arguments):
                if argument not in field.args and not _input_field(field.args, argument):
                    missing.append(f"{name}({argument}:)")
            for given in re.findall(r"\{([^}]*)\}", arguments):
                for word in re.findall(r"\w+", given):
                    if not _input_field(field.args, word):
                        missing.append(f"{name}({{{word}}})")
    assert missing == []


def _input_field(args: dict[str, GraphQLArgument], name: str) -> bool:
    """Whether ``name`` is a field of one of the input objects the arguments take."""
    for argument in args.values():
        named = get_named_type(argument.type)
        if isinstance(named, GraphQLInputObjectType) and name in named.fields:
            return True
    return False
