from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import uvicorn

from sandbox.choices import strict_from_env

# Settings for tests that count upstream calls exactly: no watcher polling Kickserv meanwhile.
QUIET: dict[str, Any] = {"watch_interval": 0.0}


@contextmanager
def uvicorn_in_thread(app: Any, http: Any = "httptools") -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port (lifespan included); yields its base URL. ``http``:
    uvicorn's protocol (``serve``'s is graph.server.protocol.GuardedHttpToolsProtocol)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, loop="uvloop", http=http, lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn stopped before it started; see the log above")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def live_server() -> Callable[[Any], AbstractContextManager[str]]:
    """``with live_server(app) as base_url:`` runs a real uvicorn for the length of the block."""
    return uvicorn_in_thread


def pytest_report_header() -> str:
    """Which sandbox the graph suites run against (scripts/test runs them in both)."""
    mode = "strict reference" if strict_from_env() else "lenient (default)"
    return f"sandbox: {mode} mode (SANDBOX_REFERENCE_STRICT)"
