"""Subscription clients the tests speak through: graphql-transport-ws over a real WebSocket
(the ``websockets`` package) and GraphQL over SSE (httpx, streaming)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

GUARD = 30.0  # seconds: a hang guard, not an assertion about time


class WsClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.connection.recv(), GUARD)
            assert isinstance(raw, str), "graphql-transport-ws messages are text frames"
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            return message

    async def connection_message(self) -> dict[str, Any]:
        """The next message, pings and pongs included."""
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.connection.recv(), GUARD))
        return message

    async def subscribe(self, id_: str, **payload: Any) -> None:
        await self.send({"type": "subscribe", "id": id_, "payload": payload})

    async def next_of(self, id_: str) -> dict[str, Any]:
        """The next message for ``id_`` (next, error or complete)."""
        while True:
            message = await self.receive()
            if message.get("id") == id_:
                return message


@asynccontextmanager
async def ws_session(
    url: str, init: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[WsClient]:
    async with connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], additional_headers=headers or {}
    ) as connection:
        client = WsClient(connection)
        await client.send({"type": "connection_init", "payload": init or {}})
        ack = await client.receive()
        assert ack["type"] == "connection_ack", ack
        yield client


class SseStream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def event(self) -> tuple[str, Any]:
        """The next event: (name, data parsed as JSON, or None when empty)."""
        name, data = None, ""
        while True:
            line = await asyncio.wait_for(anext(self.lines), GUARD)
            if line.startswith(":"):
                continue
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data += line.removeprefix("data:").strip()
            elif line == "" and name is not None:
                return name, json.loads(data) if data else None


@asynccontextmanager
async def sse_session(
    http: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]
) -> AsyncIterator[SseStream]:
    async with http.stream(
        "POST",
        "/graphql",
        json=body,
        headers={"accept": "text/event-stream", **headers},
        timeout=httpx.Timeout(GUARD),
    ) as response:
        yield SseStream(response)
