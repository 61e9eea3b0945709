"""Fixtures of the watcher suite: a sandbox changed straight through its own REST API (as someone
working in Kickserv would, not through the graph), and the state store backends of tests/state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.state.conftest import (  # noqa: F401  (fixtures)
    backend,
    redis_binary,
    redis_server,
)

ACCOUNT = "demo"
TOKEN = "demo-token"


class Kickserv:
    """Writes made directly on the sandbox's Kickserv API (the graph never sees them)."""

    def __init__(self, base_url: str, account: str = ACCOUNT, token: str = TOKEN) -> None:
        self.api = f"{base_url}/{account}/api/v2"
        self.auth = (token, token)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        with httpx.Client(auth=self.auth, timeout=30.0) as client:
            response = client.request(method, f"{self.api}/{path}", json=body, params=params)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()

    def first(self, path: str, key: str, **params: Any) -> dict[str, Any]:
        items: list[dict[str, Any]] = self.call("GET", path, **params)[key]
        assert items, f"{path} {params} listed nothing"
        return items[0]


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(
        SandboxConfig(customers=40, acme_customers=3, today=date(2026, 11, 21))
    ) as running:
        yield running


@pytest.fixture
def kickserv(sandbox: RunningSandbox) -> Kickserv:
    return Kickserv(sandbox.base_url)
