"""Real Apollo federation tools, driven from pytest.

Our subgraph is only proven federation-ready when Apollo's own composer accepts its SDL beside
another subgraph and Apollo's own gateway plans a query through our `_entities`. This module runs
those tools (the npm packages in this folder) as child processes:

- `compose(subgraphs)` runs `compose.mjs` and returns the supergraph SDL, or raises
  `CompositionError` carrying the composer's messages and codes.
- `running_second_subgraph(invoice_ids, customer_ids)` and `running_gateway(supergraph_sdl)` start
  `second_subgraph.mjs` / `gateway.mjs` on a free 127.0.0.1 port (the child binds port 0 and
  reports the port it got, so there is no race) and yield its URL. The child is stopped on exit,
  whatever happened in the block; it also exits by itself if this process dies (it watches its
  stdin for EOF).
- `serving_asgi(app)` serves an ASGI app (a Python subgraph) with uvicorn in a thread, so the
  gateway can reach it over real HTTP.
- `require_federation_tools()` skips a test when Node or node_modules are missing, or fails it on
  CI (env `CI` set), where their absence is a broken setup rather than a developer's laptop.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import uvicorn

FEDERATION_DIR = Path(__file__).resolve().parent
NODE_PACKAGES = (
    "@apollo/composition",
    "@apollo/gateway",
    "@apollo/server",
    "@apollo/subgraph",
    "graphql",
)
SECOND_SUBGRAPH_NAME = "collections"
SECOND_SUBGRAPH_SDL = (FEDERATION_DIR / "second_subgraph.graphql").read_text()
# Generous: a cold `node` start with the gateway's imports takes about a second; this only bounds
# how long a broken child can hang a test run, it is not a performance assertion.
STARTUP_TIMEOUT_SECONDS = 30.0
LOYALTY_TIERS = ("bronze", "silver", "gold")


def node_executable() -> str | None:
    return shutil.which("node")


def node_available() -> bool:
    """True when `node` is on PATH and `npm ci` has installed our packages here."""
    if node_executable() is None:
        return False
    modules = FEDERATION_DIR / "node_modules"
    return all((modules / package / "package.json").is_file() for package in NODE_PACKAGES)


def require_federation_tools() -> None:
    """Skip the calling test without Node tools; on CI, fail it instead (nothing may skip there)."""
    if node_available():
        return
    reason = (
        "Node or tests/federation/node_modules is missing: install Node 20+ and run "
        "`npm ci` in tests/federation (scripts/test does both)."
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class CompositionIssue:
    message: str
    code: str | None


class CompositionError(Exception):
    """Apollo's composer rejected the subgraphs; `issues` holds its messages and codes."""

    def __init__(self, issues: list[CompositionIssue]) -> None:
        self.issues = issues
        lines = "\n".join(f"  [{issue.code}] {issue.message}" for issue in issues)
        super().__init__(f"Composition failed with {len(issues)} error(s):\n{lines}")

    @property
    def codes(self) -> list[str | None]:
        return [issue.code for issue in self.issues]


