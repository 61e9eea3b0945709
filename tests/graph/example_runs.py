"""Run GraphQL against the real server over a running sandbox and measure what it cost upstream.

Shared by tests/graph (exact call and round counts) and scripts/example_costs.py (the README's table
and tour), so the numbers in the README are measured the way the tests check them.

Rounds are read from the sandbox's request log, not from our client: a request starts a new round
when it arrives after a request of the current round has finished. For that to mean "dependent
rounds" the sandbox must add latency well above the time our server needs to send one wave.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx

from graph.schema.query import build_schema
from graph.server.app import create_app, upstream_of
from graph.server.assembly import build_app
from graph.server.settings import Settings
from graph.server.tenancy import (
    TenantRegistry,
    make_cache,
    make_context_factory,
    make_response_cache,
    upstream_extension,
)
from sandbox.data import AccountStore
from sandbox.testing import RunningSandbox

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
# The sandbox of the examples: README's table and tour, tests/graph/test_examples.py, and the
# quickstart's `serve` (serve_command). Seed 4: child customers on and off the dashboard's page 1.
TODAY = date(2026, 11, 21)
SANDBOX: dict[str, Any] = {"customers": 60, "seed": 4, "today": TODAY}
# Sandbox latency for counting rounds: well above the time the server needs to send one level's
# requests (a wave of ~50 costs ~100 ms of client CPU, more on a busy machine).
ROUND_LATENCY_MS = 400.0
TOKEN_HEADER = "x-kickserv-token"  # test servers only: which demo credential a request uses


def serve_command(sandbox: Mapping[str, Any] = SANDBOX) -> str:
    """The `kickserv-graph serve` command whose built-in sandbox is this one."""
    return (
        f"kickserv-graph serve --customers {sandbox['customers']} --seed {sandbox['seed']} "
        f"--today {sandbox['today'].isoformat()}"
    )


def example(name: str) -> str:
    return (EXAMPLES / f"{name}.graphql").read_text()


def example_variables(store: AccountStore, today: date) -> dict[str, dict[str, Any]]:
    """Variables for each example, chosen from the sandbox's records so each one has data."""
    monday = date.fromordinal(today.toordinal() - today.weekday())

    def richness(c: Any) -> tuple[int, int]:
        jobs = [store.jobs[j] for j in c.job_ids]
        return (sum(len(j.payment_ids) for j in jobs), len(jobs))

    customer = max(store.customers_by_number.values(), key=richness)
    return {
        "dashboard": {},
        "dispatch_week": {
            "from": monday.isoformat(),
            "to": date.fromordinal(monday.toordinal() + 7).isoformat(),
        },
        "customer_history": {"number": customer.number},
        "accounts_receivable": {},
    }


def rounds_of(entries: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The request paths of each dependent round of a sandbox request log (see the docstring)."""
    spans = sorted(
        (stamp, stamp + float(e["duration_ms"]), str(e["path"]))
        for e in entries
        for stamp in [datetime.fromisoformat(str(e["time"])).timestamp() * 1000.0]
    )
    rounds: list[list[str]] = []
    round_ends = float("-inf")
    for arrived, finished, path in spans:
        if arrived >= round_ends:
            rounds.append([])
            round_ends = finished
        else:
            round_ends = min(round_ends, finished)
        rounds[-1].append(path.split("/api/v2", 1)[-1])
    return rounds


def count_rounds(entries: Sequence[Mapping[str, Any]]) -> int:
    return len(rounds_of(entries))


@dataclass
class Run:
    status: int
    body: dict[str, Any]
    log: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data(self) -> Any:
        return self.body.get("data")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def calls(self) -> int:
        return len(self.log)

    @property
    def rounds(self) -> int:
        return count_rounds(self.log)

    @property
    def upstream(self) -> dict[str, Any]:
        return dict((self.body.get("extensions") or {}).get("upstream") or {})

    def round_summary(self) -> list[str]:
        """One line per round, for assertion messages: how many requests, and the first."""
        return [f"{len(r)} x {r[0]}" for r in rounds_of(self.log)]

    def paths(self) -> list[str]:
        return [str(e["path"]).split("/api/v2", 1)[-1] for e in self.log]


class Graph:
    """A server app driven in-process; each ``run`` returns the answer and the sandbox calls."""

    def __init__(self, sandbox: RunningSandbox, http: httpx.AsyncClient) -> None:
        self.sandbox = sandbox
        self.http = http

    async def run(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        token: str | None = None,
    ) -> Run:
        self.sandbox.reset_requests()
        headers = {TOKEN_HEADER: token} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": dict(variables or {})}, headers=headers
        )
        return Run(response.status_code, response.json(), self.sandbox.requests())


def settings_for(sandbox: RunningSandbox, **changes: Any) -> Settings:
    return Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        **changes,
    )


@asynccontextmanager
async def serving(app: Any, sandbox: RunningSandbox) -> AsyncIterator[Graph]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://graph") as http:
            yield Graph(sandbox, http)


@asynccontextmanager
async def graph_server(sandbox: RunningSandbox, **settings: Any) -> AsyncIterator[Graph]:
    """The server as ``kickserv-graph serve`` builds it (graph.server.assembly.build_app)."""
    async with serving(build_app(settings_for(sandbox, **settings)), sandbox) as graph:
        yield graph


@asynccontextmanager
async def multi_credential_server(sandbox: RunningSandbox, **settings: Any) -> AsyncIterator[Graph]:
    """build_app's parts, but the demo credential comes from a request header: several credentials
    of one account through ONE registry and ONE shared cache, as API keys will map them."""
    config = settings_for(sandbox, **settings)
    cache = make_cache(config.cache_enabled, config.cache_max_entries)
    registries: dict[int, TenantRegistry] = {}

    def registry_of(request: Any) -> TenantRegistry:
        upstream = upstream_of(request)
        key = id(upstream.client)
        if key not in registries:
            registries[key] = TenantRegistry(
                upstream.client,
                upstream.base_url,
                cache,
                max_concurrency=config.kickserv_concurrency,
            )
        return registries[key]

    def credential_of(request: Any) -> tuple[str, str]:
        return "demo", request.headers.get(TOKEN_HEADER) or "demo-token"

    factory: Callable[[Any], Any] = make_context_factory(registry_of, credential_of)
    responses = None
    if config.cache_enabled and config.response_cache_enabled:
        responses = make_response_cache(
            cache, credential_of, registry_of, max_entries=config.response_cache_max_entries
        )
    app = create_app(
        config,
        build_schema(),
        factory,
        on_result=upstream_extension,
        response_cache=responses,
    )
    async with serving(app, sandbox) as graph:
        yield graph
