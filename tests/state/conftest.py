"""Fixtures of the state store suite: every test taking ``backend`` or ``store`` runs twice, on an
SQLite file in a temporary directory and on a real ``redis-server`` listening on a free 127.0.0.1
port (Debian's package; ``scripts/test`` installs it).

Without ``redis-server`` the Redis half fails, with the way to fix it; set
``KICKSERV_GRAPH_ALLOW_NO_REDIS=1`` to skip it instead (a machine that cannot install it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from resolvers.state import StateStore, open_state_store

S = TypeVar("S", bound=StateStore)

NO_REDIS = (
    "redis-server is not installed, and the state store suite runs against a real Redis: install "
    "Debian's package (scripts/test does: apt-get install redis-server), or set "
    "KICKSERV_GRAPH_ALLOW_NO_REDIS=1 to skip the Redis tests on this machine."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    """One ``redis-server`` process in its own directory, no persistence, restartable on its port."""

    binary: str
    directory: Path
    port: int = field(default_factory=free_port)
    args: tuple[str, ...] = ()
    tls: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        listen = (
            ["--port", "0", "--tls-port", str(self.port)]
            if self.tls
            else ["--port", str(self.port)]
        )
        command = [
            self.binary,
            *listen,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            *self.args,
        ]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server exited at start:\n{output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not listen on port {self.port} within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(scope="session")
def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("KICKSERV_GRAPH_ALLOW_NO_REDIS") == "1":
            pytest.skip(NO_REDIS)
        pytest.fail(NO_REDIS, pytrace=False)
    return found


@pytest.fixture(scope="session")
def redis_server(
    redis_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RedisServer]:
    """One server for the suite; tests keep apart by key prefix."""
    server = RedisServer(redis_binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_redis(redis_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A server of the test's own, to kill and restart."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(redis_binary, directory)
    server.start()
    yield server
    server.stop()


@dataclass
class Backend:
    """Where a test's state lives; ``open()`` gives a new store on the same state each time."""

    name: str
    where: str
    prefix: str

    def open(self, **options: Any) -> StateStore:
        return open_state_store(self.where, prefix=self.prefix, **options)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        return Backend("redis", server.url, prefix)
    return Backend("sqlite", str(tmp_path / "state"), prefix)


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[StateStore]:
    opened = backend.open()
    yield opened
    await opened.aclose()


@pytest.fixture
async def closing() -> AsyncIterator[Callable[[S], S]]:
    """``closing(store)`` closes the store when the test ends, passed or failed (an unclosed Redis
    client warns when collected, in whichever test is running then)."""
    stores: list[StateStore] = []

    def register(store: S) -> S:
        stores.append(store)
        return store

    yield register
    for store in stores:
        await store.aclose()
