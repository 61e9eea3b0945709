"""Servers under test as real processes on 127.0.0.1, and what the OS says they cost (CPU, RSS).

Each server is its own process so its CPU time and peak memory are its own, and so the load generator
never shares an interpreter (or a GIL) with it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import httpx

HOST = "127.0.0.1"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate ``process``; kill it when it has not exited within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/graphql"

    def cpu_seconds(self) -> float | None:
        """User + system CPU time so far (Linux /proc; None elsewhere)."""
        return process_cpu_seconds(self.process.pid)

    def memory_mb(self) -> tuple[float | None, float | None]:
        """(current RSS, peak RSS) in MB (Linux /proc; None elsewhere)."""
        values: dict[str, float] = {}
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        values[key] = int(rest.split()[0]) / 1024
        except OSError:
            return None, None
        return values.get("VmRSS"), values.get("VmHWM")


def wait_ready(server: ServerProcess, probe_path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{server.port}{probe_path}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode} on start")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{server.name} did not answer on {url} within {timeout:.0f} s")


@contextmanager
def running_server(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    probe_path: str = "/readyz",
    timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """``argv`` is run with ``{port}`` filled in; the process is stopped when the block ends."""
    port = free_port()
    full_env = {**os.environ, **(env or {})}
    command = [sys.executable, *(a.replace("{port}", str(port)) for a in argv)]
    process = subprocess.Popen(
        command, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = ServerProcess(name, process, port)
    try:
        wait_ready(server, probe_path, timeout)
        # A long-running server has run its code paths before: one request that needs no upstream
        # data, so "cold" below means cold caches, not a cold interpreter.
        httpx.post(server.url, json={"query": "{ __typename }"}, timeout=timeout)
        yield server
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
        errors = [line for line in stderr.decode(errors="replace").splitlines() if "Error" in line]
        if errors:
            print(f"  [{name}] stderr: {errors[-1]}", file=sys.stderr)


def ours_argv() -> list[str]:
    return ["-m", "graph.server.cli", "serve", "--host", HOST, "--port", "{port}"]


def ours_env(
    upstream_base_url: str, *, loaders: bool, cache: bool, concurrency: int = 8
) -> dict[str, str]:
    """Our server against the sandbox; loaders and the shared cache are the documented settings."""
    return {
        "KICKSERV_CONCURRENCY": str(concurrency),
        "KICKSERV_ACCOUNT": "demo",
        "KICKSERV_API_TOKEN": "demo-token",
        "KICKSERV_BASE_URL": upstream_base_url,
        "GRAPH_ENV": "development",
        "GRAPH_UPSTREAM_EXTENSIONS": "1",
        "GRAPH_LOG_LEVEL": "WARNING",
        "GRAPH_LOADERS": "on" if loaders else "off",
        "GRAPH_CACHE": "on" if cache else "off",
        "GRAPH_WATCH_INTERVAL_S": "0",  # no watcher's polls among the calls a scenario counts
        # No webhook deliverer: it reads the state store's list of webhook tenants every second (one
        # EVALSHA on Redis) however idle, which a load's INFO commandstats would count as requests'.
        "GRAPH_WEBHOOKS": "off",
    }


def running_ours(
    name: str,
    upstream_base_url: str,
    *,
    loaders: bool,
    cache: bool,
    concurrency: int,
    env: Mapping[str, str] | None = None,
) -> AbstractContextManager[ServerProcess]:
    """Our server (``running_server`` with ``ours_argv``) against the sandbox at
    ``upstream_base_url``; ``env`` adds to ``ours_env`` or overrides it.

    Each server gets an embedded store of its own (the default kind, in a new directory) unless
    ``env`` names one: the user's default store would carry what earlier runs and tests left there
    (a 429 rate remembered for the demo credential paced one run's dashboard to 12 rounds)."""
    full_env = {
        **ours_env(upstream_base_url, loaders=loaders, cache=cache, concurrency=concurrency),
        **(env or {}),
    }
    return _with_own_store(name, full_env)


@contextmanager
def _with_own_store(name: str, env: dict[str, str]) -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory(prefix="bench-state-") as directory:
        env.setdefault("GRAPH_STATE_DIR", directory)
        with running_server(name, ours_argv(), env=env) as server:
            yield server


def running_ours_without_response_cache(
    upstream_base_url: str, concurrency: int
) -> AbstractContextManager[ServerProcess]:
    """Our server with loaders and the shared cache but no response cache: the like-for-like peer
    of servers that cache nothing of whole answers."""
    return running_ours(
        "ours-no-response-cache",
        upstream_base_url,
        loaders=True,
        cache=True,
        concurrency=concurrency,
        env={"GRAPH_RESPONSE_CACHE": "off"},
    )


def reference_argv(kind: str, *extra: str) -> list[str]:
    return ["-m", "bench.targets", kind, "--port", "{port}", *extra]
