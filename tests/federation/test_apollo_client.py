"""Apollo Client, as a partner runs it, against our server with a persisted-only API key.

The partner's operations (partner_operations/*.graphql: fragments, nested fragments, variables, an
input object, a directive, an inline fragment, aliases) go through a manifest built by
`kickserv-graph persisted build`; Apollo Client 4 with its persisted-queries link (apollo_client.mjs)
runs them over real HTTP. The server is wrapped in a recorder of every request body it receives,
so "the query text never reached the server" is counted, not assumed. Apollo's own manifest
generator (apollo_manifest.mjs) must write the same manifest as `persisted build`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from graph.server.assembly import build_app
from graph.server.settings import Settings
from tests.federation import harness
from tests.graph.conftest import uvicorn_in_thread

pytestmark = pytest.mark.federation

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = harness.FEDERATION_DIR / "partner_operations"
PARTNER_KEY = "partner-key-apollo-client-0123"
APOLLO_PACKAGES = (
    "@apollo/client",
    "@apollo/persisted-query-lists",
    "@apollo/generate-persisted-query-manifest",
)
# The sandbox numbers its customers from 1; the other operations take their defaults.
RUNS = {
    "customer_card.graphql": {"number": 1, "jobs": 2},
    "scheduled_jobs.graphql": {"first": 3},
    "dispatch_board.graphql": {},
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Scope]]
Send = Callable[[Scope], Awaitable[None]]


def require_apollo_client() -> None:
    harness.require_federation_tools()
    modules = harness.FEDERATION_DIR / "node_modules"
    if all((modules / p / "package.json").is_file() for p in APOLLO_PACKAGES):
        return
    reason = "Apollo Client is not installed: run `npm ci` in tests/federation (scripts/test does)."
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Recorder:
    """An ASGI wrapper keeping (JSON body, status) of every POST to /graphql."""

    app: Any
    requests: list[tuple[dict[str, Any], int]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        status = 0

        async def recording_receive() -> Scope:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def recording_send(message: Scope) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, recording_receive, recording_send)
        self.requests.append((json.loads(b"".join(chunks)), status))

    def texts_received(self) -> int:
        return sum("query" in body for body, _ in self.requests)


@pytest.fixture(autouse=True)
def apollo_tools() -> None:
    require_apollo_client()


@pytest.fixture(scope="module")
def manifest_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("manifest") / "manifest.json"
    build = ["persisted", "build", str(OPERATIONS), "-o", str(path)]
    subprocess.run([sys.executable, "-m", "graph.server.cli", *build], cwd=ROOT, check=True)
    return path


@contextmanager
def partner_server(manifest_path: Path, tmp_path: Path) -> Iterator[tuple[str, Recorder]]:
    keys = tmp_path / "keys.toml"
    keys.write_text(
        "[[keys]]\n"
        'name = "partner"\n'
        f'key_sha256 = "{hashlib.sha256(PARTNER_KEY.encode()).hexdigest()}"\n'
        'policy = "persisted-only"\n'
    )
    settings = Settings(
        sandbox_customers=20, persisted_manifests=(str(manifest_path),), api_keys_file=str(keys)
    )
    recorder = Recorder(build_app(settings))
    with uvicorn_in_thread(recorder) as base_url:
        yield f"{base_url}/graphql", recorder


def node(script: str, *args: str, stdin: str = "") -> str:
    """Run a script of this folder with Node; its stdout (a failure shows its stderr)."""
    executable = harness.node_executable()
    assert executable is not None
    completed = subprocess.run(
        [executable, script, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=harness.FEDERATION_DIR,
        timeout=harness.STARTUP_TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def apollo_client(url: str, files: list[str], ids: str = "link") -> list[dict[str, Any]]:
    request = {
        "url": url,
        "headers": {"x-api-key": PARTNER_KEY},
        "ids": ids,
        "runs": [{"file": str(OPERATIONS / f), "variables": RUNS[f]} for f in files],
    }
    results: list[dict[str, Any]] = json.loads(node("apollo_client.mjs", stdin=json.dumps(request)))
    return results


def test_apollo_client_runs_the_partner_operations_by_id_alone(
    manifest_path: Path, tmp_path: Path
) -> None:
    with partner_server(manifest_path, tmp_path) as (url, recorder):
        card, scheduled = apollo_client(url, ["customer_card.graphql", "scheduled_jobs.graphql"])

    assert card["error"] is None and scheduled["error"] is None
    customer = card["data"]["customer"]
    assert customer["number"] == 1 and customer["__typename"] == "Customer"
    assert customer["latest"]["nodes"] and "tasks" in customer["latest"]["nodes"][0]
    assert scheduled["data"]["jobs"]["nodes"]
    assert {job["state"] for job in scheduled["data"]["jobs"]["nodes"]} == {"scheduled"}
    assert [status for _, status in recorder.requests] == [200, 200]
    assert recorder.texts_received() == 0


def test_definitions_sorted_at_runtime_match_the_manifest_of_a_fragment_first_file(
    manifest_path: Path, tmp_path: Path
) -> None:
    with partner_server(manifest_path, tmp_path) as (url, recorder):
        (board,) = apollo_client(url, ["dispatch_board.graphql"], ids="sorted")

    assert board["error"] is None and board["data"]["customers"]["nodes"]
    assert [status for _, status in recorder.requests] == [200]
    assert recorder.texts_received() == 0


def test_the_plain_link_sends_a_fragment_first_file_once_then_its_id_alone(
    manifest_path: Path, tmp_path: Path
) -> None:
    with partner_server(manifest_path, tmp_path) as (url, recorder):
        first, again = apollo_client(url, ["dispatch_board.graphql", "dispatch_board.graphql"])

    assert first["error"] is None and again["data"] == first["data"]
    assert [("query" in body, status) for body, status in recorder.requests] == [
        (False, 404),  # an id the manifest does not list (its text orders the fragment first)
        (True, 200),  # the text: the same operation as a manifest one, so it runs ...
        (False, 200),  # ... and its id names it from then on
    ]


def test_apollos_manifest_generator_writes_the_same_manifest(manifest_path: Path) -> None:
    apollos = json.loads(node("apollo_manifest.mjs", str(OPERATIONS)))

    assert apollos == json.loads(manifest_path.read_text())
