"""Fixtures: a small seeded sandbox driven in-process through httpx.ASGITransport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sandbox.app import SandboxConfig, create_app, sandbox_state
from sandbox.data import AccountStore

TODAY = date(2026, 11, 21)  # a Saturday
DEMO = ("demo-token", "demo-token")


def small_config(**changes: Any) -> SandboxConfig:
    settings: dict[str, Any] = {
        "customers": 40, "acme_customers": 12, "today": TODAY, "reference_strict": False,
    }  # fmt: skip
    return SandboxConfig(**{**settings, **changes})


@pytest.fixture
def app() -> Starlette:
    return create_app(small_config())


@pytest.fixture
def store(app: Starlette) -> AccountStore:
    return sandbox_state(app).store("demo")


def api_client(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client of the app's account demo API, as its owner (enter it with `async with`)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox/demo/api/v2", auth=DEMO
    )


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app) as http:
        yield http


async def every_page(client: httpx.AsyncClient, path: str, key: str, **params: Any) -> list[Any]:
    """All entries of a will_paginate list, page after page."""
    entries: list[Any] = []
    page: int | None = 1
    while page is not None:
        body = (await client.get(path, params={**params, "page": page, "per_page": 100})).json()
        entries.extend(body[key])
        page = body["next_page"]
    return entries
