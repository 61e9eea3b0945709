"""Hostile input, refused cleanly: a corpus of malformed requests against the real app over its
built-in sandbox. Every case answers 4xx, or a GraphQL error with a stable code; none answers 5xx
or INTERNAL_SERVER_ERROR, and no message quotes more than a short part of what was sent.

The corpus: raw bodies (truncated JSON, wrong types for every parameter, NaN and Infinity, null
bytes, batches, deep nesting, huge variables); every ID, Int, Decimal, Date, DateTime and cursor
argument of the schema, found by walking it (root fields and input objects), sent hostile values
as variables and as literals (Unicode digits such as ``²`` and ``١٢``, 5,000-digit numbers,
``1e99999999``, NaN); ``_entities`` without keys, with wrong typenames and bad keys; GET query
strings; headers; pass-through accounts that are not slugs; bodies that never finish arriving.
"""

# ruff: noqa: RUF001 - the digits of other scripts are the point of this corpus

from __future__ import annotations

import asyncio
import base64
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
    is_leaf_type,
    is_required_argument,
    is_required_input_field,
)
from strawberry.federation.schema_directives import Key

from graph.schema.errors import ErrorCode, GraphError
from graph.schema.query import build_schema, graphql_schema
from graph.server.assembly import build_app
from graph.server.requests import read_body
from graph.server.settings import Settings
from resolvers.parsing import QUOTE_LIMIT, NumberError, bounded_decimal
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import uvicorn_in_thread

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")  # the corpus app serves every case

STRAWBERRY_SCHEMA = build_schema()
SCHEMA = graphql_schema(STRAWBERRY_SCHEMA)
STABLE_CODES = {str(code) for code in ErrorCode} - {str(ErrorCode.INTERNAL_SERVER_ERROR)}
# A message names what was wrong and quotes at most QUOTE_LIMIT characters of the input; graphql-
# core's own messages quote up to 240 (its ``inspect``), with the type and path around them.
MAX_MESSAGE = 700
JSON = {"content-type": "application/json"}


@dataclass
class Outcome:
    """What one request answered, and what is wrong with that, if anything."""

    name: str
    status: int
    body: Any

    def problems(self) -> list[str]:
        found: list[str] = []
        if self.status >= 500:
            found.append(f"HTTP {self.status}")
        if isinstance(self.body, list) and self.body and self.status == 200:  # a batch's results
            for result in self.body:
                found += Outcome(self.name, 200, result).problems()
            return found
        if not isinstance(self.body, dict) or not ("errors" in self.body or "data" in self.body):
            return [*found, f"not a GraphQL response: {str(self.body)[:200]}"]
        errors = self.body.get("errors") or []
        if self.status >= 400 and not errors:
            found.append(f"HTTP {self.status} without errors")
        for error in errors:
            code = (error.get("extensions") or {}).get("code")
            if code not in STABLE_CODES:
                found.append(f"code {code}: {error.get('message', '')[:200]}")
            if len(error.get("message", "")) > MAX_MESSAGE:
                found.append(f"a message of {len(error['message'])} characters")
        return found


