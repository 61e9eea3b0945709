"""The house rules of docs/architecture.md, checked on the source: who may import whom, how long a
module may grow, and where Strawberry's internals are touched."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from graphql import GraphQLSchema

from graph.schema.query import build_schema, graphql_schema

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kickserv", "sandbox", "resolvers", "graph")
MAX_LINES = 500
LONG_MODULE_REASON = "Why this module is long:"

# module prefix -> prefixes it must never import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "sandbox": ("kickserv", "resolvers", "graph", "bench", "tests"),
    "kickserv": ("resolvers", "graph", "sandbox", "bench", "tests", "strawberry"),
    "resolvers": ("graph", "sandbox", "bench", "tests", "strawberry", "starlette"),
    "graph.schema": ("graph.server", "sandbox", "bench", "tests", "starlette"),
    "graph.server": ("bench", "tests"),
}
# The sandbox is the server's upstream in one place (the embedded one) and a command of the CLI.
SANDBOX_BUILDERS = {"graph.server.sandboxed", "graph.server.cli"}
# `kickserv-graph bench` imports bench when it runs (from a checkout), never at start.
LAZY_BENCH = {"graph.server.cli"}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found.append((name, path))
    return found


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def top_level(path: Path) -> set[str]:
    """What a module imports when it is imported (not inside its functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    body = ast.Module(
        body=[n for n in tree.body if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)],
        type_ignores=[],
    )
    names: set[str] = set()
    for node in ast.walk(body):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v))
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    rules = [banned for prefix, banned in FORBIDDEN.items() if _within(module, prefix)]
    broken = sorted(
        name
        for name in imported(path)
        for banned in rules
        for prefix in banned
        if _within(name, prefix)
        and not (prefix == "sandbox" and module in SANDBOX_BUILDERS)
        and not (prefix == "bench" and module in LAZY_BENCH and name not in top_level(path))
    )
    assert not broken, f"{module} imports {broken}, against docs/architecture.md"


def test_only_the_sandbox_builder_imports_the_sandbox() -> None:
    importers = {
        module
        for module, path in modules()
        if _within(module, "graph") and any(_within(n, "sandbox") for n in imported(path))
    }
    assert importers <= SANDBOX_BUILDERS


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v))
def test_modules_stay_short_or_say_why(module: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    assert lines <= MAX_LINES or LONG_MODULE_REASON in text[:2000], (
        f"{module} has {lines} lines: split it, or say at its top why not ({LONG_MODULE_REASON})"
    )


def test_strawberry_internals_are_read_in_one_place_only() -> None:
    private = re.compile(r"\._(schema|raw_info)\b")
    readers = {
        module
        for module, path in modules()
        if _within(module, "graph") and private.search(path.read_text(encoding="utf-8"))
    }
    assert readers == {"graph.schema.query"}


def test_the_graphql_schema_under_strawberry_is_where_we_read_it() -> None:
    # Fails on a Strawberry upgrade that moves it: graph.schema.query.graphql_schema is the fix.
    schema = build_schema()
    inner = graphql_schema(schema)
    assert isinstance(inner, GraphQLSchema)
    assert inner.get_type("Customer") is not None
    assert inner.query_type is not None and "customers" in inner.query_type.fields
