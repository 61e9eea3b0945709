"""A response goes out in one write (graph.server.protocol ``HeadHeld``): the protocol ``serve``
runs, given a connection whose transport records each write, answers a whole response with one
write of head and body; a response whose body waits sends its head on the next turn of the loop,
alone, and the body after; a connection closed with a head held sends the head first."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from graph.server.protocol import GuardedHttpToolsProtocol, HeadHeld

REQUEST = b"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\n{}"
App = Callable[[Any, Any, Any], Awaitable[None]]


class Recording(asyncio.Transport):
    """A connection's transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5555)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def served(app: App, request: bytes = REQUEST, wait: float = 0.0) -> Recording:
    """``request`` answered by ``app`` through the protocol, on a recording transport."""
    config = uvicorn.Config(app, http=GuardedHttpToolsProtocol, lifespan="off", log_level="warning")
    config.load()
    protocol = GuardedHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop()
    )
    transport = Recording()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(100):
        await asyncio.sleep(wait / 100 if wait else 0)
    protocol.connection_lost(None)
    return transport


def answer(body: bytes, pause: float | None = None) -> App:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if pause is not None:
            await asyncio.sleep(pause)
        await send({"type": "http.response.body", "body": body})

    return app


async def test_a_whole_response_goes_out_in_one_write() -> None:
    transport = await served(answer(b'{"data":{}}'))
    assert len(transport.writes) == 1, transport.writes
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"content-length: 11" in head
    assert body == b'{"data":{}}'


async def test_a_head_whose_body_waits_goes_out_first_alone() -> None:
    transport = await served(answer(b"late", pause=0.05), wait=0.2)
    assert len(transport.writes) == 2, transport.writes
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK") and transport.writes[0].endswith(
        b"\r\n\r\n"
    )
    assert transport.writes[1] == b"late"


async def test_each_response_on_a_kept_alive_connection_is_one_write() -> None:
    transport = await served(answer(b"[]"), request=REQUEST * 3)
    assert [w.endswith(b"\r\n\r\n[]") for w in transport.writes] == [True, True, True]


async def test_closing_with_a_head_held_sends_the_head_before_closing() -> None:
    transport = Recording()
    held = HeadHeld(transport, asyncio.get_running_loop())
    held.write(b"HTTP/1.1 200 OK\r\n\r\n")
    assert transport.writes == []  # held for the body
    held.close()
    assert transport.writes == [b"HTTP/1.1 200 OK\r\n\r\n"] and transport.closed
    await asyncio.sleep(0)
    assert len(transport.writes) == 1  # not again on the next turn
