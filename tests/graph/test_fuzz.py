"""Property-based fuzzing of the running server from its schema (hypothesis-graphql).

Queries and mutations are generated from the schema the server serves, valid ones and ones with
one schema violation each (``Mode.NEGATIVE``: a wrong argument type, a missing required argument,
an unknown enum value), with arbitrary strings (null bytes and other scripts' digits included) in
every String and ID, and custom scalars that mix valid values with hostile ones (``1e99999999``,
``NaN``, Arabic-Indic digits, ``_entities`` representations without keys). Each goes to the real
app (``build_app``, its in-process sandbox) over ``httpx.ASGITransport``. The property: no 5xx, and
every error carries a stable code other than ``INTERNAL_SERVER_ERROR``.

Derandomized (the same examples on every run, so CI is stable) and bounded (``EXAMPLES``).
"""

# ruff: noqa: RUF001 - the digits of other scripts are the point of these strategies

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from graph.schema.errors import ErrorCode
from graph.schema.query import build_schema, graphql_schema
from graph.server.assembly import build_app
from graph.server.settings import Settings

SCHEMA = graphql_schema(build_schema())
STABLE_CODES = {str(code) for code in ErrorCode} - {str(ErrorCode.INTERNAL_SERVER_ERROR)}
EXAMPLES = 600  # about 15 s on one shared CPU

HOSTILE_TEXT = st.sampled_from(
    ["²", "١٢", "𝟙", "9" * 5000, "1e99999999", "NaN", "-Infinity", "\x00", "", " 1", "0x1F"]
)
DECIMALS = st.one_of(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000
    ).map(str),
    st.decimals().map(str),  # NaN, sNaN, Infinity and any exponent
    HOSTILE_TEXT,
    st.text(max_size=20),
).map(nodes.String)
DATES = st.one_of(st.dates().map(date.isoformat), HOSTILE_TEXT, st.text(max_size=12)).map(
    nodes.String
)
DATETIMES = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ).map(datetime.isoformat),
    st.datetimes(timezones=st.just(timezone(timedelta(hours=23, minutes=59)))).map(
        datetime.isoformat
    ),
    HOSTILE_TEXT,
    st.text(max_size=30),
).map(nodes.String)
ENTITY_TYPES = ["Customer", "Employee", "Invoice", "Item", "Job", "JobType", "Opportunity",
                "Payment", "Task", "Vendor", "Location", "Query", "Nope"]  # fmt: skip
KEY_VALUES = st.one_of(
    st.integers(min_value=-5, max_value=40).map(nodes.Int),
    st.integers(min_value=-5, max_value=40).map(nodes.String),
    HOSTILE_TEXT.map(nodes.String),
    st.just(graphql.NullValueNode()),
    st.just(nodes.Float(1.5)),
)


def _field(name: str, value: graphql.ValueNode) -> graphql.ObjectFieldNode:
    return graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)


REPRESENTATIONS = st.builds(
    lambda typename, keys: nodes.Object(
        [
            *([] if typename is None else [_field("__typename", nodes.String(typename))]),
            *(_field(name, value) for name, value in keys.items()),
        ]
    ),
    st.one_of(st.none(), st.sampled_from(ENTITY_TYPES)),
    st.dictionaries(st.sampled_from(["id", "number", "color"]), KEY_VALUES, max_size=2),
)
CUSTOM_SCALARS = {
    "Decimal": DECIMALS,
    "Date": DATES,
    "DateTime": DATETIMES,
    "_Any": REPRESENTATIONS,
}
OPERATIONS = st.one_of(
    queries(SCHEMA, custom_scalars=CUSTOM_SCALARS),
    queries(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE),
    mutations(SCHEMA, custom_scalars=CUSTOM_SCALARS),
    mutations(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE),
)


@dataclass
class Server:
    """The app on an event loop of its own, for hypothesis' synchronous examples."""

    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    sent: int = 0

    def post(self, document: str) -> httpx.Response:
        self.sent += 1
        return self.loop.run_until_complete(self.http.post("/graphql", json={"query": document}))


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # Small, and a small upstream budget: a generated query asking for everything is refused
    # (QUERY_TOO_COMPLEX) instead of costing hundreds of sandbox calls.
    app = build_app(
        Settings(
            sandbox_customers=15,
            sandbox_seed=7,
            sandbox_today=date(2026, 11, 21),
            query_budget=60,
            upstream_extensions=False,
        )
    )
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()

    async def start() -> httpx.AsyncClient:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        return await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://graph")
        )

    try:
        yield Server(loop, loop.run_until_complete(start()))
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def problems_of(response: httpx.Response) -> list[str]:
    found = [f"HTTP {response.status_code}"] if response.status_code >= 500 else []
    body: Any = response.json()
    for error in body.get("errors") or ():
        code = (error.get("extensions") or {}).get("code")
        if code not in STABLE_CODES:
            found.append(f"{code}: {error.get('message')}")
    return found


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(document=OPERATIONS)
def test_no_generated_operation_answers_5xx_or_an_internal_error(
    server: Server, document: str
) -> None:
    response = server.post(document)
    assert not problems_of(response), (document, response.text[:500])


def test_every_custom_scalar_has_a_strategy_of_ours() -> None:
    # none is left to hypothesis-graphql, which would skip the fields that need it
    scalars = {
        name
        for name, type_ in SCHEMA.type_map.items()
        if isinstance(type_, graphql.GraphQLScalarType) and not name.startswith("__")
    }
    builtin = {"Int", "Float", "String", "Boolean", "ID"}
    directives_only = {"_FieldSet", "link__Import"}  # arguments of federation's directives
    assert scalars - builtin - directives_only == set(CUSTOM_SCALARS)
