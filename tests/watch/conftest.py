"""Fixtures of the watcher suite: a sandbox changed straight through its own REST API (as someone
working in Kickserv would, not through the graph), and the state store backends of tests/state."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import httpx
import pytest

from resolvers.events import ChangeEvent
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


def outside_changes(ks: Kickserv) -> dict[str, Any]:
    """One change of each kind, made on the sandbox directly; what each touched."""
    ks.call("POST", "customers.json", {"customer": {"first_name": "Ada", "last_name": "Watch"}})
    renamed = ks.first("customers.json", "customers")["customer_number"]
    ks.call("PUT", f"customers/{renamed}.json", {"customer": {"name": "Renamed Co"}})
    jobs = ks.call("GET", "jobs.json", per_page=100)["jobs"]
    started = next(j for j in jobs if j["status"] == "scheduled")["job_number"]
    ks.call("PUT", f"jobs/{started}.json", {"job": {"status": "in_progress"}})
    won = ks.first("opportunities.json", "opportunities", status="new")["job_number"]
    ks.call("PUT", f"opportunities/{won}/mark_as_won.json")
    invoice = ks.first("invoices.json", "invoices", invoice_status="unpaid")
    payment = ks.call(
        "POST",
        f"jobs/{invoice['job_number']}/payments.json",
        {"payment": {"amount": invoice["balance_remaining"]}},
    )
    return {
        "renamed": renamed,
        "started": started,
        "won": won,
        "paid": invoice["job_number"],
        "payment": payment["id"],
    }


def kinds(events: Sequence[ChangeEvent]) -> list[tuple[str, Any]]:
    key = {
        "customer": "customerNumber",
        "job": "jobNumber",
        "opportunity": "jobNumber",
        "invoice": "jobNumber",
        "payment": "paymentId",
        "task": "taskId",
    }
    return sorted((e.type.value, e.subject[key[e.type.value.split(".")[0]]]) for e in events)


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(
        SandboxConfig(customers=40, acme_customers=3, today=date(2026, 11, 21))
    ) as running:
        yield running


@pytest.fixture
def kickserv(sandbox: RunningSandbox) -> Kickserv:
    return Kickserv(sandbox.base_url)
