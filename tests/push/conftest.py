"""Servers for the push tests: the real app under uvicorn in the test's own event loop (so a test
can append to the server's event log directly), keys for two tenants, and events to append."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from graph.server.assembly import Server, build_app, server_of
from graph.server.sandboxed import ACCOUNT, TOKEN
from graph.server.settings import Settings
from resolvers.events import ChangeEvent, EventType, event_id

ALPHA_KEY = "alpha-key-0123456789abcdef"
BETA_KEY = "beta-key-0123456789abcdef"
LOCKED_KEY = "locked-key-0123456789abcdef"
BETA_TOKEN = "beta-token"  # another credential of the sandbox account: another tenant

JOB_DONE = (
    "subscription JobDone($after: String) "
    "{ jobChanged(status: COMPLETE, after: $after) { id cursor type jobNumber status } }"
)


@dataclass
class Served:
    app: Starlette
    url: str

    @property
    def server(self) -> Server:
        return server_of(self.app)

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/graphql"

    def tenant(self, token: str = TOKEN) -> str:
        """The event-log tenant of the sandbox account seen through ``token``."""
        registry = self.server.registry
        assert registry is not None, "make a request first: the registry is built by the first"
        return registry.get(ACCOUNT, token).key

    async def append(self, tenant: str, *events: ChangeEvent) -> list[ChangeEvent]:
        return await self.server.events.append(tenant, events)


@asynccontextmanager
async def uvicorn_here(app: Any) -> AsyncIterator[str]:
    """``app`` on a free 127.0.0.1 port, in this event loop, until the block ends; its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[Served]:
    """The whole server for ``settings``, its tenant registry built by a first request."""
    app = build_app(settings)
    async with uvicorn_here(app) as url:
        served = Served(app, url)
        async with httpx.AsyncClient(base_url=served.url) as http:
            response = await http.post(
                "/graphql", json={"query": "{ __typename }"}, headers={"x-api-key": ALPHA_KEY}
            )
            assert response.status_code == 200, response.text
        yield served


def manifest_with(path: Path, *bodies: tuple[str, str]) -> Path:
    """An Apollo persisted-query manifest of (name, body) subscriptions."""
    operations = [
        {"id": sha256(body), "name": name, "type": "subscription", "body": body}
        for name, body in bodies
    ]
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.toml"
    path.write_text(
        f"""
[[keys]]
name = "alpha"
key = "{ALPHA_KEY}"

[[keys]]
name = "beta"
key = "{BETA_KEY}"
account = "{ACCOUNT}"
token = "{BETA_TOKEN}"

[[keys]]
name = "locked"
key = "{LOCKED_KEY}"
policy = "persisted-only"
"""
    )
    return path


@pytest.fixture
def settings(keys_file: Path, tmp_path: Path) -> Settings:
    return Settings(
        sandbox_customers=20,
        api_keys_file=str(keys_file),
        persisted_manifests=(
            str(manifest_with(tmp_path / "manifest.json", ("JobDone", JOB_DONE))),
        ),
        metrics_enabled=False,
        webhook_allow_private=True,
        webhook_retry=(0.2, 0.2, 0.2, 0.2, 0.2),
        webhook_timeout=5.0,
    )


def change(
    tenant: str,
    type_: EventType,
    subject: dict[str, Any],
    data: dict[str, Any] | None = None,
    version: str = "1",
    occurred_at: str = "2026-12-03T07:00:00+00:00",
) -> ChangeEvent:
    return ChangeEvent(
        id=event_id(tenant, type_, subject, version),
        tenant=tenant,
        type=type_,
        occurred_at=occurred_at,
        subject=subject,
        data=data or {},
    )


def status_change(tenant: str, job: int, before: str, after: str) -> ChangeEvent:
    return change(
        tenant,
        EventType.JOB_STATUS_CHANGED,
        {"customerNumber": 1, "jobNumber": job},
        {"status": {"from": before, "to": after}},
        version=f"{before}->{after}",
    )


def ids(events: Sequence[ChangeEvent]) -> list[str]:
    return [e.id for e in events]


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
