"""Invoices answered from the index (``invoice(id:)``, ``_entities``) read exactly as the same
invoices answered from the listing (``invoices``), which builds them from full records: the index's
compact projection changes no output, and its customer glue still costs no call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import Run, graph_server

TODAY = date(2026, 11, 21)
SCALARS = (
    "__typename id number name status invoiceDate sentOn paidOn terms "
    "subtotal tax total balanceRemaining"
)
GLUE = f"{SCALARS} customer {{ __typename id number name }}"
BEYOND_GLUE = f"{SCALARS} customer {{ id number name email serviceAddress {{ line1 city zip }} }}"
LIMITS: dict[str, Any] = {"max_aliases": 200, "max_root_fields": 200}


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=60, seed=4, today=TODAY)) as sandbox:
        yield sandbox


def listing(fields: str) -> str:
    return f"{{ invoices(first: 100) {{ totalCount nodes {{ {fields} }} }} }}"


def by_id(ids: list[str], fields: str) -> str:
    return (
        "{" + " ".join(f'i{n}: invoice(id: "{i}") {{ {fields} }}' for n, i in enumerate(ids)) + "}"
    )


ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Invoice { %s } }
}
"""


def nodes(run: Run) -> list[dict[str, Any]]:
    assert run.errors == [], run.errors
    page = run.data["invoices"]
    assert page["totalCount"] == len(page["nodes"])  # every invoice on one page
    return list(page["nodes"])


@pytest.mark.parametrize("fields", [GLUE, BEYOND_GLUE], ids=["glue", "beyond-glue"])
async def test_invoices_from_the_index_read_as_from_the_listing(
    sb: RunningSandbox, fields: str
) -> None:
    async with graph_server(sb, **LIMITS) as graph:
        expected = nodes(await graph.run(listing(fields)))
    ids = [node["id"] for node in expected]
    assert len(ids) > 30 and any(n["balanceRemaining"] not in ("0.0", n["total"]) for n in expected)
    # when: the same invoices by id, and as federation references, on fresh servers (cold index)
    async with graph_server(sb, **LIMITS) as graph:
        one_by_one = await graph.run(by_id(ids, fields))
    async with graph_server(sb, **LIMITS) as graph:
        references = [{"__typename": "Invoice", "id": i} for i in ids]
        entities = await graph.run(ENTITIES % fields, {"representations": references})
    # then: the same answers, field for field
    assert one_by_one.errors == [] and entities.errors == []
    assert [one_by_one.data[f"i{n}"] for n in range(len(ids))] == expected
    assert entities.data["_entities"] == expected
    if fields == GLUE:  # the index's customer glue answers id, number and name: no customer call
        assert set(one_by_one.paths()) == {"/invoices.json"}
        assert set(entities.paths()) == {"/invoices.json"}
