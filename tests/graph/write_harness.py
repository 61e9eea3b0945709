"""The server over a real sandbox port, for the mutation tests: ``async with graph_over_sandbox()``.

Writes use a short timeout and no settle delay so fault tests stay fast; the sandbox runs without
latency. ``harness.gql(query, variables)`` answers the decoded JSON body. With ``webhooks=True`` a
webhook receiver runs beside it on 127.0.0.1 (``harness.webhook_url``), and the server may send to
it (``GRAPH_WEBHOOK_ALLOW_PRIVATE``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from graph.server.assembly import build_app
from graph.server.settings import Settings
from resolvers.writes.steps import WritePolicy
from sandbox import ledger
from sandbox.choices import STRICT
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore, Payment
from sandbox.testing import RunningSandbox, running_sandbox
from tests.push.receiver import receiving

TODAY = date(2026, 11, 21)
FAST_WRITES = WritePolicy(write_timeout=0.5, attempts=3, max_rate_wait=0.05, settle=0.0)


@dataclass
class Harness:
    sandbox: RunningSandbox
    app: Any
    http: httpx.AsyncClient
    webhook_url: str = ""  # the receiver's, with ``graph_over_sandbox(webhooks=True)``

    @property
    def store(self) -> AccountStore:
        return self.sandbox.store("demo")

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"accept": "application/json", **(headers or {})},
        )
        body: dict[str, Any] = response.json()
        return body

    @property
    def strict(self) -> bool:
        """The sandbox runs in its strict reference personality (SANDBOX_REFERENCE_STRICT)."""
        return self.store.choices is STRICT

    def seed_payment(self, job_number: int, amount: str) -> int:
        """A payment made in Kickserv by other means (its web UI): how a test arranges a paid job
        where POST /jobs/{n}/payments.json is missing (the strict sandbox). Call it before the
        graph reads the job's money (before invoicing it); answers the payment's id."""
        store = self.store
        job = store.jobs_by_number[job_number]
        now = self.sandbox.state.clock.now(store.tz)
        payment = Payment(
            store.new_id(), job.id, job.customer_id, now.date(), "Check", Decimal(amount), None,
            None, now, next(iter(store.employees)),
        )  # fmt: skip
        store.payments[payment.id] = payment
        job.payment_ids.append(payment.id)
        ledger.recompute_job(store, job, now.date())
        return payment.id

    def writes(self) -> list[dict[str, Any]]:
        """The sandbox's logged writes since the last reset."""
        return [r for r in self.sandbox.requests() if r["method"] != "GET"]


@asynccontextmanager
async def graph_over_sandbox(
    policy: WritePolicy = FAST_WRITES, *, webhooks: bool = False, **config: Any
) -> AsyncIterator[Harness]:
    settings = {"customers": 30, "acme_customers": 5, "seed": 3, "today": TODAY, **config}
    with running_sandbox(SandboxConfig(**settings)) as sandbox:
        async with AsyncExitStack() as stack:
            webhook_url = (await stack.enter_async_context(receiving())).url if webhooks else ""
            app = build_app(
                Settings(
                    kickserv_account="demo",
                    kickserv_api_token="demo-token",
                    kickserv_base_url=sandbox.base_url,
                    webhook_allow_private=webhooks,
                ),
                write_policy=policy,
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://t")
            )
            yield Harness(sandbox, app, http, webhook_url)


def data_of(body: dict[str, Any]) -> dict[str, Any]:
    """The data of an answer that must have no errors (the errors are shown when it has)."""
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def error_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    return error


def unsupported(body: dict[str, Any], route: str) -> None:
    """The answer of a write to a URL the reference does not confirm, against a Kickserv without
    it (the strict sandbox): UPSTREAM_UNSUPPORTED naming the route."""
    error = error_of(body)
    assert error["extensions"] == {"code": "UPSTREAM_UNSUPPORTED", "route": route}, error
