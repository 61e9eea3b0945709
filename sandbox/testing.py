"""Run a sandbox on a free 127.0.0.1 port for tests and benchmarks.

    with running_sandbox(SandboxConfig(customers=20, today=date(2026, 11, 21))) as sandbox:
        httpx.get(sandbox.api_url("demo") + "/customers.json", auth=("demo-token", "demo-token"))
        assert sandbox.requests()[-1]["path"] == "/demo/api/v2/customers.json"

The server runs in a background thread with its own event loop, so it works from sync and async
tests alike, and stops (and releases its port) when the block ends.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import uvicorn
from starlette.applications import Starlette

from sandbox.app import create_app, sandbox_state
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore
from sandbox.state import SandboxState


class RunningSandbox:
    def __init__(self, app: Starlette, base_url: str) -> None:
        self.app = app
        self.base_url = base_url  # e.g. "http://127.0.0.1:54321"
        self.state: SandboxState = sandbox_state(app)

    def api_url(self, account: str = "demo") -> str:
        return f"{self.base_url}/{account}/api/v2"

    def store(self, account: str = "demo") -> AccountStore:
        """The live records of an account (read them; write through the API)."""
        return self.state.store(account)

    def requests(self) -> list[dict[str, Any]]:
        """The request log, oldest first (the same entries as GET /__sandbox/requests)."""
        return [asdict(entry) for entry in self.state.log.entries()]

    def request_count(self) -> int:
        return self.state.log.count

    def reset_requests(self) -> None:
        self.state.log.reset()


@contextmanager
def running_sandbox(config: SandboxConfig | None = None) -> Iterator[RunningSandbox]:
    app = create_app(config or SandboxConfig())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, loop="asyncio", lifespan="off", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server stopped while starting; see its log")
            threading.Event().wait(0.01)
        yield RunningSandbox(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
