"""graph/schema/execution.py: plain leaf attributes completed without graphql-core's per-field work,
with the same answers and errors as graphql-core's own execution, including every value the short
path must hand back (null for a non-null field, a value the scalar refuses, an exception as value, a
missing attribute, an attribute that raises)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from graphql import ExecutionResult, GraphQLObjectType, GraphQLSchema, execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.schema.execution import LeanExecutionContext
from graph.schema.lean import LEAF_ATTRIBUTES, make_lean
from graph.schema.query import build_schema, graphql_schema


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Inner:
    label: str


@strawberry.type
class Thing:
    id: strawberry.ID
    name: str
    nick: str | None
    count: int
    color: Color
    shade: Color | None
    inner: Inner | None
    amount: Decimal | None = None  # its scalar turns anything into a string

    @strawberry.field
    def twice(self) -> int:
        return self.count * 2


class Raising(Thing):
    def __getattribute__(self, name: str) -> Any:
        if name == "nick":
            raise ValueError("no nick today")
        return super().__getattribute__(name)


def _things() -> list[Thing | None]:
    good = Thing(
        id=strawberry.ID("1"), name="a", nick=None, count=1, color=Color.RED, shade=None,
        inner=Inner(label="x"),
    )  # fmt: skip
    null_name = Thing(
        id=strawberry.ID("2"), name=None, nick="n", count=2, color=Color.BLUE, shade=Color.RED,  # type: ignore[arg-type]
        inner=None,
    )  # fmt: skip
    refused = Thing(
        id=strawberry.ID("3"), name="c", nick=["not", "a", "string"], count="many",  # type: ignore[arg-type]
        color="green", shade="purple", inner=None,  # type: ignore[arg-type]
    )  # fmt: skip
    error_value = Thing(
        id=strawberry.ID("4"), name="d", nick=ValueError("kept as a value"), count=4,  # type: ignore[arg-type]
        color=Color.RED, shade=None, inner=None, amount=ValueError("an error, not an amount"),  # type: ignore[arg-type]
    )  # fmt: skip
    missing = Thing(
        id=strawberry.ID("5"), name="e", nick=None, count=5, color=Color.RED, shade=None,
        inner=None,
    )  # fmt: skip
    del missing.nick
    raising = Raising(
        id=strawberry.ID("6"), name="f", nick=None, count=6, color=Color.BLUE, shade=None,
        inner=None,
    )  # fmt: skip
    return [good, null_name, refused, error_value, missing, raising]


@strawberry.input
class Window:
    first: int = 2
    name: str | None = None


@strawberry.type
class Query:
    @strawberry.field
    def echo(
        self,
        info: strawberry.Info,
        window: Window | None = None,
        note: strawberry.Maybe[str | None] = None,
        size: strawberry.Maybe[int] = None,
        numbers: list[int] | None = None,
        leaf: int = 1,
    ) -> str:
        return repr((window, note, size, numbers, leaf))

    @strawberry.field
    def things(self) -> list[Thing | None]:
        return _things()

    @strawberry.field
    def thing(self) -> Thing:
        return _things()[1]  # type: ignore[return-value]  # its non-null name is null: the error propagates to data


QUERY = """query Q($skip: Boolean!) {
  things {
    __typename id name nick count twice color shade amount
    alias: name
    inner { label }
    ...More
    skipped: count @skip(if: $skip)
    included: count @include(if: $skip)
  }
}
fragment More on Thing { count again: nick }"""


def _schema(lean: bool) -> GraphQLSchema:
    """This module's schema, graphql-core's inside Strawberry's, made lean or not."""
    schema = strawberry.Schema(query=Query)
    inner = graphql_schema(schema)
    if lean:
        scalars = schema.schema_converter.scalar_registry
        assert make_lean(inner, schema.config, scalars, exempt=frozenset()) > 0
    return inner


