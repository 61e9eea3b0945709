"""Replays answered below ASGI (graph.server.protocol): a real uvicorn on 127.0.0.1 with ``serve``'s
protocol and the real app over the built-in sandbox, spoken to over raw sockets. A repeat the
replay lane answers never reaches the ASGI app, with the bytes and headers its ASGI step sends, the
same access line and metrics; kept-alive, closing and pipelined connections end as uvicorn ends
them; a write, an Origin (CORS) or a body that comes after its head sends a request through ASGI."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send
from uvicorn.server import ServerState

from graph.server.app import GraphApp
from graph.server.protocol import GuardedHttpToolsProtocol, HeadLimits, ReplayingProtocol, configure
from graph.server.replays import MAX_WIRES, Head, ReplayLane, Wire
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.test_replay_lane import COMMIT, Lane
from tests.graph.test_replay_lane import serving as lane_serving
from tests.graph.test_replays import ADD_NOTE, DEMO_KEY, NAME, NOTES

ORIGIN = "https://app.example"


class Counted(GraphApp):
    """The app, counting the HTTP requests that reach it (ASGI)."""

    asgi: list[str]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.asgi.append(scope["path"])
        await super().__call__(scope, receive, send)


class Server:
    def __init__(self, app: Counted, lane: Lane) -> None:
        self.app = app
        self.lane = lane  # its whole_way: the requests that went past the lane
        host, port = lane.url.removeprefix("http://").split(":")
        self.address = (host, int(port))

    def connect(self) -> Connection:
        return Connection(socket.create_connection(self.address, timeout=10))

    def counts(self) -> tuple[int, int]:
        """Requests that reached the ASGI app so far, and those that went past the lane."""
        return len(self.app.asgi), len(self.lane.whole_way)

    def replayed(self, body: dict[str, Any]) -> None:
        """``body`` sent until its repeats are answered below ASGI."""
        with self.connect() as connection:
            for _ in range(4):  # a miss, a hit, a replay its generation checked: then the lane
                connection.send(request(body))
                assert connection.response().status == 200
        before = self.counts()
        with self.connect() as connection:
            connection.send(request(body))
            assert connection.response().status == 200
        assert self.counts() == before, "not answered below ASGI"

    def known(self, data: bytes) -> bool:
        """The lane knows ``data`` as the bytes of a request it answered (``ReplayLane.wire_of``)."""
        lane = self.app.lane
        assert lane is not None
        return lane.wire_of(data) is not None

    def requests_counted(self, operation: str) -> float:
        """``kickserv_graph_requests_total`` of ``operation``, scraped from /metrics."""
        with self.connect() as connection:
            connection.send(b"GET /metrics HTTP/1.1\r\nhost: t\r\n\r\n")
            text = connection.response().body.decode()
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "kickserv_graph_requests_total"
            and sample.labels.get("operation") == operation
        )


class Response:
    def __init__(self, head: bytes, body: bytes) -> None:
        lines = head.split(b"\r\n")
        self.head = head
        self.status = int(lines[0].split()[1])
        self.headers = [tuple(line.split(b": ", 1)) for line in lines[1:]]
        self.body = body

    def header(self, name: bytes) -> bytes | None:
        return next((value for n, value in self.headers if n == name), None)

    def shown(self) -> bytes:
        """The whole response, but for what changes with the clock (date, max-age)."""
        head = re.sub(rb"date: [^\r]*", b"date: -", self.head)
        head = re.sub(rb"max-age=\d+", b"max-age=-", head)
        return head + b"\r\n\r\n" + self.body


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        answer = Response(head, b"")
        length = int(answer.header(b"content-length") or b"0")
        while len(self.buffer) < length:
            self._read()
        answer.body, self.buffer = self.buffer[:length], self.buffer[length:]
        return answer

    def closed(self) -> bool:
        """The server closed the connection once it had sent everything."""
        return self.buffer == b"" and self.sock.recv(65536) == b""

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk


def request(
    body: dict[str, Any], headers: dict[str, str] | None = None, *, version: bytes = b"1.1"
) -> bytes:
    content = orjson.dumps(body)
    lines = [b"POST /graphql HTTP/" + version, b"host: t", b"content-type: application/json"]
    lines.append(b"x-api-key: " + DEMO_KEY.encode())
    lines.extend(f"{name}: {value}".encode() for name, value in (headers or {}).items())
    lines.append(b"content-length: %d" % len(content))
    return b"\r\n".join(lines) + b"\r\n\r\n" + content


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=12, acme_customers=8, seed=4)) as sb:
        yield sb


@contextmanager
def serving(sandbox: RunningSandbox, directory: Path, **settings: Any) -> Iterator[Server]:
    """test_replay_lane's server on ``serve``'s protocol, its ASGI requests counted too."""
    with lane_serving(sandbox, directory, GuardedHttpToolsProtocol, **settings) as lane:
        app = lane.app
        app.__class__ = Counted
        assert isinstance(app, Counted)
        app.asgi = []
        yield Server(app, lane)


@pytest.fixture(scope="module")
def server(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(sandbox, tmp_path_factory.mktemp("below")) as served:
        yield served


def test_repeats_are_answered_below_asgi_as_the_asgi_lane_answers_them(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    query = {"query": NAME, "operationName": "Name", "variables": {"test": "same"}}
    same = request(query, {"x-request-id": "same-id"})
    head, _, body = same.partition(b"\r\n\r\n")
    counted = server.requests_counted("Name")
    before = server.counts()
    with caplog.at_level(logging.INFO, logger="graph.access"), server.connect() as connection:
        # when: the same request four times (a miss, a hit, a replay through the endpoint, then
        # one the lane may answer), then once more with its body a moment after its head
        answers = []
        for _ in range(4):
            connection.send(same)
            answers.append(connection.response())
        after_four = server.counts()
        connection.send(head + b"\r\n\r\n")
        time.sleep(0.2)
        connection.send(body)
        answers.append(connection.response())
    lines = [r.access for r in caplog.records if r.name == "graph.access"]  # type: ignore[attr-defined]

    # then: the first three reached the app, the fourth did not; the fifth (its body late) did,
    # and the lane answered it there (it did not go past the lane)
    assert after_four[0] - before[0] == 3
    assert server.counts() == (before[0] + 4, before[1] + 3)
    # and the answer below ASGI is the ASGI lane's, byte for byte but for the clock
    below, in_asgi = answers[3], answers[4]
    assert below.status == 200 and below.header(b"x-request-id") == b"same-id"
    assert below.shown() == in_asgi.shown()
    assert [name for name, _ in below.headers] == [name for name, _ in answers[2].headers]
    assert below.header(b"date") is not None  # uvicorn's default header
    assert below.body == answers[2].body == answers[1].body
    # and it was logged and counted as every replay is
    assert len(lines) == 5
    shown = [{k: v for k, v in line.items() if k != "duration_ms"} for line in lines]
    assert shown[3] == shown[4] == shown[2]
    assert shown[3]["response_cache"] == "hit" and shown[3]["request_id"] == "same-id"
    assert server.requests_counted("Name") - counted == 5


def test_a_kept_alive_connection_answers_repeats_below_asgi_and_ends_as_asked(
    server: Server,
) -> None:
    query = {"query": NAME, "variables": {"test": "kept alive"}}
    server.replayed(query)
    before = server.counts()

    # when: several repeats on one connection, then one with Connection: close
    with server.connect() as connection:
        for i in range(5):
            connection.send(request(query, {"x-request-id": f"kept-{i}"}))
            answer = connection.response()
            assert answer.header(b"x-request-id") == f"kept-{i}".encode()
            assert answer.header(b"connection") is None
        connection.send(request(query, {"connection": "close"}))
        last = connection.response()
        closed = connection.closed()
    # and an HTTP/1.0 request
    with server.connect() as connection:
        connection.send(request(query, version=b"1.0"))
        old = connection.response()
        old_closed = connection.closed()

    # then: all answered below ASGI; the last two said they close, and closed
    assert server.counts() == before
    assert last.header(b"connection") == b"close" and closed
    assert old.header(b"connection") == b"close" and old_closed
    assert old.status == last.status == 200 and old.body == last.body == answer.body


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    query = {"query": NAME, "variables": {"test": "pipelined"}}
    server.replayed(query)
    other = {"query": NOTES}  # a hit or a miss: never in the lane the first time
    before = server.counts()

    # when: three repeats in one write, then a repeat, another request and a repeat
    with server.connect() as connection:
        connection.send(b"".join(request(query, {"x-request-id": f"p-{i}"}) for i in range(3)))
        first = [connection.response() for _ in range(3)]
        mixed = [
            request(query, {"x-request-id": "m-0"}),
            request(other, {"x-request-id": "m-1"}),
            request(query, {"x-request-id": "m-2"}),
        ]
        connection.send(b"".join(mixed))
        second = [connection.response() for _ in range(3)]

    # then: every answer in its request's order; only the other request reached the app
    assert [a.header(b"x-request-id") for a in first] == [b"p-0", b"p-1", b"p-2"]
    assert [a.header(b"x-request-id") for a in second] == [b"m-0", b"m-1", b"m-2"]
    assert first[0].body == first[2].body == second[0].body == second[2].body
    assert b"notes" in second[1].body
    # the other request, and the repeat queued behind it (started once the other was answered:
    # its lane answered it in ASGI, past nothing)
    assert server.counts() == (before[0] + 2, before[1] + 1)


def test_a_write_sends_the_next_repeat_through_asgi(server: Server) -> None:
    query = {"query": NOTES, "variables": {"test": "write"}}
    server.replayed(query)
    assert server.known(request(query))  # the next repeat is asked by its bytes first

    with server.connect() as connection:
        connection.send(request({"query": ADD_NOTE, "variables": {"body": "written below"}}))
        written = connection.response()
        before = server.counts()
        connection.send(request(query))
        after = connection.response()

    assert written.status == 200 and b"errors" not in written.body, written.body
    assert server.counts()[1] == before[1] + 1  # the whole way
    notes = orjson.loads(after.body)["data"]["customer"]["notes"]
    assert "written below" in [note["body"] for note in notes]


def test_a_commit_by_another_process_sends_the_next_repeat_through_asgi(server: Server) -> None:
    query = {"query": NAME, "variables": {"test": "other process"}}
    server.replayed(query)
    assert server.known(request(query))  # the next repeat is asked by its bytes first

    # when: another process commits to the state store (anything: its change mark moves)
    subprocess.run(
        [sys.executable, "-c", COMMIT, str(server.lane.state_file)], check=True, timeout=30
    )
    # then: the next repeat goes the whole way, and the one after it is answered below ASGI again
    with server.connect() as connection:
        before = server.counts()
        connection.send(request(query))
        assert connection.response().status == 200
        through = server.counts()
        connection.send(request(query))
        assert connection.response().status == 200
    assert through[0] == before[0] + 1 and server.counts() == through


def test_a_body_in_several_packets_is_answered(server: Server) -> None:
    query = {"query": NAME, "variables": {"test": "packets"}}
    server.replayed(query)
    whole = request(query, {"x-request-id": "packets"})
    with server.connect() as connection:
        connection.send(whole)
        expected = connection.response()
        before = server.counts()
        # when: the head and the first bytes of the body, then the rest
        cut = whole.index(b"\r\n\r\n") + 10
        connection.send(whole[:cut])
        time.sleep(0.2)
        connection.send(whole[cut:])
        answer = connection.response()

    # then: the same answer, through ASGI (its lane answered it there)
    assert answer.shown() == expected.shown()
    assert server.counts() == (before[0] + 1, before[1])


def test_a_cors_request_stands_aside(sandbox: RunningSandbox, tmp_path: Path) -> None:
    with serving(sandbox, tmp_path, cors_origins=(ORIGIN,)) as cors:
        query = {"query": NAME}
        cors.replayed(query)
        before = cors.counts()
        with cors.connect() as connection:
            connection.send(request(query, {"origin": ORIGIN}))
            with_origin = connection.response()
            connection.send(request(query))
            without = connection.response()
        counts = cors.counts()

    # then: the request with an Origin went the whole way and got its CORS header; the same
    # without one was answered below ASGI
    assert counts == (before[0] + 1, before[1] + 1)
    assert with_origin.header(b"access-control-allow-origin") == ORIGIN.encode()
    assert without.header(b"access-control-allow-origin") is None
    assert with_origin.body == without.body


async def test_only_a_graph_app_with_a_lane_gets_the_replaying_protocol(server: Server) -> None:
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        pass

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        await server.app(scope, receive, send)  # might add to an answer: never looked through

    kinds = []
    for app in (server.app, plain, wrapped):
        config = uvicorn.Config(app, http=GuardedHttpToolsProtocol, log_level="warning")
        config.load()
        protocol = GuardedHttpToolsProtocol(
            config=config,
            server_state=ServerState(),
            app_state={},
            _loop=asyncio.get_running_loop(),
        )
        kinds.append(type(protocol))

    assert kinds == [ReplayingProtocol, GuardedHttpToolsProtocol, GuardedHttpToolsProtocol]


def test_a_request_known_by_its_bytes_is_answered_and_the_connection_goes_on(
    server: Server,
) -> None:
    query = {"query": NAME, "operationName": "Name", "variables": {"test": "known bytes"}}
    same = request(query)
    server.replayed(query)  # its last repeat answered below ASGI: its bytes are known
    assert server.known(same)
    counted = server.requests_counted("Name")
    before = server.counts()

    # when: the known bytes as a new connection's first request, another request, the known bytes
    # again, then another request again
    with server.connect() as connection:
        answers = []
        for data in (same, request({"query": NOTES}), same, request({"query": NOTES})):
            connection.send(data)
            answers.append(connection.response())

    # then: each is answered as itself, in order; the two known ones never reached the app, the
    # parser read the others whole (nothing of the known ones was left in it)
    assert [a.status for a in answers] == [200, 200, 200, 200]
    assert answers[0].body == answers[2].body and b'"name"' in answers[0].body
    notes = [orjson.loads(a.body)["data"] for a in (answers[1], answers[3])]
    assert notes[0] == notes[1] and "notes" in notes[0]["customer"]
    assert answers[0].header(b"x-request-id") != answers[2].header(b"x-request-id")
    assert server.counts()[0] - before[0] <= 2  # the other two (a miss then a hit) at most
    assert server.requests_counted("Name") - counted == 2  # counted as every replay is


def test_a_known_request_behind_one_in_flight_is_answered_after_it(
    sandbox: RunningSandbox, server: Server
) -> None:
    # given: a note written (customer 2's notes are read from Kickserv again), then a request
    # whose bytes are known
    with server.connect() as connection:
        connection.send(request({"query": ADD_NOTE, "variables": {"body": "behind"}}))
        assert b"errors" not in connection.response().body
    query = {"query": NAME, "variables": {"test": "behind one in flight"}}
    same = request(query)
    server.replayed(query)
    assert server.known(same)
    calls = sandbox.request_count()
    slow = httpx.put(f"{sandbox.base_url}/__sandbox/config", json={"latency_ms": 300})
    assert slow.status_code == 200
    try:
        with server.connect() as connection:
            # when: the notes (a read from Kickserv taking 300 ms), then, while it is in flight,
            # the known bytes in a read of their own
            connection.send(request({"query": NOTES}))
            time.sleep(0.1)
            connection.send(same)
            first = connection.response()
            second = connection.response()
    finally:
        httpx.put(f"{sandbox.base_url}/__sandbox/config", json={"latency_ms": 0})

    # then: the notes were read from Kickserv, and answered first; the known request after them
    assert sandbox.request_count() > calls
    notes = orjson.loads(first.body)["data"]["customer"]["notes"]
    assert "behind" in [note["body"] for note in notes]
    assert orjson.loads(second.body)["data"]["customer"]["name"]


def test_a_known_first_request_is_not_timed_as_an_unfinished_head(server: Server) -> None:
    query = {"query": NAME, "variables": {"test": "head timer"}}
    same = request(query)
    server.replayed(query)
    assert server.known(same)
    configure(HeadLimits(max_bytes=16 * 1024, timeout=0.3))
    try:
        with server.connect() as connection:  # its head timer runs from the connection's start
            # when: the known bytes first, then nothing for longer than a head may take
            connection.send(same)
            first = connection.response()
            time.sleep(0.6)
            connection.send(same)
            second = connection.response()
    finally:
        configure(None)

    # then: the connection was between requests, not in a head: both were answered
    assert first.status == second.status == 200
    assert first.body == second.body


def test_the_lane_keeps_a_bounded_number_of_known_requests(server: Server) -> None:
    lane = server.app.lane
    assert isinstance(lane, ReplayLane)
    head = Head({"method": "POST", "headers": []})
    wires = [b"request %d" % i for i in range(MAX_WIRES + 10)]
    for data in wires:
        lane.learn_wire(data, Wire(b"k", head, "/graphql"))
    assert lane.wire_of(wires[-1]) is not None
    assert lane.wire_of(wires[0]) is None  # the oldest went first
    assert sum(lane.wire_of(data) is not None for data in wires) == MAX_WIRES
    lane.learn_wire(b"x" * 100_000, Wire(b"k", head, "/graphql"))  # too big to keep
    assert lane.wire_of(b"x" * 100_000) is None
    for data in wires:
        lane.unlearn_wire(data)
