"""Fault runs (issue 11): the server under Kickserv's faults, measured from outside.

    .venv/bin/python -m bench.faults             # about two minutes; kickserv-graph bench --faults
    .venv/bin/python -m bench.faults --quick     # a reduced run; --tiny: seconds (tests/bench)

Each part runs a fresh ``kickserv-graph serve`` process (``bench.processes``) against a sandbox on
a free 127.0.0.1 port, and talks to it over HTTP from this process:

1. **Mixed reads under faults**: the sandbox answers 10% of calls 500, allows 60 requests a second
   per token (429 with ``Retry-After`` past it) and delays every call 50 ms. ``reads`` reads from
   ``clients`` clients (a customer; a customer with its jobs and their tasks; a page of customers;
   the employees). Each answer is **full** (HTTP 200, data, no error), **partial** (data and
   errors) or **failed**; the share of upstream calls answered 429 is from the sandbox's log.
2. **Kickserv hangs, then returns**: every call hangs; ``clients`` clients read customers not read
   before (so the cache cannot answer). **Time to an error** is how long a read took to fail while
   Kickserv hung (median and longest). Then Kickserv returns, the clients go on, and **recovery**
   is the time after the return from which every read started was answered fully.
3. **RSS after the hostile corpus** (``bench.hostile``): the server's resident memory before,
   after, and at its peak, with the corpus sent by 8 clients; and how its answers were spread over
   statuses (any 5xx is counted).

Results go to ``bench/results/<date>-faults.json`` and ``.md``; a full-size run also rewrites the
``faults`` block of bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from bench.hostile import corpus
from bench.options import RESULTS_DIR
from bench.processes import ServerProcess, running_ours
from graph.server.settings import Settings
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

README = Path(__file__).resolve().parent / "README.md"
START, END = "<!-- faults:start -->", "<!-- faults:end -->"

CUSTOMER = "query($n: Int!) { customer(number: $n) { number name } }"
CUSTOMER_JOBS = """query($n: Int!) {
  customer(number: $n) { number name jobs(first: 3) { nodes { number name tasks { id } } } } }"""
CUSTOMERS = (
    "query($after: String) { customers(first: 10, after: $after) { nodes { number name } } }"
)
EMPLOYEES = "{ employees { number name } }"


@dataclass(frozen=True)
class FaultOptions:
    mode: str = "full"
    customers: int = 2000
    reads: int = 500
    clients: int = 32
    error_rate: float = 0.10
    rate_limit: int = 60  # per token per second
    latency_ms: float = 50.0
    hang_seconds: float = 8.0  # Kickserv hangs this long (past the read deadline)
    after_seconds: float = 5.0  # reads go on this long after it returns
    read_deadline_s: float | None = None  # None: the server's default (KICKSERV_READ_DEADLINE_S)
    documents: int = 600
    document_bytes: int = 950_000
    seed: int = 1
    results_dir: Path = RESULTS_DIR
    refresh_readme: bool = True


FULL = FaultOptions()
QUICK = replace(FULL, mode="quick", reads=200, documents=150, refresh_readme=False)
TINY = replace(
    FULL,
    mode="tiny",
    customers=150,
    reads=30,
    clients=8,
    hang_seconds=1.5,
    after_seconds=1.0,
    read_deadline_s=1.0,
    documents=6,
    document_bytes=50_000,
    refresh_readme=False,
)
PROFILES = {"full": FULL, "quick": QUICK, "tiny": TINY}


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def outcome(response: httpx.Response | None) -> str:
    """full, partial or failed."""
    if response is None or response.status_code != 200:
        return "failed"
    try:
        body = response.json()
    except ValueError:
        return "failed"
    if not isinstance(body, dict) or body.get("data") is None:
        return "failed"
    return "partial" if body.get("errors") else "full"


@dataclass(frozen=True)
class Read:
    started: float
    ended: float
    outcome: str


async def _read(http: httpx.AsyncClient, url: str, query: str, variables: Any) -> Read:
    started = time.monotonic()
    try:
        response: httpx.Response | None = await http.post(
            url, json={"query": query, "variables": variables}
        )
    except httpx.HTTPError:
        response = None
    return Read(started, time.monotonic(), outcome(response))


def _server(
    sandbox: RunningSandbox, options: FaultOptions, name: str
) -> AbstractContextManager[ServerProcess]:
    env = {"GRAPH_LOG_LEVEL": "ERROR", "GRAPH_ENV": "production"}
    if options.read_deadline_s is not None:
        env["KICKSERV_READ_DEADLINE_S"] = str(options.read_deadline_s)
    return running_ours(
        name,
        sandbox.base_url,
        loaders=True,
        cache=True,
        concurrency=Settings().kickserv_concurrency,
        env=env,
    )


def _knobs(sandbox: RunningSandbox, **changes: Any) -> None:
    errors = sandbox.state.knobs.update(changes)
    if errors:
        raise RuntimeError(f"the sandbox refused knobs: {errors}")


# -- 1. mixed reads under faults ---------------------------------------------------------------


async def mixed_reads(url: str, options: FaultOptions) -> list[Read]:
    reads: list[Read] = []
    left = iter(range(options.reads))

    async def client(number: int, http: httpx.AsyncClient) -> None:
        draw = random.Random(options.seed * 1000 + number)
        for _ in left:
            kind = draw.random()
            n = draw.randint(1, min(options.customers, 120))
            if kind < 0.5:
                reads.append(await _read(http, url, CUSTOMER, {"n": n}))
            elif kind < 0.8:
                reads.append(await _read(http, url, CUSTOMER_JOBS, {"n": n}))
            elif kind < 0.95:
                reads.append(await _read(http, url, CUSTOMERS, {"after": None}))
            else:
                reads.append(await _read(http, url, EMPLOYEES, {}))

    limits = httpx.Limits(max_connections=options.clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(options.clients)))
    return reads


def shares(reads: list[Read]) -> dict[str, float]:
    counts = Counter(r.outcome for r in reads)
    return {k: round(counts[k] / max(1, len(reads)), 4) for k in ("full", "partial", "failed")}


def measure_mixed(options: FaultOptions) -> dict[str, Any]:
    config = SandboxConfig(customers=options.customers, seed=options.seed)
    with running_sandbox(config) as sandbox, _server(sandbox, options, "faults") as server:
        _knobs(
            sandbox,
            latency_ms=options.latency_ms,
            error_rate=options.error_rate,
            rate_limit=options.rate_limit,
        )
        sandbox.reset_requests()
        started = time.monotonic()
        reads = asyncio.run(mixed_reads(server.url, options))
        wall = time.monotonic() - started
        statuses = Counter(r["status"] for r in sandbox.requests())
    calls = sum(statuses.values())
    latencies = [r.ended - r.started for r in reads]
    return {
        "reads": len(reads),
        "clients": options.clients,
        **shares(reads),
        "upstream_calls": calls,
        "upstream_429_share": round(statuses[429] / max(1, calls), 4),
        "upstream_500_share": round(statuses[500] / max(1, calls), 4),
        "wall_s": round(wall, 2),
        "p50_s": round(statistics.median(latencies), 3),
        "p99_s": round(sorted(latencies)[int(0.99 * (len(latencies) - 1))], 3),
    }


# -- 2. Kickserv hangs, then returns -----------------------------------------------------------


async def hang_and_return(
    url: str, options: FaultOptions, hang: Callable[[], None], back: Callable[[], None]
) -> tuple[list[Read], float, float]:
    """Reads of customers never read before, while Kickserv hangs and after it returns; the
    times (monotonic) it began hanging and came back."""
    reads: list[Read] = []
    numbers = iter(range(1, options.customers + 1))
    hang()
    hung_at = time.monotonic()
    back_at = hung_at + options.hang_seconds
    stop = back_at + options.after_seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            n = next(numbers, None)
            if n is None:
                return
            reads.append(await _read(http, url, CUSTOMER, {"n": n}))
            await asyncio.sleep(0.05)

    async def restore() -> None:
        await asyncio.sleep(max(0.0, back_at - time.monotonic()))
        back()

    limits = httpx.Limits(max_connections=options.clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(restore(), *(client(http) for _ in range(options.clients)))
    return reads, hung_at, back_at


def recovery(reads: list[Read], back_at: float) -> dict[str, Any]:
    after = [r for r in reads if r.started >= back_at]
    missed = [r for r in after if r.outcome != "full"]
    return {
        "reads_after_return": len(after),
        "not_full_after_return": len(missed),
        # From the return, the time after which every read started was answered fully.
        "recovery_s": round(max((r.started - back_at for r in missed), default=0.0), 3),
        "not_full_from_1s": sum(1 for r in missed if r.started >= back_at + 1.0),
    }


def measure_hang(options: FaultOptions) -> dict[str, Any]:
    config = SandboxConfig(customers=options.customers, seed=options.seed)
    with running_sandbox(config) as sandbox, _server(sandbox, options, "hang") as server:
        _knobs(sandbox, latency_ms=options.latency_ms)
        hang_rule = {"method": "GET", "path": "*", "action": "timeout", "hang_s": 120}

        reads, _, back_at = asyncio.run(
            hang_and_return(
                server.url,
                options,
                lambda: _knobs(sandbox, faults=[hang_rule]),
                lambda: _knobs(sandbox, faults=[]),
            )
        )
    during = [r for r in reads if r.started < back_at - 0.0 and r.ended <= back_at]
    errors = [r.ended - r.started for r in during if r.outcome != "full"]
    return {
        "clients": options.clients,
        "hang_s": options.hang_seconds,
        "read_deadline_s": options.read_deadline_s,
        "reads_while_hanging": len(during),
        "answered_fully_while_hanging": sum(1 for r in during if r.outcome == "full"),
        "time_to_error_p50_s": round(statistics.median(errors), 3) if errors else None,
        "time_to_error_max_s": round(max(errors), 3) if errors else None,
        **recovery(reads, back_at),
    }


# -- 3. RSS after the hostile corpus ------------------------------------------------------------


async def send_corpus(url: str, options: FaultOptions) -> Counter[str]:
    cases = iter(corpus(documents=options.documents, document_bytes=options.document_bytes))
    statuses: Counter[str] = Counter()

    async def client(http: httpx.AsyncClient) -> None:
        for case in cases:
            hostile = case()
            try:
                response = await http.post(url, content=hostile.body, headers=hostile.headers)
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

    async with httpx.AsyncClient(timeout=120) as http:
        await asyncio.gather(*(client(http) for _ in range(8)))
    return statuses


def _memory(server: ServerProcess) -> tuple[float | None, float | None]:
    rss, peak = server.memory_mb()
    return (None if rss is None else round(rss, 1)), (None if peak is None else round(peak, 1))


def measure_hostile(options: FaultOptions) -> dict[str, Any]:
    config = SandboxConfig(customers=options.customers, seed=options.seed)
    with running_sandbox(config) as sandbox, _server(sandbox, options, "hostile") as server:
        before, _ = _memory(server)
        statuses = asyncio.run(send_corpus(server.url, options))
        after, peak = _memory(server)
    return {
        "requests": sum(statuses.values()),
        "documents": options.documents,
        "document_bytes": options.document_bytes,
        "statuses": dict(sorted(statuses.items())),
        "answers_5xx": sum(n for s, n in statuses.items() if s.startswith("5")),
        "rss_mb_before": before,
        "rss_mb_after": after,
        "peak_rss_mb": peak,
    }


# -- the run ------------------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], bool]
TARGETS: tuple[tuple[str, Check], ...] = (
    ("reads answered fully >= 99%", lambda f: f["mixed"]["full"] >= 0.99),
    ("upstream calls answered 429 <= 5%", lambda f: f["mixed"]["upstream_429_share"] <= 0.05),
    (
        "an error within the read deadline while Kickserv hangs",
        lambda f: (
            f["hang"]["time_to_error_max_s"] is not None
            and f["hang"]["time_to_error_max_s"] <= f["meta"]["read_deadline_s"] + 0.5
        ),
    ),
    ("full service <= 1 s after Kickserv returns", lambda f: f["hang"]["recovery_s"] <= 1.0),
    (
        "RSS <= 256 MB after the hostile corpus",
        lambda f: (f["hostile"]["rss_mb_after"] or 0) <= 256,
    ),
    ("no 5xx over the hostile corpus", lambda f: f["hostile"]["answers_5xx"] == 0),
)


def run(options: FaultOptions) -> dict[str, Any]:
    deadline = options.read_deadline_s or Settings().kickserv_read_deadline
    figures: dict[str, Any] = {
        "meta": {
            "date": date.today().isoformat(),
            "mode": options.mode,
            "customers": options.customers,
            "error_rate": options.error_rate,
            "rate_limit": options.rate_limit,
            "latency_ms": options.latency_ms,
            "read_deadline_s": deadline,
        }
    }
    started = time.monotonic()
    say(f"Mixed reads under faults: {options.reads} reads, {options.clients} clients")
    figures["mixed"] = measure_mixed(options)
    say(f"Kickserv hangs {options.hang_seconds:g} s, then returns")
    figures["hang"] = measure_hang(options)
    say(f"Hostile corpus: {options.documents} documents of {options.document_bytes:,} bytes, ...")
    figures["hostile"] = measure_hostile(options)
    figures["targets"] = [{"target": name, "met": bool(check(figures))} for name, check in TARGETS]
    figures["meta"]["seconds"] = round(time.monotonic() - started, 1)
    return figures


def _pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def block(figures: dict[str, Any], report_name: str) -> str:
    meta, mixed, hang, hostile = (figures[k] for k in ("meta", "mixed", "hang", "hostile"))
    met = {t["target"]: t["met"] for t in figures["targets"]}

    def mark(name: str) -> str:
        return "met" if met[name] else "**missed**"

    names = [name for name, _ in TARGETS]
    lines = [
        START,
        f"Fault run of {meta['date']}: [{report_name}](results/{report_name}) "
        f"({meta['customers']} customers; Kickserv answering {_pct(meta['error_rate'])} of calls "
        f"500, {meta['rate_limit']} requests a second per token, {meta['latency_ms']:g} ms a call; "
        f"read deadline {meta['read_deadline_s']:g} s; 2 shared CPUs; the run took "
        f"{meta['seconds']:g} s).",
        "",
        "| figure | this run | target |",
        "| --- | --- | --- |",
        f"| reads answered fully / partly / failed ({mixed['reads']} reads, {mixed['clients']} "
        f"clients) | {_pct(mixed['full'])} / {_pct(mixed['partial'])} / {_pct(mixed['failed'])} "
        f"| >= 99% full: {mark(names[0])} |",
        f"| upstream calls answered 429 (of {mixed['upstream_calls']}) | "
        f"{_pct(mixed['upstream_429_share'])} | <= 5%: {mark(names[1])} |",
        f"| read latency p50 / p99 under faults | {mixed['p50_s']:g} s / {mixed['p99_s']:g} s | |",
        f"| time to an error while Kickserv hangs (median / longest, {hang['reads_while_hanging']} "
        f"reads) | {hang['time_to_error_p50_s']} s / {hang['time_to_error_max_s']} s | within the "
        f"deadline: {mark(names[2])} |",
        f"| full service after Kickserv returns (reads not full after it: "
        f"{hang['not_full_after_return']} of {hang['reads_after_return']}; from 1 s: "
        f"{hang['not_full_from_1s']}) | {hang['recovery_s']:g} s | <= 1 s: {mark(names[3])} |",
        f"| RSS before / after / peak, hostile corpus ({hostile['requests']} requests, "
        f"{hostile['documents']} documents of {hostile['document_bytes']:,} bytes) | "
        f"{hostile['rss_mb_before']} / {hostile['rss_mb_after']} / {hostile['peak_rss_mb']} MB | "
        f"<= 256 MB after: {mark(names[4])} |",
        f"| 5xx answers over the hostile corpus | {hostile['answers_5xx']} | 0: {mark(names[5])} |",
        END,
    ]
    return "\n".join(lines)


def write(figures: dict[str, Any], options: FaultOptions) -> Path:
    options.results_dir.mkdir(parents=True, exist_ok=True)
    suffix = "faults" if options.mode == "full" else f"faults-{options.mode}"
    stem = f"{figures['meta']['date']}-{suffix}"
    (options.results_dir / f"{stem}.json").write_text(json.dumps(figures, indent=2) + "\n")
    report = f"# Fault run\n\n{block(figures, stem + '.md')}\n"
    (options.results_dir / f"{stem}.md").write_text(report)
    if options.refresh_readme and options.mode == "full":
        text = README.read_text(encoding="utf-8")
        start, end = text.index(START), text.index(END) + len(END)
        README.write_text(text[:start] + block(figures, stem + ".md") + text[end:])
    return options.results_dir / f"{stem}.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a reduced run (no README refresh)")
    size.add_argument("--tiny", action="store_true", help="a seconds-long smoke run (tests)")
    parser.add_argument("--results-dir", type=Path, help="where to write (default bench/results)")
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md alone")
    args = parser.parse_args(argv)
    options = PROFILES["tiny" if args.tiny else "quick" if args.quick else "full"]
    if args.results_dir is not None:
        options = replace(options, results_dir=args.results_dir)
    if args.no_readme:
        options = replace(options, refresh_readme=False)
    figures = run(options)
    path = write(figures, options)
    print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
