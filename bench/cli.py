"""``python -m bench`` / ``kickserv-graph bench``: every scenario in one run, then the report."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.options import PROFILES, Options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", action="store_true", help="a reduced run, under two minutes (no README refresh)"
    )
    size.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (for tests)")
    parser.add_argument("--customers", type=int, help="sandbox scale for scenarios 1-6")
    parser.add_argument("--scale-customers", type=int, help="sandbox scale for scenario 7")
    parser.add_argument("--latency-ms", type=float, help="mean injected latency (default 50)")
    parser.add_argument("--jitter-ms", type=float, help="± jitter around it (default 10)")
    parser.add_argument(
        "--upstream-concurrency",
        type=int,
        help="KICKSERV_CONCURRENCY of the server under test (default: the server's default)",
    )
    parser.add_argument(
        "--load-tool",
        choices=("python", "wrk", "auto"),
        help="load generator (default: python, bench.loadgen; auto = wrk when installed)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated parts to run: dashboard,dispatch,history,receivable,entities,small,"
        "execution,memory,scale,state (state is in no run that does not name it)",
    )
    parser.add_argument(
        "--state",
        action="store_true",
        help="the state-modes part only (= --only state): the warm small query and the dashboard "
        "with no state store, the embedded store and Redis (needs redis-server)",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="the fault runs only (python -m bench.faults): reads under 500s, a rate limit and "
        "latency; Kickserv hanging and returning; RSS after a hostile corpus",
    )
    parser.add_argument("--results-dir", type=Path, help="where to write (default bench/results)")
    parser.add_argument(
        "--no-readme", action="store_true", help="do not refresh the table in bench/README.md"
    )


def options_from(args: argparse.Namespace) -> Options:
    mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    options = PROFILES[mode]
    changes: dict[str, Any] = {}
    names = (
        "customers",
        "scale_customers",
        "latency_ms",
        "jitter_ms",
        "load_tool",
        "upstream_concurrency",
    )
    for name in names:
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.only:
        changes["only"] = tuple(p.strip() for p in args.only.split(",") if p.strip())
    if args.state:
        changes["only"] = (*changes.get("only", ()), "state")
    if args.results_dir is not None:
        changes["results_dir"] = args.results_dir
    if args.no_readme:
        changes["refresh_readme"] = False
    return replace(options, **changes)


def _sample_invoice(base_url: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base_url}/demo/api/v2/invoices.json",
        params={"per_page": 1},
        auth=("demo-token", "demo-token"),
    )
    sample: dict[str, Any] = response.json()["invoices"][0]
    return sample


def execute(options: Options) -> dict[str, Any]:
    """The whole run; returns the figures (what is written to bench/results)."""
    from bench.calibrate import machine_ms
    from bench.execution import measure_execution
    from bench.load import load_tool
    from bench.memory import measure_invoice_index
    from bench.oracle import dataset_of
    from bench.runner import run_scenarios, say
    from bench.sandbox_process import running_sandbox_process
    from bench.scale import measure_scale
    from bench.scenarios import facts_of, scenarios
    from sandbox.config import SandboxConfig

    if options.wants("state"):
        from bench.redis_server import require_redis

        require_redis()  # before minutes of other parts: RedisMissing says what to install
    started = time.monotonic()
    run: dict[str, Any] = {
        "meta": {
            "date": date.today().isoformat(),
            "mode": options.mode,
            "customers": options.customers,
            "scale_customers": options.scale_customers,
            "seed": options.seed,
            "latency_ms": options.latency_ms,
            "jitter_ms": options.jitter_ms,
            "load_tool": load_tool(options.load_tool),
            "upstream_concurrency": options.upstream_concurrency,
            "only": list(options.only),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "machine_ms_start": machine_ms(),  # bench.calibrate: the machine's speed now
        }
    }
    config = SandboxConfig(
        customers=options.customers,
        seed=options.seed,
        latency_ms=options.latency_floor_ms,
        jitter_ms=2 * options.jitter_ms,
    )
    say(
        f"Sandbox: {options.customers} customers, {options.latency_ms:g} ± {options.jitter_ms:g} ms"
    )
    # The sandbox in its own process (not a thread of this one); its data rebuilt here from the seed.
    with running_sandbox_process(config) as sandbox:
        run["meta"]["sandbox_warmed_calls"] = sandbox.warm()
        store = sandbox.store()
        facts = facts_of(store, sandbox.today)
        run["meta"]["invoices"] = facts.invoices
        run["meta"]["sandbox"] = "own process (python -m sandbox)"
        wanted = any(options.wants(s.key) for s in scenarios())
        data = dataset_of(store)
        run["scenarios"] = run_scenarios(sandbox, data, facts, options) if wanted else []
        if options.wants("state"):
            from bench.state_modes import measure_state_modes

            run["state_modes"] = measure_state_modes(sandbox, facts, options, say)
        if options.wants("execution"):
            say("- execution floor")
            run["execution"] = measure_execution(
                sandbox.base_url, options.exec_repeats, options.exec_fields
            )
        sample = _sample_invoice(sandbox.base_url) if options.wants("memory") else None
    if sample is not None:
        say(f"- invoice index memory, {options.index_invoices:,} invoices")
        run["index_memory"] = measure_invoice_index(sample, options.index_invoices)
    if options.wants("scale"):
        say(f"- scale: {options.scale_customers:,} customers")
        run["scale"] = measure_scale(options)
    run["meta"]["seconds"] = round(time.monotonic() - started, 1)
    run["meta"]["machine_ms_end"] = machine_ms()
    return run


def run(args: argparse.Namespace) -> int:
    from bench.redis_server import RedisMissing
    from bench.report import write

    if args.faults:
        from bench import faults

        size = ["--tiny"] if args.tiny else ["--quick"] if args.quick else []
        where = [] if args.results_dir is None else ["--results-dir", str(args.results_dir)]
        return faults.main([*size, *where, *(["--no-readme"] if args.no_readme else [])])
    options = options_from(args)
    try:
        figures = execute(options)
    except RedisMissing as exc:
        print(f"python -m bench: {exc}", file=sys.stderr)
        return 2
    json_path, md_path = write(figures, options.results_dir, options.refresh_readme)
    print(md_path.read_text())
    print(f"Wrote {json_path} and {md_path} in {figures['meta']['seconds']} s.", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark kickserv-graph against the sandbox."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
