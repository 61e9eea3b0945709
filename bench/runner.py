"""Scenarios 1-6 over HTTP, each against our server, the same server with loaders and cache off,
and (where it serves the query) stock Strawberry; the HTTP ceiling for the small query."""

from __future__ import annotations

import sys
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.calibrate import machine_ms
from bench.interleaved import measure_interleaved
from bench.measure import measured_run, scenario_load, typical
from bench.options import Options
from bench.oracle import Dataset
from bench.peer_runs import PEER_KEYS, comparable, run_peers
from bench.processes import ServerProcess, reference_argv, running_ours, running_server
from bench.rounds import expected_upstream_ms
from bench.sandbox_process import Upstream
from bench.scenarios import Facts, scenarios


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_scenarios(
    sandbox: Upstream, data: Dataset, facts: Facts, options: Options
) -> list[dict[str, Any]]:
    chosen = [s for s in scenarios() if options.wants(s.key)]
    bound_per_round = options.latency_ms
    results: dict[str, dict[str, Any]] = {}
    small_answer: bytes | None = None

    def ours(name: str, *, on: bool) -> AbstractContextManager[ServerProcess]:
        """Our server against this sandbox, its loaders and shared cache both on or both off."""
        return running_ours(
            name, sandbox.base_url, loaders=on, cache=on, concurrency=options.upstream_concurrency
        )

    for scenario in chosen:
        minimum = scenario.minimum(data, facts, options.upstream_concurrency)
        machine = machine_ms()  # the machine's speed as this scenario's cold runs begin
        say(
            f"- {scenario.key}: our server, cold then warm; cold on {options.cold_runs} fresh servers"
        )
        with ours("ours", on=True) as server:
            cold, responses = measured_run(server, sandbox, scenario, facts)
            warm, warm_responses = measured_run(server, sandbox, scenario, facts)
            load = scenario_load(
                server,
                sandbox,
                scenario,
                facts,
                max_requests=options.small_requests
                if scenario.key == "small"
                else options.load_requests,
                max_seconds=options.small_seconds
                if scenario.key == "small"
                else options.load_seconds,
                options=options,
            )
        runs = [cold]
        for _ in range(options.cold_runs - 1):  # cold again, on fresh servers
            with ours("ours-cold", on=True) as again:
                runs.append(measured_run(again, sandbox, scenario, facts)[0])
        cold = typical(runs)
        if scenario.key == "small":
            small_answer = orjson.dumps(warm_responses[0])
        results[scenario.key] = {
            "key": scenario.key,
            "title": scenario.title,
            "minimum": minimum,
            "bound_ms": round(minimum["rounds"] * bound_per_round, 1),
            "bound_with_cap_ms": round(minimum["rounds_with_cap"] * bound_per_round, 1),
            "expected_upstream_ms": expected_upstream_ms(
                minimum["levels"],
                options.latency_floor_ms,
                options.latency_floor_ms + 2 * options.jitter_ms,  # as the sandbox draws them
                options.upstream_concurrency,
            ),
            "ours": {"cold": cold, "warm": warm, "load": load},
            "machine_ms": machine,
            "_comparable": comparable(responses),
        }

    say("- every scenario again with GRAPH_LOADERS=off GRAPH_CACHE=off")
    with ours("ours-off", on=False) as off_server:
        for scenario in chosen:
            cold, _ = measured_run(off_server, sandbox, scenario, facts)
            results[scenario.key]["off"] = {"cold": cold}

    say(
        "- the peers: stock Strawberry (with and without a cache), a lean graphql-core handler, "
        "GraphQL Mesh"
    )
    peers = run_peers(sandbox, facts, options, chosen, results, say)
    for entry in results.values():
        if peers and entry["key"] in PEER_KEYS:
            entry["peers_meta"] = peers

    if small_answer is not None:
        say("- the HTTP ceiling: constant JSON on the same stack")
        results["small"]["ceiling"] = {"load": _ceiling_load(sandbox, facts, small_answer, options)}
        say("- the small query's ratios, interleaved: ours, response cache off, lean, ceiling")
        small = next(s for s in chosen if s.key == "small")
        results["small"]["interleaved"] = measure_interleaved(
            sandbox, small, facts, small_answer, options
        )

    for entry in results.values():
        entry.pop("_comparable", None)
    return list(results.values())


def _ceiling_load(
    sandbox: Upstream, facts: Facts, answer: bytes, options: Options
) -> dict[str, Any]:
    small = next(s for s in scenarios() if s.key == "small")
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp, "answer.json")
        body_file.write_bytes(answer)
        with running_server(
            "ceiling", reference_argv("ceiling", "--body-file", str(body_file)), probe_path="/"
        ) as ceiling:
            httpx.post(ceiling.url, content=b"{}")
            return scenario_load(
                ceiling,
                sandbox,
                small,
                facts,
                max_requests=options.small_requests,
                max_seconds=options.small_seconds,
                options=options,
            )
