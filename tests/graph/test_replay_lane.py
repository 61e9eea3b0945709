"""The replay lane (graph.server.replays.ReplayLane), over real HTTP: once a repeat of a hit was
replayed with the state store's change mark read, the next repeats are answered ahead of the app's
middleware and endpoint, with the same bytes, headers, access line and metrics; a commit to the
store by any process, a body that comes after the head, or a CORS request sends the request the
whole way again."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.types import Receive, Scope, Send

from graph.server.app import GraphApp
from graph.server.assembly import build_app
from graph.server.settings import Settings
from resolvers.state import STATE_FILE
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.conftest import uvicorn_in_thread
from tests.graph.test_replays import ADD_NOTE, DEMO_KEY, KEYS_FILE, NAME, NOTES, Served

ORIGIN = "https://app.example"


class Lane(Served):
    """A served app, and the requests that went past the lane (the whole way)."""

    def __init__(self, app: GraphApp, url: str, state_file: Path) -> None:
        super().__init__(app, url)
        self.state_file = state_file
        self.whole_way: list[str] = []
        inner = app.graphql

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            self.whole_way.append(scope["path"])
            await inner(scope, receive, send)

        app.graphql = counted

    def went_whole_way(self, *requests: dict[str, Any], **headers: str) -> list[bool]:
        """Each request sent in turn, and whether it went past the lane."""
        went = []
        for body in requests:
            before = len(self.whole_way)
            answer = self.post(body, **headers)
            assert answer.status_code == 200, answer.text
            went.append(len(self.whole_way) > before)
        return went


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=12, acme_customers=8, seed=4)) as sb:
        yield sb


@contextmanager
def serving(
    sandbox: RunningSandbox, directory: Path, http: Any = "httptools", **settings: Any
) -> Iterator[Lane]:
    keys = directory / "keys.toml"
    keys.write_text(KEYS_FILE)
    # By default the embedded store: its change mark in use.
    settings.setdefault("state_dir", str(directory / "state"))
    app = build_app(
        Settings(
            kickserv_account="demo",
            kickserv_api_token="demo-token",
            kickserv_base_url=sandbox.base_url,
            api_keys_file=str(keys),
            **settings,
        )
    )
    assert isinstance(app, GraphApp) and app.lane is not None
    with uvicorn_in_thread(app, http) as url:
        lane = Lane(app, url, directory / "state" / STATE_FILE)
        yield lane
        lane.client.close()


@pytest.fixture(scope="module")
def served(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lane]:
    with serving(sandbox, tmp_path_factory.mktemp("lane")) as lane:
        yield lane


def test_repeats_after_a_checked_replay_are_answered_ahead_of_the_app(
    served: Lane, caplog: pytest.LogCaptureFixture
) -> None:
    query = {"query": NAME, "operationName": "Name"}
    # when: the same request six times (a miss, a hit, a replay through the endpoint, then three)
    answers, went = [], []
    with caplog.at_level(logging.INFO, logger="graph.access"):
        before = served.counts()
        for i in range(6):
            passed = len(served.whole_way)
            answers.append(served.post(query, **{"x-request-id": f"lane-{i}"}))
            went.append(len(served.whole_way) > passed)
        after = served.counts()
    lines = [r.access for r in caplog.records if r.name == "graph.access"]  # type: ignore[attr-defined]

    # then: only the first three went the whole way; every repeat was counted as a replay
    assert went == [True, True, True, False, False, False]
    assert after["replays"] - before["replays"] == 4
    # and the lane's answers are the endpoint's replay's: bytes, headers, request ids
    checked, *laned = answers[2:]
    for answer in laned:
        assert answer.content == checked.content
        for header in ("content-type", "content-length", "vary"):
            assert answer.headers[header] == checked.headers[header]
        assert answer.headers["cache-control"].startswith("private, max-age=")
    assert [a.headers["x-request-id"] for a in answers] == [f"lane-{i}" for i in range(6)]
    # and so are its access lines, but for their request ids and durations
    assert len(lines) == 6
    shown = [
        {k: v for k, v in line.items() if k not in ("request_id", "duration_ms")} for line in lines
    ]
    assert shown[3] == shown[4] == shown[5] == shown[2]
    assert shown[2]["response_cache"] == "hit" and shown[2]["operation"] == "Name"
    assert shown[2]["key"] == "demo" and shown[2]["outcome"] == "ok"


def test_a_write_here_ends_the_lane_at_once(served: Lane) -> None:
    went = served.went_whole_way(*[{"query": NOTES}] * 5)
    assert went == [True, True, True, False, False]

    written = served.post({"query": ADD_NOTE, "variables": {"body": "written past the lane"}})
    after = served.post({"query": NOTES})

    assert written.status_code == 200 and "errors" not in written.json(), written.text
    assert "written past the lane" in [n["body"] for n in after.json()["data"]["customer"]["notes"]]


def test_a_commit_by_another_process_sends_the_next_repeat_the_whole_way(served: Lane) -> None:
    query = {"query": NAME, "variables": {"unused": 1}}
    assert served.went_whole_way(*[query] * 4)[-1] is False  # in the lane

    # when: another process commits to the state store (anything: the mark moves)
    subprocess.run([sys.executable, "-c", COMMIT, str(served.state_file)], check=True, timeout=30)
    # then: the next repeat goes the whole way (a replay again: the tenant's generation held),
    # and the one after it is in the lane again
    before = served.counts()
    assert served.went_whole_way(query, query) == [True, False]
    assert served.counts()["replays"] - before["replays"] == 2


COMMIT = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute(
    "INSERT INTO meta (name, value) VALUES ('lane-test', 1) "
    "ON CONFLICT (name) DO UPDATE SET value = value + 1"
)
db.close()
"""


