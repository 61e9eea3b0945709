"""The watcher as the app runs it (in process, over a sandbox on a real port): started by the
lifespan, its cost and events counted in /metrics, its leases given up at shutdown."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx

from graph.server.assembly import build_app, server_of
from graph.server.auth import ApiKeys
from graph.server.settings import Settings
from graph.server.tenancy import TenantRegistry, make_cache
from graph.server.watching import watched_tenants
from sandbox.testing import RunningSandbox
from tests.watch.conftest import Kickserv


def series(text: str, name: str) -> float:
    found = re.search(rf"^kickserv_graph_{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_the_app_runs_the_watcher_and_counts_it_in_metrics(
    sandbox: RunningSandbox, kickserv: Kickserv
) -> None:
    settings = Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sandbox.base_url,
        watch_interval=0.2,
    )
    app = build_app(settings)
    server = server_of(app)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as http,
    ):
        stats = server.watch_stats
        deadline = time.monotonic() + 30
        while stats.cycles < 2:  # the baseline, then an idle cycle
            assert time.monotonic() < deadline, "the watcher did not run"
            await asyncio.sleep(0.05)
        kickserv.call("PUT", "customers/2.json", {"customer": {"name": "Counted"}})
        while not stats.events:
            assert time.monotonic() < deadline, "no event"
            await asyncio.sleep(0.05)
        text = (await http.get("/metrics")).text
        assert series(text, "watch_cycles_total") >= 2
        assert series(text, "watch_upstream_calls_total") >= 2 * 6  # six listings a cycle
        assert series(text, "watch_tenants") == 1
        assert 'kickserv_graph_watch_events_total{type="customer.updated"} 1.0' in text
        assert server.store is None  # no state store here: the server's own log has it
        (event,) = await server.events.after(next(iter(stats.held)), 0)
        assert event.subject == {"customerNumber": 2}
    assert not stats.held  # released at shutdown


async def test_which_tenants_are_watched_in_each_mode(tmp_path: Path) -> None:
    keys = ApiKeys.from_data(
        {
            "keys": [
                {"name": "own", "key": "own-key-0123456789abcdef"},
                {"name": "acme", "key": "acme-key-0123456789abcde", "account": "acme",
                 "token": "acme-token"},
                {"name": "acme-2", "key": "acme-key-2-0123456789abc", "account": "acme",
                 "token": "acme-token"},
            ]
        },
        "test",
        {},
    )  # fmt: skip
    async with httpx.AsyncClient() as http:
        registry = TenantRegistry(http, "http://kickserv.invalid", make_cache())
        server_credential = ("demo", "demo-token")

        def accounts(settings: Settings, with_keys: ApiKeys | None) -> list[str]:
            tenants = watched_tenants(settings, registry, with_keys, server_credential)()
            return sorted(t.account for t in tenants)

        assert accounts(Settings(), None) == ["demo"]  # one account: the server's own
        assert accounts(Settings(), keys) == ["acme", "demo"]  # each key's, once
        registry = TenantRegistry(http, "http://kickserv.invalid", make_cache())
        passing = Settings(pass_through=True)
        assert accounts(passing, None) == ["demo"]  # no caller seen yet
        registry.get("caller", "caller-token")  # a pass-through request used it
        assert accounts(passing, None) == ["caller", "demo"]
        idle = Settings(pass_through=True, watch_idle=0.01)
        await asyncio.sleep(0.05)
        assert accounts(idle, None) == ["demo"]  # idle past GRAPH_WATCH_IDLE_S: no longer
