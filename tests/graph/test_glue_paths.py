"""Every relation that answers from glue when it can must also load when the query asks for more.

Both paths of each field: the glue path costs no call; asking a field the glue lacks loads the full
record (and must give real data, not an unawaited coroutine or an error).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import graph_server


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=25, seed=11, today=None)) as sb:
        yield sb


# (query, path to a list of objects, field, glue-only selection, selection needing a load)
CASES = [
    (
        "{ schedule(from: $from, to: $to, first: 5) { nodes { %s } } }",
        ("schedule",),
        "job",
        "id number name",
        "id total createdAt",
    ),
    (
        "{ schedule(from: $from, to: $to, first: 5) { nodes { %s } } }",
        ("schedule",),
        "customer",
        "id number name",
        "id email isActive",
    ),
    (
        "{ schedule(from: $from, to: $to, first: 5) { nodes { %s } } }",
        ("schedule",),
        "location",
        "id name",
        "id isPrimary customer { id }",
    ),
    (
        "{ schedule(from: $from, to: $to, first: 5) { nodes { %s } } }",
        ("schedule",),
        "assignees",
        "id number name",
        "id email active",
    ),
    (
        "{ invoices(first: 5) { nodes { %s } } }",
        ("invoices",),
        "customer",
        "id number name",
        "id email isActive",
    ),
    (
        "{ invoices(first: 5) { nodes { %s } } }",
        ("invoices",),
        "customer",
        "id name serviceAddress { line1 city }",
        "id serviceAddress { city } billingAddress { line1 city }",
    ),
    (
        "{ payments(first: 5) { nodes { %s } } }",
        ("payments",),
        "customer",
        "id number name",
        "id email isActive",
    ),
    (
        "{ opportunities(first: 5) { nodes { %s } } }",
        ("opportunities",),
        "customer",
        "id number name",
        "id email isActive",
    ),
    ("{ jobs(first: 5) { nodes { %s } } }", ("jobs",), "customer", "id", "id email isActive"),
    (
        "{ jobs(first: 5) { nodes { %s } } }",
        ("jobs",),
        "location",
        "id",
        "id isPrimary address { city }",
    ),
]


def top_level(selection: str) -> set[str]:
    """The field names of a selection outside any nested braces."""
    names, depth = set(), 0
    for token in selection.replace("{", " { ").replace("}", " } ").split():
        depth += token == "{"
        depth -= token == "}"
        if depth == 0 and token.isidentifier():
            names.add(token)
    return names


@pytest.mark.parametrize(("template", "path", "field", "glue", "loaded"), CASES)
async def test_glue_and_load_paths(sandbox, template, path, field, glue, loaded):
    today = sandbox.state.today("demo")
    variables = {"from": str(today.replace(day=1)), "to": str(today.replace(day=28))}
    head = "query ($from: Date!, $to: Date!) " if "$from" in template else ""
    async with graph_server(sandbox) as graph:
        for selection in (glue, loaded):
            query = head + template % f"{field} {{ {selection} }}"
            run = await graph.run(query, variables)
            assert run.status == 200 and not run.errors, run.body
            nodes = run.data[path[0]]["nodes"]
            values = [n[field] for n in nodes if n[field]]
            assert nodes and values, f"no {field} to check in {run.data}"
            for value in values:
                for item in value if isinstance(value, list) else [value]:
                    assert top_level(selection) <= set(item), item
