"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that answers each POST with the
next status of a script (then 200) and keeps what it was sent. Signatures are verified with the
``standardwebhooks`` package (the specification's own library), never with our code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.push.clients import GUARD
from tests.push.conftest import uvicorn_here

HANG = -1  # in a script: answer too late


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> object:
        """The payload, if ``secret`` verifies the signature (else the library raises)."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    url: str = ""
    script: list[int] = field(default_factory=list)  # statuses to answer, in order; then 200
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    started: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)  # bodies, on arrival

    async def next(self) -> Received:
        return await asyncio.wait_for(self.arrived.get(), GUARD)

    async def arrival(self) -> bytes:
        """The body of the next request, as soon as it arrives (before it is answered)."""
        return await asyncio.wait_for(self.started.get(), GUARD)

    async def endpoint(self, request: Request) -> Response:
        status = self.script.pop(0) if self.script else 200
        body = await request.body()
        self.started.put_nowait(body)
        if status == HANG:  # answer only after the sender's timeout (then 200, too late)
            await asyncio.sleep(3)
            status = 200
        got = Received(dict(request.headers), body, status)
        self.received.append(got)
        self.arrived.put_nowait(got)
        return Response(status_code=status)


@asynccontextmanager
async def receiving(*script: int) -> AsyncIterator[Receiver]:
    receiver = Receiver(script=list(script))
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    async with uvicorn_here(app) as url:
        receiver.url = f"{url}/hook"
        yield receiver
