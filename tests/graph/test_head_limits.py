"""Request heads bounded in bytes and in time (issue 11): the server as ``kickserv-graph serve`` runs
it (uvicorn, uvloop, ``GuardedHttpToolsProtocol``) on a free 127.0.0.1 port, spoken to over raw
sockets. A header trickled a byte at a time is cut off at the head timeout with 408; a head past its
size gets 431 and a closed connection before the server keeps it; a silent connection is closed;
ordinary requests, kept alive, still answer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from graph.server.assembly import build_app
from graph.server.protocol import GuardedHttpToolsProtocol, HeadLimits, configure
from graph.server.settings import Settings

LIMITS = HeadLimits(max_bytes=16 * 1024, timeout=1.0)
QUERY = b'{"query": "{ __typename }"}'


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    configure(LIMITS)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        build_app(Settings()),
        loop="uvloop",
        http=GuardedHttpToolsProtocol,
        lifespan="on",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped before it started"
            time.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        configure(None)


def connect(port: int) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def read_all(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    return received


def post(body: bytes = QUERY, extra: bytes = b"") -> bytes:
    return (
        b"POST /graphql HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def closed(conn: socket.socket) -> bool:
    """The server closed the connection (or reset it)."""
    try:
        conn.settimeout(0.05)
        return conn.recv(65536) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def test_ordinary_requests_on_a_kept_alive_connection_still_answer(port: int) -> None:
    with connect(port) as conn:
        for _ in range(3):
            conn.sendall(post())
            head = conn.recv(65536)
            assert head.startswith(b"HTTP/1.1 200"), head[:100]


def test_a_header_trickled_a_byte_at_a_time_is_cut_off_with_408(port: int) -> None:
    with connect(port) as conn:
        conn.sendall(b"POST /graphql HTTP/1.1\r\nhost: t\r\nx-slow: ")
        sent = 0
        while not closed(conn):  # a slowloris client: one byte every 50 ms, for as long as it may
            try:
                conn.sendall(b"a")
            except ConnectionError:
                break
            sent += 1
            assert sent < 2000, "the server kept a trickling head open"
    with connect(port) as conn:  # and the answer it gets, once it stops sending
        conn.sendall(b"GET /graphql HTTP/1.1\r\nhost: t\r\n")
        assert read_all(conn).startswith(b"HTTP/1.1 408")


def test_an_unfinished_head_after_a_kept_alive_request_is_cut_off_with_408(port: int) -> None:
    # A head that arrives whole is not timed; one a read leaves unfinished is, on a kept-alive
    # connection as on a new one.
    with connect(port) as conn:
        conn.sendall(post())
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        conn.sendall(b"POST /graphql HTTP/1.1\r\nhost: t\r\n")
        assert read_all(conn).startswith(b"HTTP/1.1 408")


def test_a_connection_opened_and_left_silent_is_closed(port: int) -> None:
    with connect(port) as conn:
        conn.settimeout(30)
        assert read_all(conn).startswith(b"HTTP/1.1 408")


def test_a_head_past_its_size_gets_431_and_the_connection_closes(port: int) -> None:
    with connect(port) as conn:
        conn.sendall(b"POST /graphql HTTP/1.1\r\nhost: t\r\nx-big: ")
        sent, chunk = 0, b"b" * 65536
        try:  # a 200 MB header line: the server must stop reading long before
            while sent < 200 * 1024 * 1024:
                conn.sendall(chunk)
                sent += len(chunk)
        except ConnectionError:
            pass
        assert sent < 50 * 1024 * 1024, "the server went on reading an oversized head"
        try:
            answer = read_all(conn)
        except ConnectionError:
            answer = b""  # reset while we were still sending: closed, its answer lost
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431")


def test_a_head_just_under_the_limit_is_served(port: int) -> None:
    with connect(port) as conn:
        filler = b"x-fill: " + b"f" * (LIMITS.max_bytes - 512) + b"\r\n"
        conn.sendall(post(extra=filler))
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")


def test_many_headers_past_the_size_get_431(port: int) -> None:
    with connect(port) as conn:
        many = b"".join(b"x-h%d: v\r\n" % i for i in range(4000))
        try:
            conn.sendall(post(extra=many))
            answer = read_all(conn)
        except ConnectionError:
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431")
        assert closed(conn)
