"""The warm request path's shortcuts keep their behaviour: /graphql past Starlette's own layers (under
a root path too; every other path still through them), and a request body read without a timer when
it has arrived, under the time limit when it has to wait (its waits, outcomes and cancellation
handed through)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.requests import ClientDisconnect

from graph.schema.errors import GraphError
from graph.server.assembly import build_app
from graph.server.requests import read_body
from graph.server.settings import Settings

QUERY = {"query": "{ __typename }"}


async def test_graphql_goes_past_starlettes_stack_under_a_root_path_too() -> None:
    app = build_app(Settings(sandbox_customers=5))
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        answer = await client.post("/api/graphql", json=QUERY)
        assert app.middleware_stack is None  # Starlette's layers were never built
        assert answer.status_code == 200
        assert answer.json()["data"] == {"__typename": "Query"}
        assert answer.headers["x-request-id"]  # the app's own middleware still wraps it
        health = await client.get("/api/healthz")
        assert app.middleware_stack is not None
        assert health.status_code == 200
        assert health.headers["x-request-id"]
        slash = await client.post("/api/graphql/", json=QUERY)
        assert slash.status_code == 307  # Starlette's redirect, as before


def receiving(*steps: Any) -> Any:
    """An ASGI receive answering ``steps`` in turn: a message, or a number of seconds to wait first
    (then the next message), or an exception to raise."""
    pending = list(steps)

    async def receive() -> Any:
        step = pending.pop(0)
        if isinstance(step, float):
            await asyncio.sleep(step)
            step = pending.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    return receive


def part(body: bytes, more: bool) -> dict[str, Any]:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_body_that_has_arrived_is_read_whole() -> None:
    receive = receiving(part(b'{"query"', True), part(b': "{ a }"}', False))
    assert await read_body(receive, None, 1000, 5.0) == b'{"query": "{ a }"}'


async def test_a_body_that_waits_is_read_whole_within_its_time_limit() -> None:
    receive = receiving(part(b'{"query"', True), 0.01, part(b': "{ a }"}', False))
    assert await read_body(receive, None, 1000, 5.0) == b'{"query": "{ a }"}'


async def test_a_body_that_waits_past_its_time_limit_is_408() -> None:
    receive = receiving(part(b'{"query"', True), 10.0, part(b"}", False))
    with pytest.raises(GraphError) as refused:
        await read_body(receive, None, 1000, 0.05)
    assert refused.value.http_status == 408


async def test_a_disconnect_after_a_wait_is_the_clients() -> None:
    receive = receiving(part(b"{", True), 0.01, {"type": "http.disconnect"})
    with pytest.raises(ClientDisconnect):
        await read_body(receive, None, 1000, 5.0)


async def test_a_body_past_its_limit_after_a_wait_is_413() -> None:
    receive = receiving(part(b"{", True), 0.01, part(b"x" * 2000, False))
    with pytest.raises(GraphError) as refused:
        await read_body(receive, None, 1000, 5.0)
    assert refused.value.http_status == 413


async def test_a_waiting_read_cancelled_from_outside_stays_cancelled() -> None:
    receive = receiving(part(b"{", True), 10.0, part(b"}", False))
    reading = asyncio.create_task(read_body(receive, None, 1000, 30.0))
    await asyncio.sleep(0.01)
    reading.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reading
