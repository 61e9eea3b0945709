"""Lean resolvers (graph/schema/lean.py): which fields lose Strawberry's per-field layers, and that the
answers do not change: the bench's wide dashboard executed on the schema as built and on one built
without them, against the same sandbox, compared field by field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from graphql import GraphQLObjectType, parse

import graph.schema.query as query_module
from bench.execution import EXECUTION_QUERY, InProcessExecution, sandbox_settings
from graph.schema.query import build_schema, graphql_schema
from graph.server.assembly import build_app
from resolvers import relations
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=40, seed=2)) as sb:
        yield sb


def resolver_of(type_name: str, field_name: str) -> Any:
    graphql_type = graphql_schema(build_schema()).type_map[type_name]
    assert isinstance(graphql_type, GraphQLObjectType)
    return graphql_type.fields[field_name].resolve


def test_plain_attributes_and_info_only_methods_are_lean() -> None:
    assert resolver_of("Job", "number").__qualname__ == "_attribute.<locals>.resolve"
    assert resolver_of("Job", "balanceRemaining").__qualname__ == "_attribute.<locals>.resolve"
    assert resolver_of("Job", "tasks").__qualname__ == "_method.<locals>.resolve"
    assert resolver_of("Task", "assignees").__qualname__ == "_method.<locals>.resolve"
    # leaf arguments (int, optional string, optional enum; dates) are passed on as coerced
    assert resolver_of("Customer", "jobs").__qualname__ == "_method.<locals>.resolve_with"
    assert resolver_of("Employee", "tasks").__qualname__ == "_method.<locals>.resolve_with"
    # arguments to convert (an input object): Strawberry's convert_argument, the names worked out once
    assert resolver_of("Query", "customers").__qualname__ == "_method.<locals>.resolve_converting"
    assert resolver_of("Query", "jobs").__qualname__ == "_method.<locals>.resolve_converting"
    # a method of the schema object, not of a type: Strawberry's own resolver
    assert "from_resolver" in resolver_of("Query", "_entities").__qualname__


ARGUMENTS_QUERY = """query Args(
  $after: String, $status: JobStatus, $first: Int!, $filter: CustomerFilter
) {
  byLetter: customers(first: 5, filter: {beginsWith: "a"}) { totalCount nodes { number name } }
  byVariable: customers(filter: $filter) { totalCount nodes { number name } }
  complete: jobs(first: 3, filter: {status: COMPLETE}) { totalCount nodes { number status } }
  customers(first: 12) { nodes {
    number
    all: jobs { totalCount nodes { number status } }
    done: jobs(first: 2, status: COMPLETE) { totalCount nodes { number status } }
    later: jobs(first: $first, after: $after, status: $status) {
      pageInfo { hasPreviousPage startCursor } nodes { number }
    }
  } }
}"""


async def _answer(base_url: str, lean: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    with monkeypatch.context() as patch:
        if not lean:
            patch.setattr(query_module, "make_lean", lambda *args, **kwargs: 0)
        app = build_app(sandbox_settings(base_url))
    async with app.router.lifespan_context(app):
        execution = await InProcessExecution.of(app)
        job = execution.schema.type_map["Job"]
        assert isinstance(job, GraphQLObjectType)
        assert (job.fields["number"].resolve.__module__ == "graph.schema.lean") is lean
        _, data = await execution.timed(parse(EXECUTION_QUERY), {"customers": 25, "jobs": 5})
        variables = {
            "after": "a3M6MA",  # after offset 0
            "status": None,
            "first": 1,
            "filter": {"number": 3},
        }
        _, data["args"] = await execution.timed(parse(ARGUMENTS_QUERY), variables)
        return data


async def test_lean_resolvers_answer_as_strawberry_does(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    strawberry_answer = await _answer(sandbox.base_url, False, monkeypatch)
    lean_answer = await _answer(sandbox.base_url, True, monkeypatch)
    customers = lean_answer["customers"]["edges"]
    assert len(customers) == 25
    assert any(job["tasks"] for c in customers for job in c["node"]["jobs"]["nodes"])
    nodes = lean_answer["args"]["customers"]["nodes"]
    later = [c["later"] for c in nodes]
    assert any(page["nodes"] for page in later)
    assert any(c["done"]["nodes"] for c in nodes)
    assert all(j["status"] == "complete" for c in nodes for j in c["done"]["nodes"])
    assert all(page["pageInfo"]["hasPreviousPage"] for page in later)
    args = lean_answer["args"]
    assert args["byLetter"]["nodes"] and all(
        c["name"].lower().startswith("a") for c in args["byLetter"]["nodes"]
    )
    assert [c["number"] for c in args["byVariable"]["nodes"]] == [3]
    assert args["complete"]["nodes"] and all(
        j["status"] == "complete" for j in args["complete"]["nodes"]
    )
    assert lean_answer == strawberry_answer


async def test_a_warm_dashboard_answers_every_jobs_tasks_at_once(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Warm, each job's tasks come from the account-wide task listing the root started (grouped once
    # per listing, resolvers.plan), not from a load per job.
    loads: list[int] = []
    original = relations._loaded_tasks

    async def counted(data: Any, job_id: int) -> Any:
        loads.append(job_id)
        return await original(data, job_id)

    monkeypatch.setattr(relations, "_loaded_tasks", counted)
    app = build_app(sandbox_settings(sandbox.base_url))
    async with app.router.lifespan_context(app):
        execution = await InProcessExecution.of(app)
        document, variables = parse(EXECUTION_QUERY), {"customers": 25, "jobs": 5}
        await execution.timed(document, variables)  # cold: fills the cache
        loads.clear()
        _, data = await execution.timed(document, variables)
    jobs = [j for c in data["customers"]["edges"] for j in c["node"]["jobs"]["nodes"]]
    assert any(job["tasks"] for job in jobs)
    assert loads == []