def _type(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    found = schema.type_map[name]
    assert isinstance(found, GraphQLObjectType)
    return found


def _run(lean: bool, document: str, variables: dict[str, Any]) -> ExecutionResult:
    inner = _schema(lean)
    result = execute(
        inner,
        parse(document),
        variable_values=variables,
        executor_class=LeanExecutionContext if lean else StrawberryGraphQLCoreExecutionContext,
    )
    assert isinstance(result, ExecutionResult)
    return result


def _formatted(result: ExecutionResult) -> tuple[Any, list[Any]]:
    errors = sorted((e.formatted for e in result.errors or ()), key=lambda e: str(e["path"]))
    return result.data, errors


def test_the_short_path_covers_plain_leaf_attributes_only() -> None:
    leaves = _type(_schema(True), "Thing").extensions[LEAF_ATTRIBUTES]
    # not `twice` (a resolver), not `inner` (an object)
    assert sorted(leaves) == ["amount", "color", "count", "id", "name", "nick", "shade"]
    assert leaves["name"].non_null and not leaves["nick"].non_null
    # the server's schema: a customer's scalars take the short path, its relations do not
    customer_leaves = _type(graphql_schema(build_schema()), "Customer").extensions[LEAF_ATTRIBUTES]
    assert {"id", "number", "name", "email", "balance"} <= set(customer_leaves)
    assert "jobs" not in customer_leaves and "locations" not in customer_leaves


def test_answers_and_errors_are_graphql_cores() -> None:
    for skip in (True, False):
        lean = _run(True, QUERY, {"skip": skip})
        plain = _run(False, QUERY, {"skip": skip})
        assert _formatted(lean) == _formatted(plain)
        assert lean.errors  # every kind of bad value above was reported
        assert lean.data is not None and lean.data["things"][0] == {
            "__typename": "Thing", "id": "1", "name": "a", "nick": None, "count": 1, "twice": 2,
            "color": "RED", "shade": None, "amount": None, "alias": "a", "inner": {"label": "x"}, "again": None,
            **({} if skip else {"skipped": 1}), **({"included": 1} if skip else {}),
        }  # fmt: skip
        # a list item with a null non-null field becomes null; the others stand
        assert lean.data["things"][1] is None
    codes = {e["message"] for e in _formatted(_run(True, QUERY, {"skip": True}))[1]}
    assert "Cannot return null for non-nullable field Thing.name." in codes
    assert "no nick today" in codes and "kept as a value" in codes
    assert "an error, not an amount" in codes
    assert any("Int cannot represent" in m for m in codes)


def test_null_propagates_to_a_non_null_parent() -> None:
    lean = _run(True, "{ thing { name count } }", {})
    assert _formatted(lean) == _formatted(_run(False, "{ thing { name count } }", {}))
    assert lean.data is None


ECHO = """query E($w: Window, $n: String) {
  plain: echo
  given: echo(window: {first: 5}, note: "x", size: 4, numbers: [1, 2], leaf: 3)
  variables: echo(window: $w, note: $n)
  nulls: echo(window: null, note: null, numbers: null)
}"""


def test_arguments_are_converted_as_strawberry_converts_them() -> None:
    resolver = _type(_schema(True), "Query").fields["echo"].resolve
    assert getattr(resolver, "__qualname__", "") == "_method.<locals>.resolve_converting"
    for variables in ({"w": {"name": "y"}, "n": "z"}, {"w": None, "n": None}, {}):
        lean = _formatted(_run(True, ECHO, variables))
        assert lean == _formatted(_run(False, ECHO, variables))
        assert not lean[1] and lean[0] is not None
    answer = _run(True, ECHO, {"w": {"name": "y"}})
    assert answer.data is not None
    assert answer.data["given"] == "(Window(first=5, name=None), Some('x'), Some(4), [1, 2], 3)"
    assert answer.data["plain"] == "(None, None, None, None, 1)"


class Context:
    """A context to watch for: freed with its execution, or kept until a collection."""


@strawberry.type
class Tracking:
    @strawberry.field
    def tracked(self, info: strawberry.Info) -> int:
        # graphql-core's helpers for a resolver's own async work: settled by the executor
        info._raw_info.async_helpers.track([_settled()])
        return 1

    @strawberry.field
    async def gathered(self, info: strawberry.Info) -> list[int]:
        return await info._raw_info.async_helpers.gather([_one(), _one()])


SETTLED: list[str] = []


async def _settled() -> None:
    SETTLED.append("settled")


async def _one() -> int:
    return 1


async def test_an_execution_and_its_context_are_freed_without_the_garbage_collector() -> None:
    # graphql-core's executor holds its own bound methods in ``async_helpers``: a cycle that kept
    # every request's executor, context and records until a collection.
    schema = graphql_schema(strawberry.Schema(query=Tracking))
    SETTLED.clear()
    gc.disable()
    try:
        context = Context()
        freed = weakref.ref(context)
        result = execute(
            schema,
            parse("{ tracked gathered }"),
            context_value=context,
            executor_class=LeanExecutionContext,
        )
        assert not isinstance(result, ExecutionResult)
        result = await result
        del context
        assert freed() is None
    finally:
        gc.enable()
    assert result.errors is None and result.data == {"tracked": 1, "gathered": [1, 1]}
    await asyncio.sleep(0)
    assert SETTLED == ["settled"]  # tracked work was settled by the executor


async def test_work_tracked_after_its_execution_is_gone_is_still_settled() -> None:
    schema = graphql_schema(strawberry.Schema(query=Tracking))
    executor = LeanExecutionContext.build(schema, parse("{ tracked }"))
    assert isinstance(executor, LeanExecutionContext)
    helpers = executor.async_helpers
    del executor
    SETTLED.clear()
    helpers.track([_settled(), 2])
    for _ in range(3):
        await asyncio.sleep(0)
    assert SETTLED == ["settled"]