class Corpus:
    """Sends cases to the app and keeps every outcome."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.outcomes: list[Outcome] = []

    async def send(
        self,
        name: str,
        content: bytes | str,
        headers: dict[str, str | bytes] | None = None,
        method: str = "POST",
        params: dict[str, str] | None = None,
    ) -> Outcome:
        response = await self.http.request(
            method,
            "/graphql",
            content=content if method == "POST" else None,
            params=params,
            headers=[
                (k.encode(), v if isinstance(v, bytes) else v.encode())
                for k, v in {**JSON, **(headers or {})}.items()
            ],
        )
        try:
            body = response.json()
        except ValueError:
            body = response.text
        outcome = Outcome(name, response.status_code, body)
        self.outcomes.append(outcome)
        return outcome

    async def graphql(self, name: str, query: str, variables: Any = None) -> Outcome:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return await self.send(name, orjson.dumps(payload))

    def failures(self) -> list[str]:
        return [f"{o.name}: {p}" for o in self.outcomes for p in o.problems()]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def corpus() -> AsyncIterator[Corpus]:
    settings = Settings(sandbox_customers=25, sandbox_seed=3, sandbox_today=date(2026, 11, 21))
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://graph") as http:
            yield Corpus(http)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# --- hostile values -------------------------------------------------------------------------

UNICODE_DIGITS = ["²", "١٢", "1²", "𝟙", "١", "٣٤٥", "۱۲", "१२", "１２", "Ⅻ", "¹⁰"]
HUGE = "9" * 5000
BAD_IDS: list[Any] = [
    *UNICODE_DIGITS,
    HUGE,
    "9" * 17,
    str(2**53),
    "0",
    "-1",
    "",
    " 1",
    "1 ",
    "1.0",
    "0x1F",
    "1e3",
    "1_000",
    "\x00",
    "1\x00",
    "a" * 10_000,
    1.5,
    True,
    {"a": 1},
    [1],
    2**63,
    -(2**63),
]
BAD_INTS: list[Any] = ["1", "²", 1.5, 2**31, -(2**31) - 1, 2**63, True, HUGE, {"a": 1}, [1], -1]
BAD_DECIMALS: list[Any] = [
    "1e99999999",
    "-1e99999999",
    "1e-99999999",
    "1e" + "9" * 60,
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    *UNICODE_DIGITS,
    "1_000",
    " 12",
    "12 ",
    "1,5",
    "0x10",
    "$5",
    HUGE,
    "1." + "0" * 5000,
    "",
    "\x00",
    1e308,
    -1e308,
    2**63,
    True,
    [],
    {},
    "0.00000000001",
    "-5",
    "999999999999999999",
]
BAD_CURSORS: list[Any] = [
    *UNICODE_DIGITS[:4],
    b64("ks:²"),
    b64("ks:١٢"),
    b64("ks:" + HUGE),
    b64("ks:" + "9" * 400),
    b64("ks:" + "9" * 10),
    b64("ks:-1"),
    b64("ks:"),
    b64("ks: 1"),
    b64("xx:1"),
    "!!!",
    "=" * 10,
    "a" * 900_000,  # below the body limit: the whole cursor reaches decode_cursor
    "\x00",
    5,
    True,
]
BAD_DATES: list[Any] = [
    "²",
    "١٢٣٤-٠١-٠١",
    "2026-13-01",
    "0000-00-00",
    "+999999-01-01",
    "9" * 5000,
    "x" * 10_000,
    "",
    1,
    True,
]
BAD_DATETIMES: list[Any] = [
    *BAD_DATES,
    "2026-11-21T09:00:00+25:00",
    "2026-11-21T25:00:00-05:00",
    "2026-11-21T09:00:00.99999999999999999999999-05:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-11-21T09:00:00" + "0" * 5000,
]
BAD_FILTERS: list[Any] = ["x" * 100_000, "\x00", "²", "%00", "&page=2", "../..", 5, True, [1]]
HOSTILE: dict[str, list[Any]] = {
    "ID": BAD_IDS,
    "Int": BAD_INTS,
    "Decimal": BAD_DECIMALS,
    "Date": BAD_DATES,
    "filter": BAD_FILTERS,
    "DateTime": BAD_DATETIMES,
    "cursor": BAD_CURSORS,
}
# The same kinds as literals in the document itself, where graphql-core reads them.
LITERALS: dict[str, list[str]] = {
    "ID": ['"²"', '"١٢"', HUGE, f'"{HUGE}"', "1.5"],
    "Int": [HUGE, "1e400", '"²"', "2147483648"],
    "Decimal": ['"1e99999999"', '"NaN"', '"١٢"', "1e400", HUGE, "-" + HUGE],
    "Date": ['"²"', f'"{HUGE}"'],
    "DateTime": ['"²"', '"2026-11-21T09:00:00+25:00"'],
    "cursor": ['"²"', f'"{b64("ks:" + HUGE)}"'],
    "filter": [f'"{"x" * 100_000}"'],
}


# --- the schema's argument slots --------------------------------------------------------------

VALID_LITERALS = {
    "Int": "1",
    "ID": '"1"',
    "String": '"x"',
    "Boolean": "false",
    "Date": '"2026-11-21"',
    "DateTime": '"2026-11-21T09:00:00-05:00"',
    "Decimal": '"1"',
}


@dataclass(frozen=True)
class Slot:
    """One argument position a hostile value can take: ``root.field(arg: {a: {b: $v}})``."""

    operation: str  # query | mutation
    field: str
    path: tuple[str, ...]  # argument, then input fields
    kind: str  # a key of HOSTILE
    type_: GraphQLInputType

    @property
    def name(self) -> str:
        return f"{self.field}({'.'.join(self.path)})"

    def document(self, value_literal: str | None = None) -> str:
        """The operation with ``$v`` (or ``value_literal``) at this slot, the rest valid."""
        field = ROOTS[self.operation].fields[self.field]
        at = "$v" if value_literal is None else value_literal
        arguments = []
        for name, argument in field.args.items():
            if name == self.path[0]:
                arguments.append(f"{name}: {_placed(argument.type, self.path[1:], at)}")
            elif is_required_argument(argument):
                arguments.append(f"{name}: {_valid(argument.type)}")
        selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
        head = f"{self.operation} ($v: {self.type_})" if value_literal is None else self.operation
        return f"{head} {{ {self.field}({', '.join(arguments)}){selection} }}"


ROOTS: dict[str, GraphQLObjectType] = {"query": SCHEMA.query_type, "mutation": SCHEMA.mutation_type}  # type: ignore[dict-item]


def _valid(type_: GraphQLInputType) -> str:
    """A valid literal of ``type_`` (required input fields filled)."""
    if isinstance(type_, GraphQLNonNull):
        return _valid(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{_valid(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return str(next(iter(type_.values)))
    if isinstance(type_, GraphQLInputObjectType):
        fields = [
            f"{name}: {_valid(f.type)}"
            for name, f in type_.fields.items()
            if is_required_input_field(f)
        ]
        return "{" + ", ".join(fields) + "}"
    return VALID_LITERALS[get_named_type(type_).name]


def _placed(type_: GraphQLInputType, path: tuple[str, ...], at: str) -> str:
    """A literal of ``type_`` with ``at`` at ``path`` (inside lists: their one item)."""
    if not path:
        return at
    if isinstance(type_, GraphQLNonNull | GraphQLList):
        inner = _placed(type_.of_type, path, at)
        return f"[{inner}]" if isinstance(type_, GraphQLList) else inner
    assert isinstance(type_, GraphQLInputObjectType)
    fields = [f"{path[0]}: {_placed(type_.fields[path[0]].type, path[1:], at)}"]
    for name, f in type_.fields.items():
        if name != path[0] and is_required_input_field(f):
            fields.append(f"{name}: {_valid(f.type)}")
    return "{" + ", ".join(fields) + "}"


def _kind(operation: str, name: str, type_: GraphQLInputType) -> str | None:
    named = get_named_type(type_).name
    if named == "String" and name in ("after", "before"):
        return "cursor"
    if named == "String" and operation == "query":
        return "filter"  # the query strings Kickserv gets in its URL
    return named if named in HOSTILE else None


def _walk(
    operation: str, field: str, path: tuple[str, ...], type_: GraphQLInputType
) -> Iterator[Slot]:
    named = get_named_type(type_)
    if isinstance(named, GraphQLInputObjectType):
        if len(path) < 4:
            for name, f in named.fields.items():
                yield from _walk(operation, field, (*path, name), f.type)
        return
    kind = _kind(operation, path[-1], type_)
    if kind is not None:
        yield Slot(operation, field, path, kind, type_)


def schema_slots() -> list[Slot]:
    found: list[Slot] = []
    for operation, root in ROOTS.items():
        for name, field in root.fields.items():
            if name in ("_entities", "_service"):
                continue
            f: GraphQLField = field
            for arg_name, argument in f.args.items():
                found.extend(_walk(operation, name, (arg_name,), argument.type))
    return found


SLOTS = schema_slots()


def refused(kind: str, value: Any) -> bool:
    """Whether the parsing rules refuse ``value`` (``-5`` is a fine price, not a fine amount)."""
    if kind != "Decimal":
        return isinstance(value, str)
    try:
        bounded_decimal(value)
    except NumberError:
        return True
    return False


def _variable(slot: Slot, value: Any) -> Any:
    """The hostile value as the variable of the slot (lists get it as their one item)."""
    type_ = slot.type_.of_type if isinstance(slot.type_, GraphQLNonNull) else slot.type_
    return [value] if isinstance(type_, GraphQLList) else value


def test_the_walk_finds_every_kind_of_slot():
    kinds = {slot.kind for slot in SLOTS}
    names = {slot.name for slot in SLOTS}
    assert kinds == set(HOSTILE)
    # the arguments of issue 11's fuzz report are among them
    assert {
        "customers(after)",
        "task(id)",
        "jobs(filter.jobTypeId)",
        "recordPayment(input.amount)",
        "updateLineItem(lineItemId)",
        "createJob(input.lineItems.quantity)",
        "scheduleTask(input.assigneeIds)",
    } <= names
    assert len(SLOTS) >= 50


@pytest.mark.parametrize("slot", SLOTS, ids=lambda s: s.name)
@MODULE_LOOP
async def test_hostile_values_in_every_argument(corpus: Corpus, slot: Slot) -> None:
    document = slot.document()
    for value in HOSTILE[slot.kind]:
        outcome = await corpus.graphql(
            f"{slot.name}={str(value)[:20]!r}", document, {"v": _variable(slot, value)}
        )
        assert not outcome.problems(), (outcome.name, outcome.problems(), outcome.body)
        if slot.kind in ("ID", "Decimal", "cursor") and refused(slot.kind, value):
            # refused as the caller's mistake, naming what was wrong
            codes = {e["extensions"]["code"] for e in outcome.body["errors"]}
            assert codes <= {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}, outcome.body
    for literal in LITERALS[slot.kind]:
        outcome = await corpus.send(
            f"{slot.name}<-{literal[:20]}", orjson.dumps({"query": slot.document(literal)})
        )
        assert not outcome.problems(), (outcome.name, outcome.problems(), outcome.body)


@pytest.mark.parametrize(
    ("argument", "value", "rule"),
    [
        ("after", b64("ks:" + HUGE), "at most 9 digits"),
        ("after", b64("ks:1000000000"), "at most 9 digits"),
        ("after", b64("ks:²"), "ASCII digits only"),
    ],
)
@MODULE_LOOP
async def test_a_cursor_past_any_listing_never_reaches_kickserv(
    corpus: Corpus, argument: str, value: str, rule: str
) -> None:
    outcome = await corpus.graphql(
        "cursor", "query ($a: String) { customers(after: $a) { totalCount } }", {"a": value}
    )
    (error,) = outcome.body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": argument}
    assert rule in error["message"]
    assert outcome.body["extensions"]["upstream"]["calls"] == 0
    # the message quotes the cursor's first characters and says how long it was
    assert len(error["message"]) < 2 * QUOTE_LIMIT + 100


@MODULE_LOOP
async def test_ids_and_amounts_answer_bad_user_input_with_their_path(corpus: Corpus) -> None:
    task = await corpus.graphql("task", 'query { task(id: "١٢") { id } }')
    (error,) = task.body["errors"]
    assert (error["path"], error["extensions"]) == (
        ["task"],
        {"code": "BAD_USER_INPUT", "argument": "id"},
    )
    line_item = await corpus.graphql(
        "line item",
        'mutation { updateLineItem(jobNumber: 1, lineItemId: "²", input: {}) { id } }',
    )
    (error,) = line_item.body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["invalidFields"][0]["path"] == ["lineItemId"]
    payment = await corpus.graphql(
        "payment",
        "mutation ($i: PaymentInput!) { recordPayment(jobNumber: 1, input: $i) { id } }",
        {"i": {"amount": "1e99999999"}},
    )
    (error,) = payment.body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "amount" in error["message"] and "1e99999999" in error["message"]
    too_much = await corpus.graphql(
        "payment",
        "mutation ($i: PaymentInput!) { recordPayment(jobNumber: 1, input: $i) { id } }",
        {"i": {"amount": "123456789012.5"}},
    )
    (error,) = too_much.body["errors"]
    assert error["extensions"]["invalidFields"] == [
        {"path": ["input", "amount"], "message": "must be at most 999999999.99"}
    ]


EXTREME_MOMENTS = [
    "0001-01-01T00:00:00+23:59",  # cannot be shifted to UTC
    "9999-12-31T23:30:00-05:00",  # an hour later is past what Python holds
    "0999-12-31T12:00:00Z",
    "9999-01-01T00:00:00Z",
]


@MODULE_LOOP
async def test_extreme_values_on_real_records(corpus: Corpus) -> None:
    # The slots above fill the other arguments with 1, which names no job or task: here the
    # hostile value goes with records that exist, so it reaches the write it would break.
    found = await corpus.graphql(
        "records",
        "{ jobs(first: 20) { nodes { number lineItems { id } } }"
        ' schedule(from: "2000-01-01", to: "2100-01-01", first: 1) { nodes { id } } }',
    )
    jobs = found.body["data"]["jobs"]["nodes"]
    job = next(j for j in jobs if j["lineItems"])
    task = found.body["data"]["schedule"]["nodes"][0]["id"]
    line_item = job["lineItems"][0]["id"]
    number = job["number"]
    moments = [
        f"mutation ($v: DateTime!) {{ scheduleTask(jobNumber: {number}, input: {{startsAt: $v}}) {{ id }} }}",
        f'mutation ($v: DateTime!) {{ rescheduleTask(id: "{task}", startsAt: $v) {{ id }} }}',
        f'mutation ($v: DateTime!) {{ rescheduleTask(id: "{task}", startsAt: "2026-11-23T09:00:00Z", endsAt: $v) {{ id }} }}',
    ]
    amounts = [
        f"mutation ($v: Decimal!) {{ recordPayment(jobNumber: {number}, input: {{amount: $v}}) {{ id }} }}",
        f'mutation ($v: Decimal) {{ updateLineItem(jobNumber: {number}, lineItemId: "{line_item}", input: {{quantity: $v}}) {{ id }} }}',
        f'mutation ($v: Decimal) {{ updateLineItem(jobNumber: {number}, lineItemId: "{line_item}", input: {{pricePerUnit: $v}}) {{ id }} }}',
        f"mutation ($v: Decimal) {{ invoiceJob(jobNumber: {number}, input: {{taxRate: $v}}) {{ id }} }}",
    ]
    refusals = [(d, v) for d in moments for v in EXTREME_MOMENTS]
    refusals += [(d, v) for d in amounts for v in BAD_DECIMALS if refused("Decimal", v)]
    others = [(d, v) for d in moments for v in BAD_DATETIMES]
    for document, value in refusals + others:
        name = f"real {document[:40]} {str(value)[:20]}"
        outcome = await corpus.graphql(name, document, {"v": value})
        assert not outcome.problems(), (document, value, outcome.problems(), outcome.body)
        if (document, value) in refusals:
            codes = {e["extensions"]["code"] for e in outcome.body["errors"]}
            assert codes == {"BAD_USER_INPUT"}, (document, value, outcome.body)


# --- _entities ------------------------------------------------------------------------------

ENTITIES = "query ($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
ENTITY_TYPES = sorted(
    name
    for name, type_ in STRAWBERRY_SCHEMA.schema_converter.type_map.items()
    if any(
        isinstance(d, Key)
        for d in getattr(getattr(type_, "definition", None), "directives", None) or ()
    )
)
BAD_REPRESENTATIONS: list[Any] = [
    {},
    {"__typename": "Customer"},
    {"__typename": "Customer", "id": None},
    {"__typename": "Customer", "number": None},
    {"__typename": 1, "id": "1"},
    {"__typename": None, "id": "1"},
    {"__typename": ["Customer"], "id": "1"},
    {"__typename": "Query", "id": "1"},
    {"__typename": "CustomerConnection", "id": "1"},
    {"__typename": "Location", "id": "1"},
    {"__typename": "Address", "id": "1"},
    {"__typename": "__proto__", "id": "1"},
    {"__typename": "x" * 10_000, "id": "1"},
    {"__typename": "Customer", "id": "1", "color": "red"},
    {"__typename": "Customer", "number": 1e20},
    {"__typename": "Customer", "number": 1.5},
    {"__typename": "Customer", "number": -1},
    {"__typename": "Customer", "number": 0},
    {"__typename": "Customer", "number": 2**53},
    {"__typename": "Customer", "number": True},
    {"__typename": "Customer", "number": [1]},
    {"__typename": "Customer", "number": {"a": 1}},
    "Customer:1",
    1,
    [],
    *({"__typename": "Customer", "id": v} for v in BAD_IDS),
    *({"__typename": "Customer", "number": v} for v in BAD_IDS),
]


@MODULE_LOOP
async def test_entities_without_keys_or_with_bad_ones_fail_alone(corpus: Corpus) -> None:
    representations = [*BAD_REPRESENTATIONS, {"__typename": "Customer", "number": 1}]
    outcome = await corpus.graphql("_entities batch", ENTITIES, {"r": representations})
    assert not outcome.problems(), outcome.problems()
    entities = outcome.body["data"]["_entities"]
    assert entities[-1] == {"__typename": "Customer"}  # the good one among them still resolves
    assert entities[:-1] == [None] * len(BAD_REPRESENTATIONS)
    paths = [e["path"][1] for e in outcome.body["errors"]]
    assert paths == list(range(len(BAD_REPRESENTATIONS)))
    assert {e["extensions"]["code"] for e in outcome.body["errors"]} <= {
        "BAD_USER_INPUT",
        "BAD_REQUEST",
    }
    no_key = outcome.body["errors"][1]
    assert no_key["message"] == "A Customer representation needs its key: `id` or `number`."


@pytest.mark.parametrize("typename", ENTITY_TYPES)
@MODULE_LOOP
async def test_entities_of_every_type_refuse_bad_keys(corpus: Corpus, typename: str) -> None:
    for representation in (
        {"__typename": typename},
        {"__typename": typename, "id": "²"},
        {"__typename": typename, "id": HUGE},
        {"__typename": typename, "number": "١٢"},
        {"__typename": typename, "number": HUGE},
    ):
        outcome = await corpus.graphql(
            f"_entities {representation}"[:60], ENTITIES, {"r": [representation]}
        )
        assert not outcome.problems(), (representation, outcome.problems())
        assert outcome.body["data"] == {"_entities": [None]}
    for literal in (
        f'{{__typename: "{typename}"}}',
        f'{{__typename: "{typename}", number: {HUGE}}}',
    ):
        document = f"{{ _entities(representations: [{literal}]) {{ __typename }} }}"
        outcome = await corpus.send(
            f"_entities literal {typename}", orjson.dumps({"query": document})
        )
        assert not outcome.problems(), (literal, outcome.problems())


@MODULE_LOOP
async def test_entities_argument_of_the_wrong_shape(corpus: Corpus) -> None:
    shapes: list[Any] = [None, {}, "x", 1, [None], [[{"__typename": "Customer", "number": 1}]]]
    for value in shapes:
        outcome = await corpus.graphql(f"_entities {value!r}", ENTITIES, {"r": value})
        assert not outcome.problems(), (value, outcome.problems())
    many = [{"__typename": "Customer", "id": "²"}] * 2000
    outcome = await corpus.graphql("_entities x2000", ENTITIES, {"r": many})
    assert not outcome.problems(), outcome.problems()


# --- raw bodies -----------------------------------------------------------------------------

NESTED_ARRAY = b"[" * 5000 + b"]" * 5000
NESTED_OBJECT = (
    b'{"query": "{ __typename }", "variables": {"v": '
    + b'{"a": ' * 1000
    + b"1"
    + b"}" * 1001
    + b"}"
)
RAW_BODIES: dict[str, bytes] = {
    "empty": b"",
    "blank": b"   ",
    "truncated object": b'{"query": "{ customers',
    "truncated after key": b'{"query"',
    "one brace": b"{",
    "closing brace": b"}",
    "null": b"null",
    "true": b"true",
    "number": b"123",
    "string": b'"{ __typename }"',
    "array": b"[]",
    "batch": b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]',
    "batch of junk": b"[1, null, {}]",
    "NaN variable": b'{"query": "{ __typename }", "variables": {"a": NaN}}',
    "Infinity variable": b'{"query": "{ __typename }", "variables": {"a": Infinity}}',
    "1e400 variable": b'{"query": "{ __typename }", "variables": {"a": 1e400}}',
    "5000-digit variable": b'{"query": "{ __typename }", "variables": {"a": '
    + HUGE.encode()
    + b"}",
    "5000-digit first": b'{"query": "query ($f: Int!) { customers(first: $f) { totalCount } }", "variables": {"f": '
    + HUGE.encode()
    + b"}}",
    "null byte in query": b'{"query": "{ __typename \\u0000 }"}',
    "raw null byte": b'{"query": "{ __typename }"}\x00',
    "null byte key": b'{"query\\u0000": "{ __typename }"}',
    "invalid utf-8": b'{"query": "{ \xff\xfe }"}',
    "lone surrogate": b'{"query": "{ __typename }", "variables": {"a": "\\ud800"}}',
    "utf-8 bom": b'\xef\xbb\xbf{"query": "{ __typename }"}',
    "utf-16": '{"query": "{ __typename }"}'.encode("utf-16"),
    "duplicate keys": b'{"query": 1, "query": "{ __typename }"}',
    "trailing garbage": b'{"query": "{ __typename }"} xyz',
    "trailing comma": b'{"query": "{ __typename }",}',
    "single quotes": b"{'query': '{ __typename }'}",
    "comments": b'{"query": "{ __typename }" /* hi */}',
    "deep array": NESTED_ARRAY,
    "deep variables": NESTED_OBJECT,
    "deep query": orjson.dumps({"query": "{" + "customers { nodes " * 3000 + "}" * 6000}),
    "deep selection within tokens": orjson.dumps(
        {"query": "{ customers { nodes { " + "jobs { nodes { " * 30 + "id" + " } }" * 30 + " } } }"}
    ),
    "long query of names": orjson.dumps({"query": "{ " + "__typename " * 60_000 + "}"}),
    "many aliases": orjson.dumps(
        {"query": "{ " + " ".join(f"a{i}: __typename" for i in range(5000)) + " }"}
    ),
    "fragment cycle": orjson.dumps(
        {"query": "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"}
    ),
    "two operations, no name": orjson.dumps(
        {"query": "query A { __typename } query B { __typename }"}
    ),
    "unknown operation": orjson.dumps({"query": "{ __typename }", "operationName": "Nope"}),
    "long operation name": orjson.dumps(
        {"query": "{ __typename }", "operationName": "N" * 100_000}
    ),
    "long document id": orjson.dumps({"documentId": "sha256:" + "f" * 100_000}),
    "subscription": orjson.dumps({"query": "subscription { __typename }"}),
    "huge variables object": orjson.dumps(
        {"query": "{ __typename }", "variables": {f"v{i}": i for i in range(50_000)}}
    ),
    "huge string variable": orjson.dumps(
        {
            "query": "query ($n: String) { items(name: $n) { totalCount } }",
            "variables": {"n": "x" * 900_000},
        }
    ),
    "huge list variable": orjson.dumps(
        {
            "query": 'mutation ($i: [ID!]!) { reassignTask(id: "1", assigneeIds: $i) { id } }',
            "variables": {"i": ["²"] * 50_000},
        }
    ),
    "too large": b'{"query": "' + b"x" * 1_100_000 + b'"}',
    "long int literal in a string": orjson.dumps(
        {"query": '{ items(name: "' + HUGE + '") { totalCount } }'}
    ),
    "long int literal in a comment": orjson.dumps({"query": "# " + HUGE + "\n{ __typename }"}),
    "long int literal after a syntax error": orjson.dumps({"query": "{ ! " + HUGE + " }"}),
    "long int literal as a default": orjson.dumps(
        {"query": f"query ($f: Int = {HUGE}) {{ customers(first: $f) {{ totalCount }} }}"}
    ),
    "long float literal": orjson.dumps(
        {"query": f"{{ customers(first: {HUGE}.5) {{ totalCount }} }}"}
    ),
}
WRONG_TYPES: list[Any] = [1, 1.5, True, [], {}, "x", [1, 2], {"a": "b"}]
PARAMETERS = ("query", "variables", "operationName", "extensions", "documentId")


@pytest.mark.parametrize("name", list(RAW_BODIES))
@MODULE_LOOP
async def test_raw_bodies(corpus: Corpus, name: str) -> None:
    outcome = await corpus.send(name, RAW_BODIES[name])
    assert not outcome.problems(), (
        name,
        outcome.status,
        outcome.problems(),
        str(outcome.body)[:300],
    )


@pytest.mark.parametrize("parameter", PARAMETERS)
@MODULE_LOOP
async def test_wrong_types_for_every_parameter(corpus: Corpus, parameter: str) -> None:
    for value in WRONG_TYPES:
        payload: dict[str, Any] = {"query": "{ __typename }", parameter: value}
        outcome = await corpus.send(f"{parameter}={value!r}", orjson.dumps(payload))
        assert not outcome.problems(), (parameter, value, outcome.problems(), outcome.body)
    for value in ({"persistedQuery": "x"}, {"persistedQuery": {"version": 1, "sha256Hash": 5}},
                  {"persistedQuery": {"version": "²", "sha256Hash": "²" * 64}},
                  {"persistedQuery": {"version": 1, "sha256Hash": "a" * 100_000}}):  # fmt: skip
        outcome = await corpus.send(
            f"extensions={value!r}"[:60], orjson.dumps({"extensions": value})
        )
        assert not outcome.problems(), (value, outcome.problems(), outcome.body)


GET_CASES: dict[str, dict[str, str]] = {
    "no query": {},
    "variables not JSON": {"query": "{ __typename }", "variables": "{"},
    "variables a list": {"query": "{ __typename }", "variables": "[1]"},
    "variables NaN": {"query": "{ __typename }", "variables": '{"a": NaN}'},
    "extensions not JSON": {"query": "{ __typename }", "extensions": "x"},
    "unicode digits": {"query": 'query { task(id: "²") { id } }'},
    "huge int literal": {"query": f"{{ customer(number: {HUGE}) {{ id }} }}"},
    "mutation": {"query": 'mutation { deleteTask(id: "1") }'},
    "null byte": {"query": "{ __typename \x00 }"},
    "documentId junk": {"documentId": "²" * 500},
    "cursor": {
        "query": "query ($a: String) { customers(after: $a) { totalCount } }",
        "variables": orjson.dumps({"a": b64("ks:" + HUGE)}).decode(),
    },
}


@pytest.mark.parametrize("name", list(GET_CASES))
@MODULE_LOOP
async def test_get_query_strings(corpus: Corpus, name: str) -> None:
    outcome = await corpus.send(name, b"", method="GET", params=GET_CASES[name])
    assert not outcome.problems(), (name, outcome.status, outcome.problems(), outcome.body)


HEADER_CASES: dict[str, dict[str, str | bytes]] = {
    "no content type": {"content-type": ""},
    "text/plain": {"content-type": "text/plain"},
    "latin-1 charset": {"content-type": "application/json; charset=latin-1"},
    "junk content type": {"content-type": "\x7f;;;=;"},
    "content length not a number": {"content-length": "abc"},
    "content length unicode digits": {"content-length": "²".encode()},
    "content length negative": {"content-length": "-1"},
    "content length huge": {"content-length": HUGE},
    "content length zeros": {"content-length": "0" * 5000 + "27"},
    "accept junk": {"accept": "application/json;q=NaN, */*;q=²".encode()},
    "accept graphql response": {"accept": "application/graphql-response+json;q=1e999"},
    "traceparent junk": {"apollo-federation-include-trace": "ftv1" * 1000},
    "idempotency key huge": {"idempotency-key": "k" * 8000},
}


@pytest.mark.parametrize("name", list(HEADER_CASES))
@MODULE_LOOP
async def test_headers(corpus: Corpus, name: str) -> None:
    body = b'{"query": "{ __typename }"}'
    outcome = await corpus.send(name, body, headers=HEADER_CASES[name])
    assert not outcome.problems(), (name, outcome.status, outcome.problems(), outcome.body)


@MODULE_LOOP
async def test_the_whole_corpus_held(corpus: Corpus) -> None:
    # runs after the cases above: every outcome, once more, in one place
    assert corpus.failures() == []
    assert all(o.status < 500 for o in corpus.outcomes)


# --- pass-through accounts ------------------------------------------------------------------

BAD_ACCOUNTS = [
    "demo/../acme",
    "demo?x=1",
    "demo#x",
    "de mo",
    "démo",
    "demo%2F..%2Facme",
    "..",
    "-demo",
    "demo/",
    "a" * 64,
    "demo\tacme",
    "demo.json",
    "²",
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=10, acme_customers=5, seed=2)) as sb:
        yield sb


def test_a_pass_through_account_must_be_a_slug(sandbox: RunningSandbox) -> None:
    settings = Settings(kickserv_base_url=sandbox.base_url, pass_through=True)
    with uvicorn_in_thread(build_app(settings)) as base_url:
        url = f"{base_url}/graphql"
        query = {"query": "{ customers(first: 1) { totalCount } }"}
        sandbox.reset_requests()
        for account in BAD_ACCOUNTS:
            headers = {b"x-kickserv-account": account.encode(), b"x-kickserv-token": b"demo-token"}
            response = httpx.post(url, json=query, headers=headers)
            assert response.status_code == 400, (account, response.text)
            (error,) = response.json()["errors"]
            assert error["extensions"] == {"code": "BAD_REQUEST"}
            assert "must be a Kickserv account slug" in error["message"]
        for token in ("tok en", "ключ", "x" * 300):
            headers = {b"x-kickserv-account": b"demo", b"x-kickserv-token": token.encode()}
            response = httpx.post(url, json=query, headers=headers)
            assert response.status_code == 400, (token, response.text)
            assert token not in response.text
        # nothing reached Kickserv, and a slug still works
        assert sandbox.requests() == []
        headers = {b"x-kickserv-account": b"demo", b"x-kickserv-token": b"demo-token"}
        good = httpx.post(url, json=query, headers=headers).json()
    assert good["data"]["customers"]["totalCount"] == 10


# --- bodies that never finish -----------------------------------------------------------------


@MODULE_LOOP
async def test_read_body_gives_up_after_its_time_limit():
    async def receive() -> dict[str, Any]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    started = time.monotonic()
    with pytest.raises(GraphError) as raised:
        await read_body(receive, "100", 1000, 0.05)
    assert raised.value.http_status == 408
    assert time.monotonic() - started < 1


def test_half_sent_bodies_get_408_and_their_connections_close() -> None:
    settings = Settings(body_timeout=0.5, sandbox_customers=5)
    with uvicorn_in_thread(build_app(settings)) as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        sockets = []
        for _ in range(30):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(
                b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 100\r\n\r\n{"query": "{ __typ'
            )
            sockets.append(s)
        started = time.monotonic()
        answers = []
        for s in sockets:
            chunks = []
            while chunk := s.recv(65536):  # until uvicorn closes the connection
                chunks.append(chunk)
            answers.append(b"".join(chunks))
            s.close()
        elapsed = time.monotonic() - started
    assert elapsed < 5
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"connection: close" in head.lower()
        assert orjson.loads(body)["errors"][0]["message"] == (
            "The request body did not arrive within 0.5 seconds."
        )


async def test_a_tax_rate_past_100_percent_is_refused_before_kickserv_sees_it():
    from resolvers.writes.errors import InvalidInput
    from resolvers.writes.invoicing import InvoiceSpec, invoice_job

    with pytest.raises(InvalidInput) as refused:
        await invoice_job(None, 1, InvoiceSpec(tax_rate=Decimal("999999999.99")))  # type: ignore[arg-type]
    assert [p.as_json()["path"] for p in refused.value.problems] == [["input", "taxRate"]]
