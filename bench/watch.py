"""The watcher's figures (issue 13): what polling costs Kickserv per tenant while nothing changes,
and how long an outside change takes to reach the event log.

    .venv/bin/python -m bench.watch                 # writes bench/results/<date>-watch.{json,md}
    .venv/bin/python -m bench.watch --sizes 200 --changes 4 --interval 1   # a quick look

- **Idle cost**: a sandbox of N customers (with injected latency per call), one tenant's watcher
  (``resolvers.watch.TenantWatcher``) after its baseline: the calls one idle cycle makes (counted in
  the sandbox's own request log, every page of every listing), the calls per minute at the default
  interval and call budget (``GRAPH_WATCH_INTERVAL_S``, ``GRAPH_WATCH_MAX_CALLS``), and how many
  cycles a whole pass then takes (how stale the slowest outside change may be).
- **Event latency**: the watcher running on its interval (``Watcher.run``), changes made on the
  sandbox at random moments through its REST API; the time from the change's answer to the event in
  the log (``EventLog.wait``). Expect about half an interval plus a cycle, at most one interval plus
  a cycle; the figures are for the interval given, and scale with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from graph.server.settings import Settings
from graph.server.tenancy import make_cache
from kickserv import KickservClient
from resolvers.state.memory_events import MemoryEvents
from resolvers.tenant import Tenant
from resolvers.watch import TenantWatcher, Watcher, WatchSettings
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

RESULTS = Path(__file__).resolve().parent / "results"
TODAY = date(2026, 11, 21)
DEFAULTS = Settings()


def tenant_over(sandbox: RunningSandbox) -> Tenant:
    client = KickservClient("demo", "demo-token", base_url=sandbox.base_url)
    return Tenant("demo", client, make_cache())


async def idle_cost(size: int, latency_ms: float) -> dict[str, Any]:
    config = SandboxConfig(customers=size, acme_customers=3, today=TODAY, latency_ms=latency_ms)
    with running_sandbox(config) as sandbox:
        tenant = tenant_over(sandbox)
        watcher = TenantWatcher(
            tenant, MemoryEvents(), WatchSettings(max_calls=100_000), holder="bench"
        )
        try:
            await watcher.cycle()  # the baseline
            before = sandbox.request_count()
            started = time.perf_counter()
            events = await watcher.cycle()
            seconds = time.perf_counter() - started
            calls = sandbox.request_count() - before
        finally:
            await tenant.client.aclose()
    assert events == [], "an idle cycle found changes"
    budget, interval = DEFAULTS.watch_max_calls, DEFAULTS.watch_interval
    per_cycle = min(calls, budget)
    return {
        "customers": size,
        "calls_per_pass": calls,
        "pass_seconds": round(seconds, 3),
        "calls_per_minute": round(per_cycle * 60 / interval, 1),
        "cycles_per_pass": math.ceil(calls / budget),
        "interval_s": interval,
        "max_calls": budget,
    }


async def latency(size: int, latency_ms: float, interval: float, changes: int) -> dict[str, Any]:
    config = SandboxConfig(customers=size, acme_customers=3, today=TODAY, latency_ms=latency_ms)
    rng = random.Random(13)
    with running_sandbox(config) as sandbox:
        tenant = tenant_over(sandbox)
        log = MemoryEvents()
        watcher = Watcher(log, lambda: [tenant], WatchSettings(interval=interval), holder="bench")
        api = f"{sandbox.base_url}/demo/api/v2"
        seconds: list[float] = []
        try:
            await watcher.cycle()  # the baseline first
            watcher.start()
            async with httpx.AsyncClient(auth=("demo-token", "demo-token"), timeout=30) as http:
                for n in range(changes):
                    await asyncio.sleep(rng.uniform(0, interval))
                    seen = await log.last_seq(tenant.key)
                    body = {"customer": {"name": f"Latency {n}"}}
                    response = await http.put(f"{api}/customers/{1 + n}.json", json=body)
                    response.raise_for_status()
                    changed = time.perf_counter()
                    assert await log.wait(tenant.key, seen, 10 * interval + 30)
                    seconds.append(time.perf_counter() - changed)
        finally:
            await watcher.stop()
            await tenant.client.aclose()
    return {
        "customers": size,
        "interval_s": interval,
        "changes": changes,
        "median_s": round(statistics.median(seconds), 3),
        "max_s": round(max(seconds), 3),
        "all_s": [round(s, 3) for s in seconds],
    }


def markdown(run: dict[str, Any]) -> str:
    meta = run["meta"]
    lines = [
        f"# Watcher figures, {meta['date']}",
        "",
        f"Sandbox with {meta['latency_ms']:g} ms injected per upstream call; one tenant; "
        f"{meta['cpus']} shared CPUs; Python {meta['python']}. How each figure is measured: "
        "the docstring of bench/watch.py.",
        "",
        "## Idle polling cost per tenant",
        "",
        "| customers | calls per pass | pass time s | calls/min at the defaults | cycles per pass |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in run["idle"]:
        lines.append(
            f"| {row['customers']:,} | {row['calls_per_pass']} | {row['pass_seconds']} | "
            f"{row['calls_per_minute']} | {row['cycles_per_pass']} |"
        )
    first = run["idle"][0]
    lines += [
        "",
        f"Defaults: a cycle every {first['interval_s']:g} s, at most {first['max_calls']} calls "
        "per cycle and tenant; a pass longer than that goes on over the next cycles.",
        "",
        "## Event latency",
        "",
        "| customers | interval s | changes | median s | max s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in run["latency"]:
        lines.append(
            f"| {row['customers']:,} | {row['interval_s']:g} | {row['changes']} | "
            f"{row['median_s']} | {row['max_s']} |"
        )
    return "\n".join(lines) + "\n"


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--interval", type=float, default=2.0, help="for the latency figures")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    import os

    run: dict[str, Any] = {
        "meta": {
            "date": datetime.now(UTC).date().isoformat(),
            "latency_ms": args.latency_ms,
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "idle": [await idle_cost(size, args.latency_ms) for size in args.sizes],
        "latency": [
            await latency(args.sizes[0], args.latency_ms, args.interval, args.changes),
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{run['meta']['date']}-watch"
    stem.with_suffix(".json").write_text(json.dumps(run, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(run))
    print(markdown(run))
    return run


if __name__ == "__main__":
    asyncio.run(main())
