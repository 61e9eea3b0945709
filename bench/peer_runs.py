"""The peers, in the same run, against the same sandbox and latency, asked the same questions.

- stock Strawberry calling Kickserv every time (bench.stock), and the same with Kickserv's answers
  kept after their first read (``stock-cached``);
- a lean graphql-core handler over the same data (bench.lean);
- GraphQL Mesh over an OpenAPI description of Kickserv v2, served by Hive Gateway (bench.mesh),
  skipped with a note when Node is absent;
- our own server with its response cache off (``GRAPH_RESPONSE_CACHE=off``), so the warm small query
  compares execution with execution.

For the dashboard and the small query each gives: upstream calls, rounds and wall time cold (a fresh
process), whether it answered the same data as ours, then the warm load's requests per second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any

from bench import mesh
from bench.measure import measured_run, scenario_load
from bench.options import Options
from bench.processes import (
    ServerProcess,
    reference_argv,
    running_ours_without_response_cache,
    running_server,
)
from bench.sandbox_process import Upstream
from bench.scenarios import Facts, Scenario

PEER_KEYS = ("dashboard", "small")

# (key in the results, what the report calls it, reference kind of bench.targets)
PYTHON_PEERS = (
    ("stock", "stock Strawberry (Kickserv every time)", "stock"),
    ("stock_cached", "stock Strawberry with a cache", "stock-cached"),
    ("lean", "lean graphql-core handler", "lean"),
)
LABELS = {
    "ours": "kickserv-graph",
    "ours_no_response_cache": "kickserv-graph, response cache off",
    **{key: label for key, label, _ in PYTHON_PEERS},
    "mesh": "GraphQL Mesh + Hive Gateway (OpenAPI)",
    "ceiling": "HTTP ceiling (constant JSON)",
}


def comparable(responses: list[dict[str, Any]]) -> Any:
    """The data without cursors (opaque, each server's own)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("cursor", "endCursor")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(r.get("data")) for r in responses]


def _figures(
    server: ServerProcess,
    sandbox: Upstream,
    scenario: Scenario,
    facts: Facts,
    options: Options,
    ours_answer: Any,
    translate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    cold, responses = measured_run(server, sandbox, scenario, facts)
    if translate is not None:
        responses = [{"data": translate(r.get("data") or {})} for r in responses]
    warm, _ = measured_run(server, sandbox, scenario, facts)
    small = scenario.key == "small"
    load = scenario_load(
        server,
        sandbox,
        scenario,
        facts,
        max_requests=options.small_requests if small else options.load_requests,
        max_seconds=options.small_seconds if small else options.load_seconds,
        options=options,
    )
    return {
        "cold": cold,
        "warm": warm,
        "load": load,
        "same_answer": comparable(responses) == ours_answer,
    }


def run_peers(
    sandbox: Upstream,
    facts: Facts,
    options: Options,
    chosen: list[Scenario],
    results: dict[str, dict[str, Any]],
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Adds each peer's figures to ``results[key]`` of the dashboard and the small query; answers
    what the report says of the peers as a whole (versions, skips)."""
    wanted = [s for s in chosen if s.key in PEER_KEYS]
    notes: dict[str, Any] = {}
    if not wanted:
        return notes

    def each(name: str, opened: Callable[[], AbstractContextManager[ServerProcess]]) -> None:
        # A fresh process per scenario: "cold" means cold caches for every peer.
        for scenario in wanted:
            asked = scenario
            translate = None
            if name == "mesh":
                asked = replace(scenario, query=mesh.QUERIES[scenario.key], variables=_none)
                translate = _translator(scenario.key)
            with opened() as server:
                results[scenario.key][name] = _figures(
                    server,
                    sandbox,
                    asked,
                    facts,
                    options,
                    results[scenario.key]["_comparable"],
                    translate,
                )

    say("- ours with the response cache off (GRAPH_RESPONSE_CACHE=off)")
    each(
        "ours_no_response_cache",
        lambda: running_ours_without_response_cache(sandbox.base_url, options.upstream_concurrency),
    )
    for key, label, kind in PYTHON_PEERS:
        say(f"- {label}")
        each(
            key,
            lambda kind=kind: running_server(  # type: ignore[misc]
                kind, reference_argv(kind, "--upstream", sandbox.base_url), probe_path="/"
            ),
        )
    skipped = mesh.unavailable(install=options.install_peers)
    if skipped is None:
        say("- GraphQL Mesh + Hive Gateway over kickserv-openapi.yaml")
        notes["mesh"] = {"versions": mesh.versions()}
        each("mesh", lambda: mesh.running_mesh(sandbox.base_url))
    else:
        say(f"- GraphQL Mesh skipped: {skipped}")
        notes["mesh"] = {"skipped": skipped}
    return notes


def _none(facts: Facts) -> dict[str, Any]:
    return {}


def _translator(key: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: mesh.as_ours(key, data)


def rows(results: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(scenario, peer key, figures) of every peer that ran, ours first."""
    for s in results:
        if s["key"] not in PEER_KEYS:
            continue
        for key in LABELS:
            figures = s.get(key)
            if figures and "cold" in figures:
                yield s["key"], key, figures