def test_a_body_that_comes_after_its_head_goes_the_whole_way(served: Lane) -> None:
    body = orjson.dumps({"query": NAME, "operationName": "Name", "variables": {"late": True}})
    assert served.went_whole_way(*[orjson.loads(body)] * 4)[-1] is False
    expected = served.post(orjson.loads(body)).content
    before = len(served.whole_way)

    # when: the same request on a raw connection, its body sent a moment after its head
    host, port = served.url.removeprefix("http://").split(":")
    head = (
        f"POST /graphql HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n"
        f"x-api-key: {DEMO_KEY}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head)
        time.sleep(0.2)
        connection.sendall(body)
        answer = _read_response(connection)

    # then: answered as the lane would have, by the whole way
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer.endswith(expected)
    assert len(served.whole_way) == before + 1


def _read_response(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += connection.recv(65536)
    return head + b"\r\n\r\n" + rest


def test_a_cors_request_always_goes_the_whole_way(sandbox: RunningSandbox, tmp_path: Path) -> None:
    with serving(sandbox, tmp_path, cors_origins=(ORIGIN,)) as lane:
        query = {"query": NAME}
        with_origin = [lane.post(query, origin=ORIGIN) for _ in range(5)]
        went = lane.went_whole_way(*[query] * 5)  # the same without Origin: the lane answers

    # then: every request with an Origin went the whole way and got its CORS header; without
    # one, the same request was answered ahead at once (the key leaves Origin out: its replay,
    # checked on the way, was the one made for the requests with an Origin)
    assert len(lane.whole_way) == 5
    assert all(a.headers["access-control-allow-origin"] == ORIGIN for a in with_origin)
    assert went == [False] * 5


def test_no_lane_without_a_change_mark(sandbox: RunningSandbox, tmp_path: Path) -> None:
    # given: a server with no state store outliving it: writes are known to this process only
    with serving(sandbox, tmp_path, state_dir="memory") as lane:
        went = lane.went_whole_way(*[{"query": NAME}] * 5)

    # then: every repeat goes the whole way (replayed there, its generation checked)
    assert went == [True] * 5
