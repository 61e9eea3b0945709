"""State modes: the warm small query and the dashboard, served by real ``serve`` processes against one
sandbox, with no state store, the embedded store and Redis, side by side in one run.

- **no store**: ``GRAPH_STATE_DIR=memory`` (one process, nothing shared);
- **embedded**: ``GRAPH_STATE_DIR=<a temporary directory>`` (SQLite in WAL mode);
- **Redis**: ``GRAPH_REDIS_URL`` of a ``redis-server`` the bench starts on a free port
  (``bench.redis_server``).

Each request reads its tenant's write log from the store once before it is served (the response
cache keys by its generation), so the store's round-trip is on every request's path. Before the
servers start, ``state_log_entries`` writes are published to that log (64: as many as it keeps), so
each read carries what it carries on a server that has seen writes. The three servers
run at once, each warmed (the scenario cold, then warm); then the loads are interleaved, mode by mode,
in ``state_repeats`` rounds, the order rotating each round, so the three see the same noise of a shared
machine. Figures per mode are medians over the rounds. All of it with the response cache on (the
default), and again with it off (``GRAPH_RESPONSE_CACHE=off``: every request is executed, from the
shared cache, after the same store read).

Redis's work is read from Redis itself: ``INFO commandstats`` deltas over each load (per command, per
request served; ``evalsha`` and ``eval`` are the script calls, the other commands are mostly run
inside those scripts), and round-trips exactly, with ``MONITOR`` over a run of sequential requests:
the commands clients sent (a command a Lua script ran inside Redis is not a round-trip).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.measure import measured_run, medians, request_body, scenario_load
from bench.options import Options
from bench.processes import ServerProcess, running_ours
from bench.record_cache import measure_record_cache
from bench.redis_server import RedisServer, running_redis
from bench.sandbox_process import Upstream
from bench.scenarios import Facts, Scenario, scenarios
from bench.state import fill_write_log

MODES = ("memory", "embedded", "redis")
LABELS = {
    "memory": "no store (GRAPH_STATE_DIR=memory)",
    "embedded": "embedded store (SQLite file)",
    "redis": "Redis (GRAPH_REDIS_URL)",
}
SCENARIOS = ("small", "dashboard")
_SCRIPT_CALLS = ("evalsha", "eval")


def _state_env(mode: str, directory: Path, redis: RedisServer, cache: bool) -> dict[str, str]:
    """What a mode's server has beside our server's usual environment."""
    return {
        "GRAPH_RESPONSE_CACHE": "on" if cache else "off",
        "GRAPH_REDIS_URL": redis.url if mode == "redis" else "",
        "GRAPH_STATE_DIR": str(directory) if mode == "embedded" else "memory",
    }


def measure_state_modes(
    sandbox: Upstream, facts: Facts, options: Options, say: Any = print
) -> dict[str, Any]:
    """Every mode, with the response cache on and (``options.state_cache_off``) off."""
    chosen = [s for s in scenarios() if s.key in SCENARIOS]
    caches = (True, False) if options.state_cache_off else (True,)
    figures: dict[str, Any] = {
        "modes": {mode: LABELS[mode] for mode in MODES},
        "repeats": options.state_repeats,
        "seconds_per_load": options.state_seconds,
        "monitor_requests": options.state_monitor_requests,
        "write_log_entries": options.state_log_entries,
        "runs": [],
    }
    with running_redis() as redis, tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
        redis_version = redis.info("server").get("redis_version")
        figures["redis_version"] = redis_version
        for cache in caches:
            say(f"- state modes, response cache {'on' if cache else 'off'}: " + ", ".join(MODES))
            redis.flush()
            directory = Path(tmp, f"state-{'on' if cache else 'off'}")
            for where in (str(directory), redis.url):
                asyncio.run(fill_write_log(where, options.state_log_entries))
            with _servers(sandbox, directory, redis, cache, options) as servers:
                figures["runs"].append(
                    _measure(servers, redis, sandbox, facts, chosen, cache, options)
                )
        if options.state_record_repeats:
            say("- shared caches of records: per process, or in Redis (the dashboard, warm)")
            redis.flush()
            figures["record_cache"] = measure_record_cache(
                sandbox.base_url, redis, options.state_record_repeats, options.state_log_entries
            )
    return figures


@contextmanager
def _servers(
    sandbox: Upstream, directory: Path, redis: RedisServer, cache: bool, options: Options
) -> Iterator[dict[str, ServerProcess]]:
    with ExitStack() as stack:
        yield {
            mode: stack.enter_context(
                running_ours(
                    f"state-{mode}",
                    sandbox.base_url,
                    loaders=True,
                    cache=True,
                    concurrency=options.upstream_concurrency,
                    env=_state_env(mode, directory, redis, cache),
                )
            )
            for mode in MODES
        }


def _measure(
    servers: dict[str, ServerProcess],
    redis: RedisServer,
    sandbox: Upstream,
    facts: Facts,
    chosen: list[Scenario],
    cache: bool,
    options: Options,
) -> dict[str, Any]:
    warm_calls: dict[tuple[str, str], int] = {}
    for scenario in chosen:
        for mode, server in servers.items():
            measured_run(server, sandbox, scenario, facts)  # cold: fills the shared cache
            warm, _ = measured_run(server, sandbox, scenario, facts)
            warm_calls[scenario.key, mode] = warm["calls"]
            # Untimed, so code paths and connections (to Redis too) are warm when timing starts.
            _load(
                server, sandbox, scenario, facts, options, seconds=min(0.5, options.state_seconds)
            )
    loads: dict[tuple[str, str], list[dict[str, Any]]] = {}
    redis_calls: dict[str, Counter[str]] = {s.key: Counter() for s in chosen}
    redis_cpu: dict[str, float] = {s.key: 0.0 for s in chosen}
    for repeat in range(options.state_repeats):
        shift = repeat % len(MODES)
        order = MODES[shift:] + MODES[:shift]
        for scenario in chosen:
            for mode in order:
                before = redis.command_calls() if mode == "redis" else {}
                cpu_before = redis.cpu_seconds() if mode == "redis" else None
                load = _load(servers[mode], sandbox, scenario, facts, options)
                if mode == "redis":
                    after = redis.command_calls()
                    redis_calls[scenario.key].update(
                        {name: n - before.get(name, 0) for name, n in after.items()}
                    )
                    cpu_after = redis.cpu_seconds()
                    if cpu_before is not None and cpu_after is not None:
                        redis_cpu[scenario.key] += cpu_after - cpu_before
                loads.setdefault((scenario.key, mode), []).append(load)
    rows = []
    for scenario in chosen:
        base = medians(loads[scenario.key, "memory"])
        for mode in MODES:
            row: dict[str, Any] = {
                "scenario": scenario.key,
                "mode": mode,
                "concurrency": scenario.concurrency,
                "warm_calls": warm_calls[scenario.key, mode],
                **medians(loads[scenario.key, mode]),
                "loads": loads[scenario.key, mode],
            }
            row["rps_vs_memory"] = _ratio(row["rps"], base["rps"])
            row["p50_vs_memory"] = _ratio(row["p50_ms"], base["p50_ms"])
            row["p99_vs_memory"] = _ratio(row["p99_ms"], base["p99_ms"])
            if mode == "redis":
                row["redis"] = _redis_figures(
                    redis_calls[scenario.key],
                    redis_cpu[scenario.key],
                    sum(load["requests"] for load in loads[scenario.key, mode]),
                )
                row["redis"].update(_round_trips(servers[mode], redis, scenario, facts, options))
            rows.append(row)
    return {"response_cache": cache, "rows": rows}


def _load(
    server: ServerProcess,
    sandbox: Upstream,
    scenario: Scenario,
    facts: Facts,
    options: Options,
    seconds: float | None = None,
) -> dict[str, Any]:
    return scenario_load(
        server,
        sandbox,
        scenario,
        facts,
        max_requests=options.state_requests,
        max_seconds=options.state_seconds if seconds is None else seconds,
        options=options,
    )


def _redis_figures(calls: Counter[str], cpu_seconds: float, requests: int) -> dict[str, Any]:
    """Per request served, from ``INFO commandstats`` deltas (our own ``info`` calls left out)."""
    own = calls.pop("info", 0)
    total = calls.pop("*total", 0) - own
    per = {name: round(n / requests, 3) for name, n in sorted(calls.items()) if n and requests}
    return {
        "requests": requests,
        "commands_per_request": round(total / requests, 3) if requests else None,
        "script_calls_per_request": round(sum(calls[c] for c in _SCRIPT_CALLS) / requests, 3)
        if requests
        else None,
        "commandstats_per_request": per,
        "cpu_ms_per_request": round(cpu_seconds * 1000 / requests, 4) if requests else None,
    }


def _round_trips(
    server: ServerProcess,
    redis: RedisServer,
    scenario: Scenario,
    facts: Facts,
    options: Options,
) -> dict[str, Any]:
    """Exact: the commands the server sent to Redis (``MONITOR``) over sequential requests."""
    count = options.state_monitor_requests
    body = request_body(scenario, facts)
    headers = {"Content-Type": "application/json"}
    with httpx.Client(timeout=30.0) as client:
        client.post(server.url, content=body, headers=headers)  # a warm connection
        with redis.monitor() as sent:
            for _ in range(count):
                response = client.post(server.url, content=body, headers=headers)
                if response.status_code != 200 or b'"errors"' in response.content:
                    raise RuntimeError(f"{scenario.key} answered {response.status_code}")
    commands = sent()
    total = sum(commands.values())
    return {
        "monitored_requests": count,
        "round_trips_per_request": round(total / count, 3),
        "sent_per_request": {name: round(n / count, 3) for name, n in sorted(commands.items())},
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def state_table(figures: dict[str, Any]) -> str:
    """The Markdown table of a state-modes run."""
    rows = [
        "| response cache | query | state | req/s | vs no store | p50 / p99 ms | p50 vs no store "
        "| CPU ms/req | Redis round-trips/req | Redis commands/req (in scripts too) "
        "| Redis CPU ms/req |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in figures["runs"]:
        for row in run["rows"]:
            redis = row.get("redis") or {}
            rows.append(
                f"| {'on' if run['response_cache'] else 'off'} | {row['scenario']}"
                f" ({row['concurrency']} clients) | {row['mode']} | {_fmt(row['rps'])}"
                f" | {_fmt(row['rps_vs_memory'], 'x')} | {_fmt(row['p50_ms'])} /"
                f" {_fmt(row['p99_ms'])} | {_fmt(row['p50_vs_memory'], 'x')}"
                f" | {_fmt(row['cpu_ms_per_request'])}"
                f" | {_fmt(redis.get('round_trips_per_request'))}"
                f" | {_fmt(redis.get('commands_per_request'))}"
                f" | {_fmt(redis.get('cpu_ms_per_request'))} |"
            )
    return "\n".join(rows)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        if unit == "x":
            return f"{value:.2f}x"
        return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
    return f"{value}{unit}"


def state_notes(figures: dict[str, Any]) -> list[str]:
    """How the figures were taken, and what Redis was sent, per query."""
    notes = [
        f"Three `serve` processes at once against the same sandbox; each load {figures['seconds_per_load']}"
        f" s, {figures['repeats']} round(s) interleaved (order rotating), medians; the tenant's "
        f"write log holds {figures.get('write_log_entries', 0)} writes; Redis "
        f"{figures.get('redis_version')}. Round-trips: `MONITOR` over "
        f"{figures['monitor_requests']} sequential requests, the commands the server sent (not "
        "those a Lua script ran). Commands: `INFO commandstats` deltas over the loads (our own "
        "`info` left out), scripts' inner commands included. Upstream calls during the loads "
        "(entries that expired and were fetched again): "
        + ", ".join(
            f"{'on' if run['response_cache'] else 'off'}/{row['scenario']}/{row['mode']} "
            f"{row['upstream_calls']}"
            for run in figures["runs"]
            for row in run["rows"]
            if row["upstream_calls"]
        )
        + ("." if _any_upstream(figures) else "none."),
        "",
    ]
    for run in figures["runs"]:
        for row in run["rows"]:
            redis = row.get("redis")
            if redis:
                sent = ", ".join(f"{n} {name}" for name, n in redis["sent_per_request"].items())
                inside = ", ".join(
                    f"{n} {name}" for name, n in redis["commandstats_per_request"].items()
                )
                notes.append(
                    f"- response cache {'on' if run['response_cache'] else 'off'}, "
                    f"{row['scenario']}: sent per request {sent or 'nothing'}; executed per "
                    f"request {inside or 'nothing'}."
                )
    return notes + record_cache_notes(figures)


def record_cache_notes(figures: dict[str, Any]) -> list[str]:
    from bench.record_cache import report

    found = figures.get("record_cache")
    return (
        ["", "### Shared caches of records: per process, or in Redis", "", report(found)]
        if found
        else []
    )


def _any_upstream(figures: dict[str, Any]) -> bool:
    return any(row["upstream_calls"] for run in figures["runs"] for row in run["rows"])
