"""Fixtures of the replica suite: ``cluster`` is one sandbox and two server replicas (A and B)
sharing one state store, per backend: an SQLite state directory, or a real ``redis-server`` on a
free 127.0.0.1 port (tests/state's ``RedisServer``). It lives for the module, so the tests taking it
run once per backend on the same processes.

Without ``redis-server`` the Redis half fails with the way to fix it, as tests/state does; set
``KICKSERV_GRAPH_ALLOW_NO_REDIS=1`` to skip it instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replicas.harness import Cluster, running_cluster
from tests.state.conftest import NO_REDIS, RedisServer


@pytest.fixture(scope="session")
def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("KICKSERV_GRAPH_ALLOW_NO_REDIS") == "1":
            pytest.skip(NO_REDIS)
        pytest.fail(NO_REDIS, pytrace=False)
    return found


@pytest.fixture
def private_redis(redis_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, to stop and start again on its port."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(redis_binary, directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    directory = tmp_path_factory.mktemp(f"cluster-{request.param}")
    redis: RedisServer | None = None
    if request.param == "redis":
        binary: str = request.getfixturevalue("redis_binary")
        (directory / "redis").mkdir()
        redis = RedisServer(binary, directory / "redis")
        redis.start()
    try:
        with running_cluster(directory, request.param, redis=redis) as started:
            yield started
    finally:
        if redis is not None:
            redis.stop()
