"""The watcher as the app runs it (in process, over a sandbox on a real port): started by the
lifespan, its cost and events counted in /metrics, its leases given up at shutdown."""

from __future__ import annotations

import asyncio
import re
import time

import httpx

from graph.server.assembly import build_app, server_of
from graph.server.settings import Settings
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
