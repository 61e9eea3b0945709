"""kickserv.direct: calls written straight into our pool put on the wire the bytes httpx's
`AsyncClient.request` would, and read the answer as it would. Kickserv is a TCP server on
127.0.0.1 that records each request's bytes and answers what the test says."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from kickserv import KickservClient, RetryPolicy
from kickserv.direct import DirectRoute
from kickserv.errors import NotFound, TransportError
from kickserv.pool import PooledTransport

TOKEN = "tok-direct-SECRET"
OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{"id": 1}'


class Wire:
    """A server that keeps each request as it arrived and answers with `answer(request)`."""

    def __init__(
        self, answer: Callable[[bytes], bytes] = lambda _: OK, close: bool = False
    ) -> None:
        self.answer = answer
        self.close = close  # the connection after each answer
        self.requests: list[bytes] = []
        self.connections: list[tuple[asyncio.Task[Any] | None, asyncio.StreamWriter]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections.append((asyncio.current_task(), writer))
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                writer.write(self.answer(request))
                await writer.drain()
                if self.close:
                    break
        writer.close()


@contextlib.asynccontextmanager
async def serving(wire: Wire) -> AsyncIterator[str]:
    server = await asyncio.start_server(wire.serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for task, writer in wire.connections:
            writer.transport.abort()
            if task is not None:
                await task
        await server.wait_closed()


def client(base: str, transport: httpx.AsyncBaseTransport, **options: Any) -> KickservClient:
    http = httpx.AsyncClient(transport=transport, headers={"user-agent": "kickserv-graph/test"})
    return KickservClient("demo", TOKEN, base_url=base, http=http, **options)


def pooled() -> PooledTransport:
    return PooledTransport(httpx.Limits(max_connections=10, max_keepalive_connections=10))


async def both_ways(wire: Wire, base: str, call: Callable[[KickservClient], Any]) -> list[bytes]:
    """The requests `call` sends straight into the pool, then through httpx's client."""
    for transport in (pooled(), httpx.AsyncHTTPTransport()):
        ks = client(base, transport)
        assert (ks._transport._direct is not None) is isinstance(transport, PooledTransport)
        with contextlib.suppress(Exception):
            await call(ks)
        await transport.aclose()
    return wire.requests


CALLS: dict[str, Callable[[KickservClient], Any]] = {
    "a listing page": lambda ks: ks.tasks.list(job_id=5, per_page=60).page(3),
    "odd query values": lambda ks: ks._transport.request(
        "GET", "items.json", params={"name": "O'Brien & Sons 100% ~ é/ü?#", "x": "a+b=c"}
    ),
    "a path to quote and resolve": lambda ks: ks._transport.request(
        "GET", "jobs/../customers/a b%20c.json", params={"page": 1}
    ),
    "a write with a body": lambda ks: ks.jobs.create(8, description="Fix it", total="1.50"),
    "a delete": lambda ks: ks._transport.request("DELETE", "vendors/3.json"),
    "a write without a body": lambda ks: ks._transport.request("POST", "jobs/3/close.json"),
}


@pytest.mark.parametrize("name", list(CALLS))
async def test_the_request_on_the_wire_is_the_one_httpx_sends(name):
    wire = Wire()
    async with serving(wire) as base:
        direct, through_httpx = await both_ways(wire, base, CALLS[name])
    assert direct == through_httpx
    assert b"Authorization: Basic " in direct


async def test_the_trace_hooks_headers_go_with_it_and_the_client_timeout_applies():
    wire = Wire()
    seen: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def trace(method: str, url: str, attempt: int, headers: dict[str, str]) -> Any:
        headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        seen.append({"url": url, "headers": dict(headers)})
        yield lambda status: None

    async with serving(wire) as base:
        for transport in (pooled(), httpx.AsyncHTTPTransport()):
            ks = client(base, transport, trace=trace)
            await ks._transport.request("GET", "customers/1.json")
            await transport.aclose()
    assert wire.requests[0] == wire.requests[1]
    assert b"traceparent: 00-0af7" in wire.requests[0]
    # The hook sees the URL without the credential, and no Authorization header.
    assert seen[0] == seen[1]
    assert seen[0]["url"] == f"{base}/demo/api/v2/customers/1.json"
    assert "Authorization" not in seen[0]["headers"]


async def test_a_compressed_answer_is_decoded_and_an_error_keeps_its_headers():
    body = gzip.compress(b'{"id": 7}')

    def answer(request: bytes) -> bytes:
        if b"/missing.json" in request:
            text = b'{"error": "gone"}'
            return (
                b"HTTP/1.1 404 Not Found\r\nx-request-id: rid-42\r\ncontent-length: "
                + str(len(text)).encode()
                + b"\r\n\r\n"
                + text
            )
        return (
            b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    wire = Wire(answer)
    async with serving(wire) as base:
        ks = client(base, pooled())
        assert await ks._transport.request("GET", "customers/7.json") == {"id": 7}
        with pytest.raises(NotFound) as caught:
            await ks._transport.request("GET", "missing.json")
        await ks._transport._http.aclose()
    assert caught.value.request_id == "rid-42"


async def test_a_broken_answer_is_a_transport_error_as_through_httpx():
    wire = Wire(lambda _: b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{", close=True)
    async with serving(wire) as base:
        ks = client(base, pooled(), retry=RetryPolicy(max_attempts=1))
        with pytest.raises(TransportError, match="RemoteProtocolError"):
            await ks._transport.request("GET", "customers/7.json")
        await ks._transport._http.aclose()


async def test_a_client_with_event_hooks_or_cookies_goes_through_httpx():
    wire = Wire()
    hooked: list[str] = []

    async def hook(request: httpx.Request) -> None:
        hooked.append(str(request.url))

    async with serving(wire) as base:
        ks = client(base, pooled())
        route = ks._transport._direct
        assert isinstance(route, DirectRoute) and route.open()
        ks._transport._http.event_hooks = {"request": [hook]}
        assert not route.open()
        await ks._transport.request("GET", "customers/1.json")
        ks._transport._http.event_hooks = {}
        ks._transport._http.cookies.set("session", "abc")
        assert not route.open()
        await ks._transport.request("GET", "customers/1.json")
        await ks._transport._http.aclose()
        assert not route.open()
    assert hooked == [f"{base}/demo/api/v2/customers/1.json"]
    assert b"Cookie: session=abc" in wire.requests[1]
    assert TOKEN not in repr(route)


@pytest.mark.parametrize("prefix", ["/kick", "/a/./b/../kick%20s"])
async def test_an_origin_with_a_path_is_sent_as_httpx_sends_it(prefix):
    wire = Wire()
    async with serving(wire) as base:
        direct, through_httpx = await both_ways(wire, base + prefix, CALLS["a listing page"])
    assert direct == through_httpx
    assert direct.startswith(b"GET /")
    assert b"/kick" in direct.split(b"\r\n")[0]


@pytest.mark.parametrize(
    ("base", "refused"),
    [
        ("kickserv.test", TransportError),
        ("ftp://kickserv.test", TransportError),
        ("http://:8000", TransportError),
        ("http://a\x00b", httpx.InvalidURL),
    ],
)
async def test_a_base_url_httpx_refuses_is_refused_at_the_first_call_as_before(base, refused):
    ks = client(base, pooled(), retry=RetryPolicy(max_attempts=1))
    assert ks._transport._direct is None
    with pytest.raises(refused):
        await ks._transport.request("GET", "customers/1.json")
    await ks._transport._http.aclose()
