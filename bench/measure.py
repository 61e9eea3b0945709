"""One measured request sequence (cold or warm) and one warm load, against a running server."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx
import orjson

from bench.load import run_load
from bench.options import Options
from bench.processes import ServerProcess
from bench.rounds import rounds_of, upstream_critical_ms
from bench.sandbox_process import Upstream
from bench.scenarios import Facts, Scenario


def post(client: httpx.Client, url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post(url, json={"query": query, "variables": variables}, timeout=300.0)
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{url} answered {response.status_code}: {str(body)[:400]}")
    return body


def run_client(
    client: httpx.Client, url: str, scenario: Scenario, facts: Facts
) -> list[dict[str, Any]]:
    """What a client does for the scenario: one request, or every page when it pages."""
    variables = scenario.variables(facts)
    responses = [post(client, url, scenario.query, variables)]
    while scenario.paginate:
        page_info = responses[-1]["data"][scenario.paginate]["pageInfo"]
        if not page_info["hasNextPage"]:
            break
        variables = {**variables, "after": page_info["endCursor"]}
        responses.append(post(client, url, scenario.query, variables))
    return responses


def measured_run(
    server: ServerProcess, sandbox: Upstream, scenario: Scenario, facts: Facts
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Upstream calls (sandbox log), dependent rounds and wall time of one client run."""
    with httpx.Client() as client:
        sandbox.reset_requests()
        started = time.perf_counter()
        responses = run_client(client, server.url, scenario, facts)
        wall = time.perf_counter() - started
    entries = sandbox.requests()
    upstream = [r.get("extensions", {}).get("upstream", {}) for r in responses]
    reported = [u.get("calls") for u in upstream]
    # Our server's own count of dependent rounds (each call's start and end as its client saw
    # them), beside the sandbox log's: the log's arrivals lag when the sandbox process is starved.
    said = [u.get("rounds") for u in upstream]
    figures = {
        "calls": len(entries),
        "rounds": rounds_of(entries),
        "wall_ms": round(wall * 1000, 1),
        "upstream_critical_ms": upstream_critical_ms(entries),
        "requests": len(responses),
        "reported_calls": sum(reported) if all(isinstance(c, int) for c in reported) else None,
        "reported_rounds": sum(said) if all(isinstance(r, int) for r in said) else None,
    }
    return figures, responses


def typical(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Cold runs of one scenario on fresh servers, as one: the figures of the run of median wall
    time (its upstream critical path with it; the lower median of an even count), the most calls
    and rounds any run made (the targets are judged at the worst), and every run's wall in run
    order. A single cold run moves by ±20 ms and more on a shared machine."""
    ordered = sorted(runs, key=lambda run: run["wall_ms"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["calls"] = max(run["calls"] for run in runs)
    chosen["rounds"] = max(run["rounds"] for run in runs)
    said = [run.get("reported_rounds") for run in runs]
    counted = [r for r in said if isinstance(r, int)]
    chosen["reported_rounds"] = max(counted) if len(counted) == len(said) else None
    chosen["walls_ms"] = [run["wall_ms"] for run in runs]
    return chosen


def warm_load(
    server: ServerProcess,
    sandbox: Upstream,
    body: bytes,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    options: Options,
) -> dict[str, Any]:
    """Requests per second, latency percentiles, CPU per request and upstream calls under load."""
    sandbox.reset_requests()
    cpu_before = server.cpu_seconds()
    result = run_load(
        server.url,
        body,
        concurrency=concurrency,
        max_requests=max_requests,
        max_seconds=max_seconds,
        tool=options.load_tool,
    )
    cpu_after = server.cpu_seconds()
    figures = result.as_dict()
    if cpu_before is not None and cpu_after is not None and result.requests:
        figures["cpu_ms_per_request"] = round((cpu_after - cpu_before) * 1000 / result.requests, 3)
    else:
        figures["cpu_ms_per_request"] = None
    figures["upstream_calls"] = sandbox.request_count()
    figures["peak_rss_mb"] = _round(server.memory_mb()[1])
    return figures


def scenario_load(
    server: ServerProcess,
    sandbox: Upstream,
    scenario: Scenario,
    facts: Facts,
    *,
    max_requests: int,
    max_seconds: float,
    options: Options,
) -> dict[str, Any]:
    """``warm_load`` of the scenario's request at the scenario's concurrency."""
    return warm_load(
        server,
        sandbox,
        request_body(scenario, facts),
        concurrency=scenario.concurrency,
        max_requests=max_requests,
        max_seconds=max_seconds,
        options=options,
    )


def request_body(scenario: Scenario, facts: Facts) -> bytes:
    return orjson.dumps({"query": scenario.query, "variables": scenario.variables(facts)})


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def medians(loads: list[dict[str, Any]]) -> dict[str, Any]:
    """Loads run in rounds, as one: medians of their rates, latencies and CPU, sums of counts."""

    def median(name: str) -> float | None:
        values = [load[name] for load in loads if load.get(name) is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "rps": median("rps"),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "cpu_ms_per_request": median("cpu_ms_per_request"),
        "concurrency": loads[0].get("concurrency"),
        "requests": sum(load["requests"] for load in loads),
        "bad": sum(load["bad"] for load in loads),
        "upstream_calls": sum(load["upstream_calls"] for load in loads),
    }
