"""The warm small query's ratio targets, measured side by side: our server with response-cache hits
against the HTTP ceiling, and with the response cache off against the lean graphql-core handler.

On a shared machine, loads run one after another see different noise. Here the four servers run at
once, each is warmed (its first request fills its caches), then each load runs ``rounds`` times,
interleaved, the order rotating each round, so all four see the same noise; req/s, p50, p99 and CPU
per request are medians over the rounds.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.measure import measured_run, medians, scenario_load
from bench.options import Options
from bench.processes import (
    ServerProcess,
    reference_argv,
    running_ours,
    running_ours_without_response_cache,
    running_server,
)
from bench.sandbox_process import Upstream
from bench.scenarios import Facts, Scenario

KEYS = ("ours", "ours_no_response_cache", "lean", "ceiling")


def measure_interleaved(
    sandbox: Upstream,
    small: Scenario,
    facts: Facts,
    answer: bytes,
    options: Options,
    rounds: int = 3,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        body_file = Path(tmp, "answer.json")
        body_file.write_bytes(answer)
        servers: dict[str, ServerProcess] = {
            "ours": stack.enter_context(
                running_ours(
                    "ours",
                    sandbox.base_url,
                    loaders=True,
                    cache=True,
                    concurrency=options.upstream_concurrency,
                )
            ),
            "ours_no_response_cache": stack.enter_context(
                running_ours_without_response_cache(sandbox.base_url, options.upstream_concurrency)
            ),
            "lean": stack.enter_context(
                running_server(
                    "lean", reference_argv("lean", "--upstream", sandbox.base_url), probe_path="/"
                )
            ),
            "ceiling": stack.enter_context(
                running_server(
                    "ceiling",
                    reference_argv("ceiling", "--body-file", str(body_file)),
                    probe_path="/",
                )
            ),
        }
        for server in servers.values():
            measured_run(server, sandbox, small, facts)  # warm: fills its caches
        seconds = max(0.5, options.small_seconds / rounds)
        loads: dict[str, list[dict[str, Any]]] = {key: [] for key in KEYS}
        for turn in range(rounds):
            order = KEYS[turn % len(KEYS) :] + KEYS[: turn % len(KEYS)]
            for key in order:
                loads[key].append(
                    scenario_load(
                        servers[key],
                        sandbox,
                        small,
                        facts,
                        max_requests=options.small_requests,
                        max_seconds=seconds,
                        options=options,
                    )
                )
    return {
        "rounds": rounds,
        "seconds_per_load": seconds,
        **{key: medians(runs) for key, runs in loads.items()},
    }
