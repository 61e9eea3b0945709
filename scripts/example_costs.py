"""Measure what each example operation costs upstream and render README.md's table and tour.

    .venv/bin/python scripts/example_costs.py            # print the two README sections
    .venv/bin/python scripts/example_costs.py --write    # and replace them in README.md

For each example it runs the server (graph.server.assembly.build_app) against a fresh sandbox seeded
as the quickstart's `serve` seeds its own (tests/graph/example_runs.py SANDBOX) and counts the
sandbox's own request log: calls with loaders and the shared cache (cold), dependent rounds (with
ROUND_LATENCY_MS of sandbox latency and the per-credential concurrency raised so a level is one wave),
and calls with GRAPH_LOADERS=off and GRAPH_CACHE=off. tests/graph/test_examples.py asserts the same
counts, and that README.md's two blocks are what this script writes. The benchmark's figures come
from scripts/figures.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.choices import JOB_STATUSES  # noqa: E402
from sandbox.config import SandboxConfig  # noqa: E402
from sandbox.testing import RunningSandbox, running_sandbox  # noqa: E402
from scripts.figures import replace_block  # noqa: E402
from tests.graph.example_runs import (  # noqa: E402
    ROUND_LATENCY_MS,
    SANDBOX,
    TODAY,
    example,
    example_variables,
    graph_server,
    serve_command,
)

CONFIG: dict[str, Any] = SANDBOX
EXAMPLES = ("dashboard", "dispatch_week", "customer_history", "accounts_receivable")
# Small variables for the tour, so its output stays readable.
TOUR: dict[str, dict[str, Any]] = {
    "dashboard": {"customers": 1, "jobs": 1},
    "dispatch_week": {"first": 1},
    "customer_history": {},  # a customer with one paid job, chosen below
    "accounts_receivable": {"first": 1},
}
TABLE_MARKERS = ("<!-- example-costs:start -->", "<!-- example-costs:end -->")
TOUR_MARKERS = ("<!-- example-tour:start -->", "<!-- example-tour:end -->")


async def cold_run(
    sandbox: RunningSandbox, name: str, variables: dict[str, Any], **settings: Any
) -> Any:
    async with graph_server(sandbox, **settings) as graph:
        return await graph.run(example(name), variables)


async def measure() -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    with running_sandbox(SandboxConfig(**CONFIG)) as sandbox:
        store = sandbox.store("demo")
        variables = example_variables(store, TODAY)
        paying = [
            c
            for c in store.customers_by_number.values()
            if any(store.jobs[j].payment_ids for j in c.job_ids)
        ]
        small = min(
            paying, key=lambda c: sum(store.jobs[j].status in JOB_STATUSES for j in c.job_ids)
        )
        TOUR["customer_history"] = {"number": small.number}
        for name in EXAMPLES:
            with_all = await cold_run(sandbox, name, variables[name])
            without = await cold_run(
                sandbox, name, variables[name], loaders_enabled=False, cache_enabled=False
            )
            assert not with_all.errors and not without.errors, (with_all.errors, without.errors)
            figures[name] = {"calls": with_all.calls, "naive": without.calls}
            tour = {**variables[name], **TOUR[name]}
            shown = await cold_run(sandbox, name, tour)
            figures[name]["tour"] = (tour, shown.data, shown.calls)
    with running_sandbox(SandboxConfig(**CONFIG, latency_ms=ROUND_LATENCY_MS)) as slow:
        for name in EXAMPLES:
            run = await cold_run(slow, name, variables[name], kickserv_concurrency=100)
            assert run.calls == figures[name]["calls"], (name, run.calls, figures[name]["calls"])
            figures[name]["rounds"] = run.rounds
            figures[name]["variables"] = variables[name]
    return figures


def table(figures: dict[str, dict[str, Any]]) -> str:
    rows = [
        textwrap.fill(
            f"The sandbox of the quickstart's `{serve_command(CONFIG)}` ({CONFIG['customers']} "
            f"customers, seed {CONFIG['seed']}, today {CONFIG['today'].isoformat()}); rounds "
            f"counted with {ROUND_LATENCY_MS:g} ms of sandbox latency per call.",
            width=100,
        ),
        "",
        "| query | variables | calls | rounds | calls without loaders and cache |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, f in figures.items():
        variables = json.dumps(f["variables"]) if f["variables"] else "(defaults)"
        rows.append(
            f"| [`{name}`](examples/{name}.graphql) | `{variables}` | {f['calls']} | "
            f"{f['rounds']} | {f['naive']} |"
        )
    return "\n".join(rows)


def tour(figures: dict[str, dict[str, Any]]) -> str:
    parts = [
        textwrap.fill(
            f"Each answer is what `{serve_command(CONFIG)}` returns, on any day; the upstream "
            "calls are those of a freshly started server.",
            width=100,
        ),
        "",
    ]
    for name, f in figures.items():
        variables, data, calls = f["tour"]
        parts += [
            f"### `{name}`",
            "",
            "```graphql",
            example(name).strip(),
            "```",
            "",
            f"With `{json.dumps(variables)}` (a cold server: {calls} upstream "
            f"call{'s' if calls != 1 else ''}):",
            "",
            "```json",
            json.dumps({"data": data}, indent=2),
            "```",
            "",
        ]
    return "\n".join(parts).rstrip()


async def blocks() -> dict[tuple[str, str], str]:
    """README.md's two blocks, by their markers, as this script writes them."""
    figures = await measure()
    return {TABLE_MARKERS: table(figures), TOUR_MARKERS: tour(figures)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the sections in README.md")
    args = parser.parse_args(argv)
    rendered = asyncio.run(blocks())
    if args.write:
        readme = ROOT / "README.md"
        text = readme.read_text(encoding="utf-8")
        for markers, body in rendered.items():
            text = replace_block(text, markers, body, "README.md")
        readme.write_text(text, encoding="utf-8")
    print("\n\n".join(rendered.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