def compose(subgraphs: Sequence[tuple[str, str, str]]) -> str:
    """Compose `(name, url, sdl)` subgraphs with @apollo/composition; return the supergraph SDL."""
    payload = [{"name": name, "url": url, "sdl": sdl} for name, url, sdl in subgraphs]
    completed = subprocess.run(
        [_node(), str(FEDERATION_DIR / "compose.mjs"), "-"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=FEDERATION_DIR,
        timeout=STARTUP_TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode == 0:
        return completed.stdout
    if completed.returncode == 1:
        try:
            errors = json.loads(completed.stderr)["errors"]
        except (ValueError, KeyError):
            pass
        else:
            raise CompositionError(
                [CompositionIssue(message=e["message"], code=e.get("code")) for e in errors]
            )
    raise RuntimeError(
        f"compose.mjs exited with {completed.returncode}; stderr:\n{completed.stderr}"
    )


def second_subgraph_risk_score(invoice_id: str) -> int:
    """`Invoice.riskScore` as second_subgraph.mjs computes it (for ASCII ids)."""
    return sum(map(ord, invoice_id)) % 100


def second_subgraph_collection_notes(invoice_id: str) -> list[str]:
    return [f"Call about invoice {invoice_id}"]


def second_subgraph_loyalty_tier(customer_id: str) -> str:
    """`Customer.loyaltyTier` as second_subgraph.mjs computes it (for ASCII ids)."""
    return LOYALTY_TIERS[sum(map(ord, customer_id)) % len(LOYALTY_TIERS)]


@contextmanager
def running_second_subgraph(
    invoice_ids: Sequence[str | int], customer_ids: Sequence[str | int] = ()
) -> Iterator[str]:
    """Run second_subgraph.mjs, whose root fields return these ids; yield its URL."""
    with _running_node(
        "second_subgraph.mjs",
        "--invoice-ids",
        json.dumps([str(i) for i in invoice_ids]),
        "--customer-ids",
        json.dumps([str(i) for i in customer_ids]),
    ) as url:
        yield url


@contextmanager
def running_gateway(supergraph_sdl: str) -> Iterator[str]:
    """Run an Apollo Gateway over this static supergraph; yield its URL (POST GraphQL to it)."""
    with tempfile.TemporaryDirectory(prefix="supergraph-") as directory:
        path = Path(directory) / "supergraph.graphql"
        path.write_text(supergraph_sdl)
        with _running_node("gateway.mjs", "--supergraph", str(path)) as url:
            yield url


def subgraph_sdl(url: str) -> str:
    """The SDL a subgraph serves at `{ _service { sdl } }`: what Rover and routers compose."""
    response = httpx.post(url, json={"query": "{ _service { sdl } }"}, timeout=10.0)
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"_service query failed at {url}: {body['errors']}")
    sdl: str = body["data"]["_service"]["sdl"]
    return sdl


def post_graphql(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a GraphQL request (as a gateway client would) and return the decoded body."""
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=30.0)
    result: dict[str, Any] = response.json()
    return result


@contextmanager
def serving_asgi(app: Any, path: str = "/graphql") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a thread; yield `http://…{path}`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait_for(lambda: server.started or not thread.is_alive(), what="uvicorn")
        if not server.started:
            raise RuntimeError("uvicorn stopped before it started serving")
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        sock.close()


def _node() -> str:
    node = node_executable()
    if node is None:
        raise RuntimeError("`node` is not on PATH; the federation harness needs Node 20+")
    return node


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not start within {STARTUP_TIMEOUT_SECONDS} s")
        time.sleep(0.01)


@contextmanager
def _running_node(script: str, *args: str) -> Iterator[str]:
    """Start a node server script on port 0, wait for its READY line, yield the URL, stop it."""
    process = subprocess.Popen(
        [_node(), str(FEDERATION_DIR / script), "--port", "0", "--exit-on-stdin-eof", *args],
        cwd=FEDERATION_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    stderr_lines: list[str | None] = []
    readers = [
        threading.Thread(target=_pump, args=(process.stdout, lines.put), daemon=True),
        threading.Thread(target=_pump, args=(process.stderr, stderr_lines.append), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        yield _await_ready(script, process, lines, stderr_lines)
    finally:
        _stop(process)
        for reader in readers:
            reader.join(timeout=5)


def _pump(stream: IO[str], sink: Callable[[str | None], None]) -> None:
    """Drain a child's pipe line by line (so a chatty child never blocks); None marks its end."""
    with stream:
        for line in stream:
            sink(line)
    sink(None)


def _text(lines: list[str | None]) -> str:
    return "".join(line for line in lines if line is not None)


def _await_ready(
    script: str,
    process: subprocess.Popen[str],
    lines: queue.Queue[str | None],
    stderr_lines: list[str | None],
) -> str:
    while True:
        try:
            line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS)
        except queue.Empty:
            raise TimeoutError(
                f"{script} printed no READY line within {STARTUP_TIMEOUT_SECONDS} s; "
                f"stderr:\n{_text(stderr_lines)}"
            ) from None
        if line is None:
            process.wait(timeout=5)
            raise RuntimeError(
                f"{script} exited with {process.returncode} before it was ready; "
                f"stderr:\n{_text(stderr_lines)}"
            )
        if line.startswith("READY "):
            return line.removeprefix("READY ").strip()


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdin is not None:
        process.stdin.close()
