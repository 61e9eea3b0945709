"""GraphQL over HTTP against a small Strawberry schema of our own, through real HTTP semantics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest
import strawberry
from graphql import GraphQLError, ValidationRule
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import graph.server.documents
import graph.server.http
from graph.schema.errors import (
    ErrorClassifier,
    NotFound,
    PersistedQueryNotFound,
    Unauthenticated,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from graph.schema.query import graphql_schema
from graph.server.graphiql import STATIC_DIRECTORY
from graph.server.http import GraphQLEndpoint
from graph.server.requests import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    GraphQLParams,
    negotiate_media_type,
)
from graph.server.settings import Settings

GRAPHQL_RESPONSE = {"accept": GRAPHQL_RESPONSE_JSON}
LEGACY_JSON = {"accept": APPLICATION_JSON}
SECRET = "s3cret-token-value"


@dataclass
class Ctx:
    user: str
    notes: list[str] = field(default_factory=list)


class KickservDown(Exception):
    """Stands for a foreign exception family that a mapper turns into a GraphError."""


@strawberry.type
class Query:
    @strawberry.field
    async def hello(self, info: strawberry.Info[Ctx, None], name: str = "world") -> str:
        return f"Hello {name}, from {info.context.user}"

    @strawberry.field
    def sync_count(self, info: strawberry.Info[Ctx, None]) -> int:
        return len(info.context.notes)

    @strawberry.field
    async def price(self) -> Decimal:
        return Decimal("1464.27")

    @strawberry.field
    async def boom(self) -> str | None:
        raise RuntimeError(f"database password is {SECRET}")

    @strawberry.field
    async def customer(self, number: int) -> str | None:
        raise NotFound(f"No customer with number {number}.")

    @strawberry.field
    async def throttled(self) -> str | None:
        raise UpstreamRateLimited(retry_after=7)

    @strawberry.field
    async def upstream_down(self) -> str | None:
        raise KickservDown("connect timeout to app.kickserv.com")


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def add_note(self, info: strawberry.Info[Ctx, None], text: str) -> int:
        info.context.notes.append(text)
        return len(info.context.notes)


SCHEMA = strawberry.Schema(query=Query, mutation=Mutation)
LIMIT = 2_000


def build_app(limit: int = LIMIT, **options: Any) -> tuple[Starlette, Ctx]:
    ctx = Ctx(user="ada")

    async def context_factory(request: Request) -> Ctx:
        return ctx

    endpoint = GraphQLEndpoint(SCHEMA, context_factory, Settings(max_body_bytes=limit), **options)
    app = Starlette(
        routes=[
            Route("/graphql", endpoint),
            Mount("/static", StaticFiles(directory=STATIC_DIRECTORY)),
        ]
    )
    app.state.endpoint = endpoint
    return app, ctx


@pytest.fixture
async def app_ctx() -> AsyncIterator[tuple[httpx.AsyncClient, Ctx, GraphQLEndpoint]]:
    app, ctx = build_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, ctx, app.state.endpoint


@pytest.fixture
async def client(app_ctx) -> httpx.AsyncClient:
    return app_ctx[0]


# --- successful results -------------------------------------------------------------------


async def test_post_json_executes_async_and_sync_resolvers_with_context(client):
    # when
    response = await client.post(
        "/graphql", json={"query": '{ hello(name: "Bob") syncCount }'}, headers=LEGACY_JSON
    )
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"data": {"hello": "Hello Bob, from ada", "syncCount": 0}}


async def test_graphql_response_json_is_used_when_accepted(client):
    response = await client.post(
        "/graphql",
        json={"query": "{ hello }"},
        headers={"accept": f"{GRAPHQL_RESPONSE_JSON}, {APPLICATION_JSON};q=0.9"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert response.json() == {"data": {"hello": "Hello world, from ada"}}


async def test_get_with_variables_and_operation_name(client):
    response = await client.get(
        "/graphql",
        params={
            "query": "query A { syncCount } query B($n: String!) { hello(name: $n) }",
            "operationName": "B",
            "variables": '{"n": "Cy"}',
        },
        headers=GRAPHQL_RESPONSE,
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello Cy, from ada"}}


async def test_mutation_over_post_runs(app_ctx):
    client, ctx, _ = app_ctx
    response = await client.post(
        "/graphql",
        json={"query": "mutation($t: String!) { addNote(text: $t) }", "variables": {"t": "hi"}},
    )
    assert response.json() == {"data": {"addNote": 1}}
    assert ctx.notes == ["hi"]


async def test_decimal_is_serialized_exactly(client):
    response = await client.post("/graphql", json={"query": "{ price }"})
    assert response.json() == {"data": {"price": "1464.27"}}


# --- request errors -----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [GRAPHQL_RESPONSE, LEGACY_JSON, {}])
async def test_mutation_over_get_is_405_allow_post_and_not_executed(app_ctx, headers):
    client, ctx, _ = app_ctx
    response = await client.get(
        "/graphql", params={"query": 'mutation { addNote(text: "x") }'}, headers=headers
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert (
        response.json()["errors"][0]["message"] == "A mutation cannot be sent with GET; use POST."
    )
    assert ctx.notes == []


@pytest.mark.parametrize(
    ("query", "code"),
    [("{ hello", "GRAPHQL_PARSE_FAILED"), ("{ nope }", "GRAPHQL_VALIDATION_FAILED")],
)
@pytest.mark.parametrize(
    ("headers", "status"), [(GRAPHQL_RESPONSE, 400), (LEGACY_JSON, 200), ({}, 200)]
)
async def test_parse_and_validation_errors(client, query, code, headers, status):
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert body["errors"][0]["locations"]


@pytest.mark.parametrize(("headers", "status"), [(GRAPHQL_RESPONSE, 400), (LEGACY_JSON, 200)])
async def test_wrong_variable_type_is_a_request_error(client, headers, status):
    response = await client.post(
        "/graphql",
        json={"query": "query($n: String!) { hello(name: $n) }", "variables": {"n": 5}},
        headers=headers,
    )
    assert response.status_code == status
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$n" in body["errors"][0]["message"]


async def test_unknown_operation_name_is_a_request_error(client):
    response = await client.post(
        "/graphql",
        json={"query": "query A { hello }", "operationName": "Z"},
        headers=GRAPHQL_RESPONSE,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Unknown operation named 'Z'."


@pytest.mark.parametrize("headers", [GRAPHQL_RESPONSE, LEGACY_JSON])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"query": "{ hello }"', "The request body is not valid JSON."),
        (b"{}", "The request has no 'query' parameter"),
        (b'{"query": 42}', "The 'query' parameter must be a string"),
        (b'{"query": "{ hello }", "variables": [1]}', "The 'variables' parameter must be"),
        (b'{"query": "{ hello }", "variables": "{}"}', "The 'variables' parameter must be"),
        (b'{"query": "{ hello }", "operationName": 3}', "The 'operationName' parameter"),
        (b'{"query": "{ hello }", "extensions": 1}', "The 'extensions' parameter"),
        (b"[]", "The batch is empty"),
        (b"42", "must be a JSON object with a 'query'"),
    ],
)
async def test_malformed_post_bodies_are_400(client, headers, body, message):
    response = await client.post(
        "/graphql", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["message"].startswith(message) or message in error["message"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"query": "{ hello }", "variables": "{not json"}, "The 'variables' parameter is not"),
        ({"query": "{ hello }", "variables": "[]"}, "The 'variables' parameter must be"),
        ({"operationName": "A"}, "The request has no 'query' parameter"),
    ],
)
async def test_malformed_get_parameters_are_400(client, params, message):
    response = await client.get("/graphql", params=params, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith(message)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_unsupported_content_type_is_415(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    request = client.build_request(
        "POST", "/graphql", content=b'{"query": "{ hello }"}', headers=headers
    )
    assert request.headers.get("content-type") == content_type
    response = await client.send(request)
    assert response.status_code == 415
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_json_with_charset_is_accepted(client):
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ hello }"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405(client, method):
    response = await client.request(method, "/graphql", json={"query": "{ hello }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert "errors" in response.json()


# --- body size ----------------------------------------------------------------------------


async def test_declared_oversized_body_is_413_before_parsing(client):
    # given: a body over the limit that is not even JSON (parsing it would answer 400)
    body = b"x" * (LIMIT + 1)
    # when
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    # then
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_streamed_oversized_body_without_length_is_413(client):
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 500

    request = client.build_request(
        "POST", "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in request.headers
    response = await client.send(request)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_body_at_the_limit_is_accepted(client):
    query = "{ hello }"
    padding = LIMIT - len(orjson.dumps({"query": query, "p": ""}))
    body = orjson.dumps({"query": query, "p": " " * padding})
    assert len(body) == LIMIT
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 200


# --- errors in results --------------------------------------------------------------------


async def test_unexpected_errors_are_masked_and_logged(client, caplog):
    caplog.set_level(logging.ERROR, logger="graph.schema.errors")
    response = await client.post("/graphql", json={"query": "{ hello boom }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"hello": "Hello world, from ada", "boom": None}
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 9}],
            "path": ["boom"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]
    assert SECRET not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    # logged server side, with the traceback
    record = next(r for r in caplog.records if r.name == "graph.schema.errors")
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


async def test_graph_errors_keep_code_message_and_extensions(client):
    response = await client.post(
        "/graphql", json={"query": "{ customer(number: 9) throttled }"}, headers=GRAPHQL_RESPONSE
    )
    assert response.status_code == 200  # data is present (null fields), so 200
    errors = {e["path"][0]: e for e in response.json()["errors"]}
    assert errors["customer"]["message"] == "No customer with number 9."
    assert errors["customer"]["extensions"] == {"code": "NOT_FOUND"}
    assert errors["throttled"]["extensions"] == {"code": "UPSTREAM_RATE_LIMITED", "retryAfter": 7}


async def test_the_classifier_given_to_the_endpoint_maps_foreign_exceptions(client):
    # given
    def map_kickserv_down(exc: BaseException) -> UpstreamUnavailable | None:
        if isinstance(exc, KickservDown):
            return UpstreamUnavailable("Kickserv is unavailable; try again shortly.")
        return None

    query = {"query": "{ upstreamDown }"}
    masked = (await client.post("/graphql", json=query)).json()["errors"][0]
    app, _ = build_app(classify_error=ErrorClassifier((map_kickserv_down,)))
    # when
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as other:
        mapped = (await other.post("/graphql", json=query)).json()["errors"][0]
    # then
    assert masked["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert mapped["message"] == "Kickserv is unavailable; try again shortly."
    assert mapped["extensions"] == {"code": "UPSTREAM_UNAVAILABLE"}


async def test_context_factory_errors_are_request_errors():
    async def unauthenticated(request: Request) -> Ctx:
        raise Unauthenticated("Send an API key in the Authorization header.")

    async def broken(request: Request) -> Ctx:
        raise RuntimeError(f"redis password {SECRET}")

    for factory, status, code in [
        (unauthenticated, 401, "UNAUTHENTICATED"),
        (broken, 500, "INTERNAL_SERVER_ERROR"),
    ]:
        endpoint = GraphQLEndpoint(SCHEMA, factory, Settings())
        app = Starlette(routes=[Route("/graphql", endpoint)])
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            response = await client.post("/graphql", json={"query": "{ hello }"})
        assert response.status_code == status
        assert response.json()["errors"][0]["extensions"] == {"code": code}
        assert SECRET not in response.text


# --- hooks --------------------------------------------------------------------------------


async def test_on_result_adds_response_extensions():
    async def on_result(context: Ctx, result: Any) -> dict[str, Any]:
        return {"upstream": {"calls": 0, "user": context.user, "errors": len(result.errors or [])}}

    app, _ = build_app(on_result=on_result)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/graphql", json={"query": "{ hello boom }"})
    assert response.json()["extensions"] == {"upstream": {"calls": 0, "user": "ada", "errors": 1}}


async def test_document_resolver_supplies_the_text_or_refuses():
    stored = {"abc": "{ hello }"}
    seen: list[GraphQLParams] = []

    async def resolver(request: Request, params: GraphQLParams) -> str:
        seen.append(params)
        if params.document_id is not None:
            if params.document_id not in stored:
                raise PersistedQueryNotFound()
            return stored[params.document_id]
        assert params.query is not None
        return params.query

    app, _ = build_app(document_resolver=resolver)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        found = await c.post("/graphql", json={"documentId": "abc"})
        missing = await c.get(
            "/graphql",
            params={"documentId": "zzz", "extensions": '{"persistedQuery": {"version": 1}}'},
            headers={"accept": "text/html"},  # extensions present: never GraphiQL
        )
    assert found.json() == {"data": {"hello": "Hello world, from ada"}}
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert seen[1].extensions == {"persistedQuery": {"version": 1}}


class NoBoom(ValidationRule):
    def enter_field(self, node: Any, *_: Any) -> None:
        if node.name.value == "boom":
            self.report_error(
                GraphQLError(
                    "Field 'boom' is not allowed here.",
                    node,
                    extensions={"code": "QUERY_TOO_COMPLEX"},
                )
            )


@pytest.mark.parametrize("headers", [GRAPHQL_RESPONSE, LEGACY_JSON])
async def test_extra_validation_rules_and_token_limit(headers):
    app, _ = build_app(validation_rules=[NoBoom], max_tokens=20)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        ruled = await c.post("/graphql", json={"query": "{ boom }"}, headers=headers)
        long = "{ " + " ".join(f"a{i}: hello" for i in range(10)) + " }"
        too_long = await c.post("/graphql", json={"query": long}, headers=headers)
        fine = await c.post("/graphql", json={"query": "{ hello }"}, headers=headers)
    # a limit is 400 under both media types, a rule's own or the parser's
    assert ruled.status_code == 400
    assert ruled.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX"}
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": "tokens",
        "limit": 20,
        "measure": 21,
    }
    assert fine.status_code == 200


# --- document cache -----------------------------------------------------------------------


async def test_each_distinct_document_is_parsed_once(app_ctx, monkeypatch):
    client, _, endpoint = app_ctx
    parsed: list[str] = []
    real_parse = graph.server.documents.parse

    def counting_parse(source: str, **kwargs: Any) -> Any:
        parsed.append(source)
        return real_parse(source, **kwargs)

    monkeypatch.setattr(graph.server.documents, "parse", counting_parse)
    for _ in range(3):
        assert (await client.post("/graphql", json={"query": "{ hello }"})).status_code == 200
        await client.post("/graphql", json={"query": "{ nope }"})  # invalid documents too
    await client.get("/graphql", params={"query": "{ hello }"})
    assert parsed == ["{ hello }", "{ nope }"]
    assert (endpoint.documents.misses, endpoint.documents.hits) == (2, 5)


def test_document_cache_evicts_least_recently_used():
    cache = graph.server.documents.DocumentCache(graphql_schema(SCHEMA), maxsize=2)
    first, second, third = "{ hello }", "{ syncCount }", "{ price }"
    cache.get(first)
    cache.get(second)
    cache.get(first)  # first is now the most recent
    cache.get(third)  # evicts second
    misses = cache.misses
    cache.get(first)
    assert cache.misses == misses
    cache.get(second)
    assert cache.misses == misses + 1
    assert len(cache) == 2


# --- GraphiQL and negotiation -------------------------------------------------------------


async def test_browser_gets_graphiql_served_from_our_static_files(client):
    response = await client.get(
        "/graphql", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    scripts = [
        "/static/graphiql/react.production.min.js",
        "/static/graphiql/react-dom.production.min.js",
        "/static/graphiql/graphiql.min.js",
        "/static/graphiql/boot.js",
    ]
    for path in [*scripts, "/static/graphiql/graphiql.min.css"]:
        assert f'"{path}"' in page
        asset = await client.get(path)
        assert asset.status_code == 200, path
        assert len(asset.content) > 100
    assert "http://" not in page and "https://" not in page


@pytest.mark.parametrize(
    "params", [{"query": "{ hello }"}, {"extensions": "{}", "query": "{ hello }"}]
)
async def test_browser_with_a_query_gets_json(client, params):
    response = await client.get("/graphql", params=params, headers={"accept": "text/html, */*"})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"data": {"hello": "Hello world, from ada"}}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("", APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0.5, application/json", APPLICATION_JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", APPLICATION_JSON),
        ("text/plain", APPLICATION_JSON),
    ],
)
def test_media_type_negotiation(accept, expected):
    assert negotiate_media_type(accept) == expected


# --- over a real socket -------------------------------------------------------------------


def test_real_uvicorn_serves_queries_and_refuses_large_bodies(live_server):
    app, _ = build_app()
    with live_server(app) as base_url, httpx.Client(base_url=base_url) as client:
        ok = client.post("/graphql", json={"query": "{ hello }"}, headers=GRAPHQL_RESPONSE)
        got = client.get("/graphql", params={"query": "{ syncCount }"})
        big = client.post(
            "/graphql", content=b"z" * (LIMIT * 5), headers={"content-type": "application/json"}
        )
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
    assert ok.json() == {"data": {"hello": "Hello world, from ada"}}
    assert got.json() == {"data": {"syncCount": 0}}
    assert big.status_code == 413
    assert big.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


# --- robustness and federation ------------------------------------------------------------


async def test_pathologically_nested_document_is_a_client_error():
    app, _ = build_app(limit=100_000)
    query = "{" + "hello {" * 5000 + "}" * 5001
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/graphql", json={"query": query}, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert "nested too deeply" in error["message"]
    assert error["extensions"] == {
        "code": "QUERY_TOO_COMPLEX",
        "rule": "nesting",
        "limit": 200,
        "measure": 201,
    }


async def test_a_failing_hook_is_a_masked_500():
    async def on_result(context: Ctx, result: Any) -> dict[str, Any]:
        raise RuntimeError(f"tracing backend password {SECRET}")

    app, _ = build_app(on_result=on_result)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post("/graphql", json={"query": "{ hello }"})
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {"message": "Unexpected error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }
    assert SECRET not in response.text


@strawberry.federation.type(keys=["id"])
class Widget:
    id: strawberry.ID
    name: str

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info[Ctx, None], id: strawberry.ID) -> Widget:
        return Widget(id=id, name=f"widget {id} for {info.context.user}")


@strawberry.type
class FederatedQuery:
    @strawberry.field
    async def widget(self) -> Widget:
        return Widget(id=strawberry.ID("1"), name="one")


async def test_federation_schema_entities_and_sdl_execute():
    schema = strawberry.federation.Schema(query=FederatedQuery)

    async def context_factory(request: Request) -> Ctx:
        return Ctx(user="router")

    endpoint = GraphQLEndpoint(schema, context_factory, Settings())
    app = Starlette(routes=[Route("/graphql", endpoint)])
    query = (
        "query($r: [_Any!]!) { _service { sdl } "
        "_entities(representations: $r) { ... on Widget { id name } } }"
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.post(
            "/graphql",
            json={"query": query, "variables": {"r": [{"__typename": "Widget", "id": "7"}]}},
        )
    body = response.json()
    assert "errors" not in body
    assert body["data"]["_entities"] == [{"id": "7", "name": "widget 7 for router"}]
    assert '@key(fields: "id")' in body["data"]["_service"]["sdl"]
