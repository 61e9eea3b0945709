"""Real processes for the replica suite: a Kickserv sandbox, server replicas, and their stopping.

Everything here is a child process on a free 127.0.0.1 port, started the way an operator starts
it (``kickserv-graph sandbox``, ``kickserv-graph serve``) and stopped whatever the test did:

- ``Sandbox``: ``kickserv-graph sandbox --port P --customers N``, driven over HTTP at run time
  (``/__sandbox/config`` for faults, ``/__sandbox/requests`` for the log) and read through its
  Kickserv API (``list_all``, ``get``) to count what it holds.
- ``Replica``: ``kickserv-graph serve --port Q [--workers N]`` on that sandbox, with its state in a
  directory (``GRAPH_STATE_DIR``) or in Redis (``GRAPH_REDIS_URL``); ``kill()`` (SIGKILL, a crash)
  and ``stop()`` (SIGTERM) end it, ``start()`` brings it back on the same port.
- ``Cluster``: one sandbox and several replicas sharing one state store, started together.

Each process runs in a session of its own, so a signal reaches the whole process group (the
workers of ``serve --workers 2`` die with their supervisor, as on a machine that crashes), and only
the groups started here are ever signalled. Output goes to a log file per process; a process that
dies while starting fails with the tail of its log.

The executables are those of the running interpreter's environment (``.venv/bin``): the code they
run is the checkout's, or whatever ``PYTHONPATH`` puts first (how the "before" figures of issue 10
were taken from an older tree).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.state.conftest import RedisServer, free_port

BIN = Path(sys.executable).parent
KICKSERV_GRAPH = str(BIN / "kickserv-graph")
ACCOUNT = "demo"
TOKEN = "demo-token"
TODAY = "2026-11-21"
STARTUP_TIMEOUT = 60.0  # two shared cores, several processes importing Strawberry at once
WRITES = "P*"  # POST, PUT, PATCH: the sandbox's fault rules match methods by glob


@dataclass
class Process:
    """One child process (and its process group), restartable on its port."""

    name: str
    command: list[str]
    env: dict[str, str]
    directory: Path
    port: int
    health: str  # the path that answers 200 once the process serves
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.directory / f"{self.name}.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, *, wait: bool = True) -> None:
        """Start the process (if it is not running); with ``wait``, until its health path answers."""
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts}: {' '.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: signals reach its workers too
            )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> float:
        """Seconds until the health path answered 200; fails with the log if the process died."""
        started = time.monotonic()
        deadline = started + timeout
        with httpx.Client(timeout=2.0) as client:
            while True:
                assert self.process is not None, f"{self.name} was never started"
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode} while starting:\n"
                        f"{self.log_tail()}"
                    )
                try:
                    if client.get(self.url + self.health).status_code == 200:
                        return time.monotonic() - started
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{self.name} did not answer {self.health} within {timeout:g} s:\n"
                        f"{self.log_tail()}"
                    )
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL the process group: a crash, nothing closed or flushed."""
        self._signal(signal.SIGKILL, wait=10.0)

    def stop(self) -> None:
        """SIGTERM (a graceful stop), SIGKILL after 10 s."""
        if not self._signal(signal.SIGTERM, wait=10.0):
            self.kill()

    def restart(self, *, hard: bool = True) -> float:
        """Kill (or stop) and start again on the same port; seconds until it answered."""
        if hard:
            self.kill()
        else:
            self.stop()
        self.start(wait=False)
        return self.wait_ready()

    def _signal(self, sig: int, wait: float) -> bool:
        """Signal the group; True once the process is gone (reaped)."""
        process = self.process
        if process is None:
            return True
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            return False
        # Workers of a supervisor killed by SIGKILL are in the same group: make sure they are gone.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        self.process = None
        return True

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class Sandbox(Process):
    """``kickserv-graph sandbox`` on its own port: the Kickserv every replica talks to."""

    @classmethod
    def create(cls, directory: Path, *, customers: int = 40, seed: int = 1) -> Sandbox:
        port = free_port()
        command = [
            KICKSERV_GRAPH, "sandbox", "--port", str(port), "--customers", str(customers),
            "--acme-customers", "3", "--seed", str(seed), "--today", TODAY,
        ]  # fmt: skip
        return cls("sandbox", command, dict(os.environ), directory, port, "/__sandbox/config")

    @property
    def api_url(self) -> str:
        return f"{self.url}/{ACCOUNT}/api/v2"

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(TOKEN, TOKEN), timeout=30.0)

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """PUT knobs (``faults=[...]``, ``latency_ms=...``); answers the whole configuration."""
        with self._client() as client:
            response = client.put("/__sandbox/config", json=knobs)
        assert response.status_code == 200, response.text
        config: dict[str, Any] = response.json()
        return config

    def config(self) -> dict[str, Any]:
        with self._client() as client:
            config: dict[str, Any] = client.get("/__sandbox/config").json()
        return config

    def requests(self) -> list[dict[str, Any]]:
        """The sandbox's request log, oldest first."""
        with self._client() as client:
            entries: list[dict[str, Any]] = client.get("/__sandbox/requests").json()["requests"]
        return entries

    def reset_requests(self) -> None:
        with self._client() as client:
            client.delete("/__sandbox/requests")

    def get(self, path: str, **params: Any) -> Any:
        """GET ``/{account}/api/v2/{path}`` (a read: never faulted, see ``WRITES``)."""
        with self._client() as client:
            response = client.get(f"/{ACCOUNT}/api/v2/{path}", params=params)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def list_all(self, path: str, key: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a listing, all pages (either of Kickserv's paginated envelopes)."""
        items: list[dict[str, Any]] = []
        page = 1
        with self._client() as client:
            while True:
                response = client.get(
                    f"/{ACCOUNT}/api/v2/{path}", params={**params, "page": page, "per_page": 100}
                )
                assert response.status_code == 200, (path, response.text[:500])
                body = response.json()
                if isinstance(body, list):
                    return body
                items.extend(body[key])
                pagination = body.get("meta", {}).get("pagination", body)
                if not pagination.get("next_page"):
                    return items
                page += 1


def replica_env(
    sandbox: Sandbox, *, state_dir: Path | None, redis_url: str | None, **extra: str
) -> dict[str, str]:
    """The environment of a replica on ``sandbox``: state in a directory or in Redis."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GRAPH_", "KICKSERV_", "SANDBOX_"))
    }
    env.update(
        KICKSERV_ACCOUNT=ACCOUNT,
        KICKSERV_API_TOKEN=TOKEN,
        KICKSERV_BASE_URL=sandbox.url,
        GRAPH_ENV="development",
        # A write unanswered for this long has an unknown outcome (looked up, never re-sent
        # blindly): short, so the sandbox's "timeout" faults cost little.
        GRAPH_WRITE_TIMEOUT="0.5",
        GRAPH_LOG_LEVEL="WARNING",
        GRAPH_WATCH_INTERVAL_S="0",  # no watcher's polls in the sandbox's log (tests/watch: on)
    )
    if state_dir is not None:
        env["GRAPH_STATE_DIR"] = str(state_dir)
    if redis_url is not None:
        env["GRAPH_REDIS_URL"] = redis_url
    env.update(extra)
    return env


class Replica(Process):
    """``kickserv-graph serve`` on its own port."""

    @classmethod
    def create(
        cls, name: str, directory: Path, env: Mapping[str, str], *, workers: int = 1
    ) -> Replica:
        port = free_port()
        command = [KICKSERV_GRAPH, "serve", "--port", str(port)]
        if workers != 1:
            command += ["--workers", str(workers)]
        return cls(name, command, dict(env), directory, port, "/healthz")

    @property
    def graphql(self) -> str:
        return self.url + "/graphql"


@dataclass
class Cluster:
    """One sandbox and replicas sharing one state store (a directory, or Redis)."""

    backend: str  # "sqlite" or "redis"
    directory: Path
    sandbox: Sandbox
    replicas: list[Replica]
    redis: RedisServer | None = None
    started_in: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)

    def stop(self) -> None:
        for process in [*self.replicas, self.sandbox]:
            process.kill()
        if self.redis is not None:
            self.redis.stop()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.log_tail(15)}" for p in [*self.replicas, self.sandbox])


def start_all(processes: Sequence[Process]) -> dict[str, float]:
    """Start processes together (their imports overlap), then wait for each; seconds to ready."""
    started = time.monotonic()
    for process in processes:
        process.start(wait=False)
    for process in processes:
        process.wait_ready()
    return {p.name: round(time.monotonic() - started, 2) for p in processes}


@contextlib.contextmanager
def running_cluster(
    directory: Path,
    backend: str,
    *,
    redis: RedisServer | None = None,
    names: Sequence[str] = ("A", "B"),
    workers: int = 1,
    customers: int = 40,
    **env: str,
) -> Iterator[Cluster]:
    """A sandbox and ``names`` replicas on one store: ``directory/state`` (``backend="sqlite"``)
    or ``redis`` (``backend="redis"``). Everything is stopped when the block ends."""
    if backend == "redis" and redis is None:
        raise ValueError("a Redis cluster needs its redis-server")
    sandbox = Sandbox.create(directory, customers=customers)
    state_dir = directory / "state" if backend == "sqlite" else None
    redis_url = redis.url if backend == "redis" and redis is not None else None
    cluster = Cluster(backend, directory, sandbox, [], redis)
    try:
        sandbox.start()
        shared = replica_env(sandbox, state_dir=state_dir, redis_url=redis_url, **env)
        cluster.replicas = [
            Replica.create(name, directory, shared, workers=workers) for name in names
        ]
        cluster.started_in = start_all(cluster.replicas)
        yield cluster
    finally:
        for process in [*cluster.replicas, sandbox]:
            process.kill()


# -- GraphQL over HTTP ------------------------------------------------------------------------------


@dataclass
class Answer:
    """What one POST to a replica came back with: a decoded body, or no answer at all."""

    replica: str
    status: int | None = None  # None: no HTTP answer (refused, reset, dropped)
    body: dict[str, Any] | None = None
    failure: str | None = None  # why there was no (JSON) answer
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.body is not None and not self.body.get("errors") and bool(self.body.get("data"))

    @property
    def codes(self) -> set[str]:
        if self.body is None:
            return set()
        return {
            str(e.get("extensions", {}).get("code")) for e in self.body.get("errors") or () if e
        }

    @property
    def data(self) -> dict[str, Any]:
        assert self.ok, self.describe()
        assert self.body is not None
        data: dict[str, Any] = self.body["data"]
        return data

    def describe(self) -> str:
        if self.body is None:
            return f"{self.replica}: no answer ({self.failure})"
        errors = [
            (e.get("extensions", {}).get("code"), e.get("message")) for e in self.body["errors"]
        ] if self.body.get("errors") else None  # fmt: skip
        return f"{self.replica}: HTTP {self.status} " + (
            f"errors {errors}" if errors else str(self.body.get("data"))[:300]
        )


def new_client(*, keep_alive: bool = True, timeout: float = 90.0) -> httpx.AsyncClient:
    """An HTTP client for the replicas; without keep-alive every request opens a new connection
    (so the kernel spreads them over the workers of one ``serve --workers N``)."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20 if keep_alive else 0)
    headers = {"accept": "application/json"}
    if not keep_alive:
        headers["connection"] = "close"
    return httpx.AsyncClient(timeout=timeout, limits=limits, headers=headers)


async def post(
    client: httpx.AsyncClient,
    replica: Replica,
    query: str | None,
    variables: Mapping[str, Any] | None = None,
    *,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    payload: dict[str, Any] = {"variables": dict(variables or {})}
    if query is not None:
        payload["query"] = query
    if extensions is not None:
        payload["extensions"] = dict(extensions)
    started = time.monotonic()
    try:
        response = await client.post(replica.graphql, json=payload, headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        return Answer(replica.name, failure=f"{type(exc).__name__}: {exc}"[:200])
    seconds = time.monotonic() - started
    try:
        body = response.json()
    except ValueError:
        return Answer(replica.name, response.status_code, None, response.text[:200], seconds)
    if not isinstance(body, dict):
        return Answer(replica.name, response.status_code, None, f"not an object: {body!r}"[:200])
    return Answer(replica.name, response.status_code, body, None, seconds)


async def get_persisted(client: httpx.AsyncClient, replica: Replica, sha256: str) -> Answer:
    """An APQ GET with the hash only (``extensions`` in the query string)."""
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": sha256}})
    try:
        response = await client.get(replica.graphql, params={"extensions": extensions})
    except httpx.HTTPError as exc:
        return Answer(replica.name, failure=f"{type(exc).__name__}: {exc}"[:200])
    try:
        body = response.json()
    except ValueError:
        return Answer(replica.name, response.status_code, None, response.text[:200])
    return Answer(replica.name, response.status_code, body)


def persisted(query: str) -> dict[str, Any]:
    """The APQ extension naming ``query`` by its hash."""
    sha = hashlib.sha256(query.encode()).hexdigest()
    return {"persistedQuery": {"version": 1, "sha256Hash": sha}}


def fault(when: str, action: str, probability: float, **more: Any) -> dict[str, Any]:
    """A sandbox fault rule on the account's writes (see ``sandbox.knobs.FaultRule``)."""
    return {
        "method": WRITES,
        "path": f"/{ACCOUNT}/api/v2/*",
        "when": when,
        "action": action,
        "probability": probability,
        **more,
    }
