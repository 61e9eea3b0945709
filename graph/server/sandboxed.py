"""The embedded Kickserv: with no credentials the server's upstream is the sandbox, in process.

The one module of the server that imports ``sandbox`` (``tests/test_architecture.py`` holds it to
that): the lifespan enters ``embedded_sandbox`` and points the one HTTP client at it through
``httpx.ASGITransport``: no port, no second process, the same HTTP semantics as a remote Kickserv.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from graph.server.settings import Settings
from sandbox.app import SandboxConfig
from sandbox.app import create_app as create_sandbox_app
from sandbox.choices import strict_from_env

BASE_URL = "http://sandbox.local"
ACCOUNT = "demo"
TOKEN = "demo-token"


@asynccontextmanager
async def embedded_sandbox(settings: Settings) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """A transport to the sandbox seeded as the SANDBOX_* settings say, running while entered."""
    sandbox = create_sandbox_app(
        SandboxConfig(
            customers=settings.sandbox_customers,
            seed=settings.sandbox_seed,
            latency_ms=settings.sandbox_latency_ms,
            today=settings.sandbox_today,
            # Off, the environment still decides (SANDBOX_REFERENCE_STRICT): a test's own Settings()
            # then runs the sandbox of the suite's mode.
            reference_strict=settings.sandbox_reference_strict or strict_from_env(),
        )
    )
    async with sandbox.router.lifespan_context(sandbox):
        yield httpx.ASGITransport(app=sandbox)
