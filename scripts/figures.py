"""Write every benchmark figure of README.md, CHANGELOG.md and bench/README.md from one source.

    .venv/bin/python scripts/figures.py            # print the blocks
    .venv/bin/python scripts/figures.py --write    # and replace them in the three files
    .venv/bin/python scripts/figures.py --check    # exit 1 when a file differs from its blocks

The source is the latest full run under bench/results/ (``kickserv-graph bench`` writes it). Each
block sits between markers such as ``<!-- bench-summary:start -->`` and ``<!-- bench-summary:end -->``;
text outside the markers carries no measured figure. bench/README.md's results table
(``<!-- results:start -->``) is bench/report.py's own rendering of the same run.

The README's other measured figures, the examples' upstream calls and rounds and the tour's answers
(60 customers, seed 4), come from scripts/example_costs.py; tests/test_docs.py and
tests/graph/test_examples.py fail when any block differs from what its script writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# What each bench scenario is called in prose.
NAMES = {
    "dashboard": "dashboard",
    "dispatch": "dispatch week",
    "history": "customer history",
    "receivable": "accounts receivable",
    "entities": "`_entities` for 100 invoices",
    "small": "the small query",
}


def latest_run(results: Path = RESULTS) -> Path:
    """The newest full run (``<date>.json``; quick and tiny runs are named ``<date>-<mode>.json``)."""
    runs = sorted(p for p in results.glob("*.json") if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.stem))
    if not runs:
        raise SystemExit(f"no full benchmark run in {results} (run `kickserv-graph bench`)")
    return runs[-1]


def load(path: Path) -> dict[str, Any]:
    run: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if run["meta"]["mode"] != "full":
        raise SystemExit(f"{path} is a {run['meta']['mode']} run, not a full one")
    return run


# -- formatting --------------------------------------------------------------------------------


def count(value: float) -> str:
    """A count or a rate: whole, with thousands separators."""
    return f"{round(value):,}"


def ms(value: float) -> str:
    return f"{round(value):,}"


def one(value: float) -> str:
    """One decimal place."""
    return f"{value:,.1f}"


def times(value: float) -> str:
    return f"{value:.2f}x"


def percent(share: float) -> str:
    return f"{round(100 * share)}%"


def span(values: list[float], fmt: Callable[[float], str]) -> str:
    low, high = fmt(min(values)), fmt(max(values))
    return low if low == high else f"{low} to {high}"


def listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def wrapped(markdown: str, width: int = 100) -> str:
    """Paragraphs and list items of ``markdown`` wrapped as the rest of the docs are."""
    lines = []
    for line in markdown.split("\n"):
        if not line or line.startswith("|"):
            lines.append(line)
            continue
        indent = "  " if line.startswith("- ") else ""
        lines.append(
            textwrap.fill(
                line,
                width=width,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)


# -- the run, read -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    data: dict[str, Any]
    report: str  # the report's file name, e.g. 2026-11-21.md

    @property
    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = self.data["meta"]
        return meta

    def scenario(self, key: str) -> dict[str, Any]:
        found: dict[str, Any] = next(s for s in self.data["scenarios"] if s["key"] == key)
        return found

    @property
    def scenarios(self) -> list[dict[str, Any]]:
        scenarios: list[dict[str, Any]] = self.data["scenarios"]
        return scenarios

    def setup(self) -> str:
        m = self.meta
        return (
            f"{m['date']}; a sandbox of {count(m['customers'])} customers, "
            f"{m['latency_ms']:g} ± {m['jitter_ms']:g} ms per upstream call; at most "
            f"{m['upstream_concurrency']} upstream calls in flight per credential; "
            f"{m['cpus']} shared CPUs"
        )

    def calls(self, s: dict[str, Any]) -> int:
        value: int = s["ours"]["cold"]["calls"]
        return value

    def at_minimum(self, what: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        met = [s for s in self.scenarios if s["ours"]["cold"][what] <= s["minimum"][what]]
        return met, [s for s in self.scenarios if s not in met]

    def wall_ratio(self, s: dict[str, Any]) -> float:
        ratio: float = s["ours"]["cold"]["wall_ms"] / s["bound_ms"]
        return ratio

    def ours_ms(self, s: dict[str, Any]) -> float:
        """Cold wall time minus the upstream critical path as the sandbox timed it."""
        cold = s["ours"]["cold"]
        value: float = cold["wall_ms"] - cold["upstream_critical_ms"]
        return value

    def machine(self) -> str:
        """The machine's speed as the run began and ended (bench/calibrate.py), if recorded."""
        m = self.meta
        if m.get("machine_ms_start") is None:
            return ""
        return (
            f"; a fixed CPU workload took {m['machine_ms_start']:g} ms as it began and "
            f"{m['machine_ms_end']:g} ms as it ended (bench/calibrate.py)"
        )

    def room_left(self) -> str:
        """What the 1.2x target leaves for a server's own work once the upstream's expected
        floor (the oracle's levels, the sandbox's latency draws: bench.rounds) is waited out."""
        floors = [s for s in self.scenarios if s.get("expected_upstream_ms") is not None]
        if not floors:
            return ""
        return (
            " Waiting on Kickserv alone is expected to take "
            + listing([f"{s['key']} {ms(s['expected_upstream_ms'])}" for s in floors])
            + " ms (each of the oracle's levels as slow as its slowest call), which leaves "
            + listing(
                [
                    f"{s['key']} {ms(1.2 * s['bound_ms'] - s['expected_upstream_ms'])}"
                    for s in floors
                ]
            )
            + " ms of the 1.2x target for everything else."
        )

    def small(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        small = self.scenario("small")
        return small["ours"]["load"], small["stock"]["load"], small["ceiling"]["load"]

    def small_pair(self, first: str, second: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Two servers' loads of the warm small query: from the interleaved run when they were
        measured side by side so, else from their separate loads."""
        small = self.scenario("small")
        side = small.get("interleaved")
        if side:
            return side[first], side[second]
        return small[first]["load"], small[second]["load"]

    def cache_hits(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Ours with response-cache hits and the HTTP ceiling."""
        return self.small_pair("ours", "ceiling")

    def execution_line(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The warm small query with the response cache off, ours and the lean handler's loads."""
        return self.small_pair("ours_no_response_cache", "lean")

    def mesh_calls(self) -> int | None:
        """GraphQL Mesh's cold calls on the dashboard (None: it did not run)."""
        mesh = self.scenario("dashboard").get("mesh")
        return None if mesh is None else int(mesh["cold"]["calls"])

    def vs_mesh(self) -> str:
        theirs = self.mesh_calls()
        ours = self.calls(self.scenario("dashboard"))
        if theirs is None:
            return "GraphQL Mesh did not run"
        return f"{ours} against GraphQL Mesh's {theirs} on the dashboard ({times(ours / theirs)})"


# -- the blocks --------------------------------------------------------------------------------


def readme_summary(run: Run) -> str:
    """README.md's Performance section: the headline of each target."""
    m, ex, memory = run.meta, run.data["execution"], run.data["index_memory"]
    ours, stock, _ceiling = run.small()
    hits, ceiling = run.cache_hits()
    executed, lean = run.execution_line()
    entities = run.scenario("entities")
    scale = run.data["scale"]["ours"]
    rounds_at_minimum, missed = run.at_minimum("rounds")
    rounds_met = [NAMES[s["key"]] for s in rounds_at_minimum]
    rounds_missed = [
        f"{NAMES[s['key']]} {s['ours']['cold']['rounds']} against {s['minimum']['rounds']} "
        f"(our server counts {s['ours']['cold'].get('reported_rounds', 'n/a')})"
        for s in missed
    ]
    _calls_met, calls_missed = run.at_minimum("calls")
    calls = [
        f"{NAMES[s['key']]} {run.calls(s)} (minimum {s['minimum']['calls']})"
        for s in run.scenarios
        if s["key"] not in ("entities",)
    ]
    headline_calls = (
        "**Upstream calls at most the oracle's minimum in every scenario**"
        if not calls_missed
        else "**Upstream calls above the oracle's minimum in "
        + listing([NAMES[s["key"]] for s in calls_missed])
        + "**"
    )
    rest = [run.ours_ms(s) for s in run.scenarios]
    lines = [
        f"Latest full run: [bench/results/{run.report}](bench/results/{run.report}) "
        f"({run.setup()}: read the ratios). Its sandbox is larger than the examples table's, so its "
        "call counts differ from the table's.",
        "",
        f"- {headline_calls}: {listing(calls)}; {NAMES['entities']} costs "
        f"{run.calls(entities)} calls cold ({entities['off']['cold']['calls']} with loaders and "
        f"cache off) and {entities['ours']['warm']['calls']} warm; "
        f"{count(scale['list']['customers'])} customers listed in {scale['list']['calls']} calls.",
        f"- **Rounds** at the minimum for {listing(rounds_met)}"
        + (
            f"; {listing(rounds_missed)}: the sandbox's log, and in brackets the rounds our "
            "server saw itself."
            if rounds_missed
            else "."
        ),
        f"- **Against GraphQL Mesh**: {run.vs_mesh()} (target 0.8x).",
        f"- **Warm small query: response-cache hits at {percent(hits['rps'] / ceiling['rps'])} of "
        f"the HTTP ceiling** (target 60%; {count(hits['rps'])} against {count(ceiling['rps'])} "
        f"req/s side by side, {hits['concurrency']} clients; {count(ours['rps'])} in the "
        f"scenario's own load); **with the response cache off, "
        f"{times(executed['rps'] / lean['rps'])} the lean graphql-core handler** (target 1.0x; "
        f"{count(executed['rps'])} against {count(lean['rps'])}); stock Strawberry, which calls "
        f"Kickserv every time: {count(stock['rps'])}.",
        f"- **Cold wall time** is {span([run.wall_ratio(s) for s in run.scenarios], times)} the "
        f"minimum rounds x {m['latency_ms']:g} ms (target 1.2x); the report separates the "
        f"upstream critical path from ours ({span(rest, ms)} ms).",
        f"- **Execution** of a {count(ex['fields'])}-field result: {times(ex['ratio'])} "
        f"graphql-core's own (target 1.2x). **Invoice index** for {count(memory['invoices'])} "
        f"invoices: {one(memory['retained_mb'])} MB ({memory['bytes_per_invoice']} bytes per "
        "invoice; target 100 MB).",
    ]
    return "\n".join(lines)


def changelog_summary(run: Run) -> str:
    """CHANGELOG.md's Unreleased figures: where this release stands, from the same run."""
    ours, _stock, _ceiling = run.small()
    hits, ceiling = run.cache_hits()
    executed, lean = run.execution_line()
    ex, memory = run.data["execution"], run.data["index_memory"]
    _calls_met, calls_missed = run.at_minimum("calls")
    return (
        f"Measured in the latest full benchmark, [bench/results/{run.report}]"
        f"(bench/results/{run.report}) ({run.setup()}): upstream calls "
        + (
            "at most the oracle's minimum in every scenario"
            if not calls_missed
            else "above the oracle's minimum in " + listing([NAMES[s["key"]] for s in calls_missed])
        )
        + f", {run.vs_mesh()}; warm small query {count(ours['rps'])} req/s with response-cache "
        f"hits ({percent(hits['rps'] / ceiling['rps'])} of the HTTP ceiling side by side), and "
        f"{times(executed['rps'] / lean['rps'])} the lean graphql-core handler with the response "
        "cache off; execution "
        f"{times(ex['ratio'])} graphql-core; invoice index {one(memory['retained_mb'])} MB for "
        f"{count(memory['invoices'])} invoices ({memory['bytes_per_invoice']} bytes each)."
    )


def bench_standing(run: Run) -> str:
    """bench/README.md's "where the targets stand": every target with this run's figures."""
    m, ex, memory, scale = (
        run.meta,
        run.data["execution"],
        run.data["index_memory"],
        run.data["scale"],
    )
    ours, stock, _ceiling = run.small()
    hits, ceiling = run.cache_hits()
    _calls_met, calls_missed = run.at_minimum("calls")
    rounds_met, rounds_missed = run.at_minimum("rounds")
    executed, lean = run.execution_line()
    walls = {s["key"]: run.wall_ratio(s) for s in run.scenarios}
    wall_met = [k for k, r in walls.items() if r <= 1.2]
    wall_missed = [k for k, r in walls.items() if r > 1.2]
    listed, index = scale["ours"]["list"], scale["ours"]["index"]
    per_customer_kb = (
        (listed["rss_mb_after"] - scale["ours"]["idle_rss_mb"]) * 1000 / (listed["customers"])
    )

    minimum = scale["minimum"]
    list_minimum = (
        "both the minimum"
        if (listed["calls"], listed["rounds"])
        == (minimum["list"]["calls"], minimum["list"]["rounds"])
        else f"minimum {minimum['list']['calls']} and {minimum['list']['rounds']}"
    )
    index_minimum = (
        "the minimum"
        if index["calls"] == minimum["index"]["calls"]
        else f"minimum {minimum['index']['calls']}"
    )

    def met(ok: bool) -> str:
        return "met" if ok else "missed"

    per_scenario_calls = ", ".join(
        f"{s['key']} {run.calls(s)} against {s['minimum']['calls']}" for s in run.scenarios
    )
    off_calls = ", ".join(str(s["off"]["cold"]["calls"]) for s in run.scenarios)
    mesh_calls = run.mesh_calls()
    dashboard_calls = run.calls(run.scenario("dashboard"))
    lines = [
        f"Figures of the latest full run, [results/{run.report}](results/{run.report}) "
        f"({run.setup()}; the run took {m['seconds']:.0f} s{run.machine()}).",
        "",
        "- **Upstream calls at most the oracle's minimum: "
        + (
            "met in every scenario"
            if not calls_missed
            else "missed for " + listing([s["key"] for s in calls_missed])
        )
        + f"** ({per_scenario_calls}; at "
        f"{count(scale['customers'])} customers the listing {listed['calls']} and the invoice "
        f"index {index['calls']}, minimums {scale['minimum']['list']['calls']} and "
        f"{scale['minimum']['index']['calls']}). With loaders and cache off: "
        f"{off_calls}.",
        "- **Dashboard calls at most 0.8x GraphQL Mesh's: "
        + (
            "not measured (Mesh did not run)**."
            if mesh_calls is None
            else f"{met(dashboard_calls <= 0.8 * mesh_calls)}**, {run.vs_mesh()}."
        ),
        f"- **Rounds at the oracle's minimum: met for {listing([s['key'] for s in rounds_met])}"
        + (
            "; missed for "
            + listing(
                [
                    f"{s['key']} ({s['ours']['cold']['rounds']} against {s['minimum']['rounds']}; "
                    f"our server counts {s['ours']['cold'].get('reported_rounds', 'n/a')})"
                    for s in rounds_missed
                ]
            )
            if rounds_missed
            else ""
        )
        + ".**",
        "- **Cold wall within 1.2x of minimum rounds x latency: "
        + (f"met for {listing(wall_met)}" if wall_met else "met for none")
        + (
            "; missed for " + listing([f"{k} ({times(walls[k])})" for k in wall_missed])
            if wall_missed
            else ""
        )
        + ".** The rest after the upstream critical path (ours): "
        + listing([f"{s['key']} {ms(run.ours_ms(s))} ms" for s in run.scenarios])
        + "."
        + run.room_left(),
        f"- **Warm small query, response cache off, at least the lean graphql-core handler: "
        f"{met(executed['rps'] >= lean['rps'])}, {times(executed['rps'] / lean['rps'])}** "
        f"({count(executed['rps'])} against {count(lean['rps'])} req/s, "
        f"{executed['concurrency']} clients; stock Strawberry with a cache "
        f"{count(run.scenario('small')['stock_cached']['load']['rps'])}, calling Kickserv every "
        f"time {count(stock['rps'])}).",
        f"- **Response-cache hits at least 60% of the HTTP ceiling: "
        f"{met(hits['rps'] >= 0.6 * ceiling['rps'])}, "
        f"{percent(hits['rps'] / ceiling['rps'])}** ({count(hits['rps'])} against "
        f"{count(ceiling['rps'])} req/s side by side; {count(ours['rps'])} in the scenario's own "
        "load).",
        f"- **Execution of a {count(ex['fields'])}-field result: {met(ex['ratio'] <= 1.2)}, "
        f"{times(ex['ratio'])} graphql-core (target 1.2x)**: {ex['ours_ms']:g} ms against "
        f"{ex['floor_ms']:g} ms, median of {ex['repeats']}.",
        f"- **Invoice index for {count(memory['invoices'])} invoices: "
        f"{met(memory['retained_mb'] < 100)}, {one(memory['retained_mb'])} MB** "
        f"({memory['bytes_per_invoice']} bytes per invoice; target 100 MB); "
        f"{one(memory['peak_mb'])} MB at the peak of the build.",
        f"- **Scale ({count(scale['customers'])} customers, {count(scale['invoices'])} invoices).** "
        f"Listing every customer: {listed['calls']} calls and {listed['rounds']} rounds "
        f"({list_minimum}: a client pages with `after`), {listed['wall_ms'] / 1000:.1f} s against "
        f"{scale['bound_ms']['list'] / 1000:.1f} s; the server's RSS goes from "
        f"{one(scale['ours']['idle_rss_mb'])} MB idle to {one(listed['rss_mb_after'])} MB with "
        f"the customers cached (about {per_customer_kb:.0f} KB each). Invoice index: "
        f"{index['calls']} calls ({index_minimum}), "
        f"{index['rounds']} rounds against {scale['minimum']['index']['rounds']}, "
        f"{index['wall_ms'] / 1000:.1f} s, +{one(index['rss_growth_mb'])} MB RSS.",
    ]
    return "\n".join(lines)


def bench_results(run: Run) -> str:
    """bench/README.md's results table, exactly as bench/report.py writes it after a full run."""
    from bench.report import TABLE_END, TABLE_START, refresh_table

    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "README.md"
        scratch.write_text(f"{TABLE_START}\n{TABLE_END}\n", encoding="utf-8")
        refresh_table(scratch, run.data, run.report)
        text = scratch.read_text(encoding="utf-8")
    return text[len(TABLE_START) + 1 : text.index(TABLE_END) - 1]


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository
    name: str  # the marker's name: <!-- name:start --> ... <!-- name:end -->
    render: Callable[[Run], str]
    wrap: bool = True

    def body(self, run: Run) -> str:
        text = self.render(run)
        return wrapped(text) if self.wrap else text

    @property
    def markers(self) -> tuple[str, str]:
        return f"<!-- {self.name}:start -->", f"<!-- {self.name}:end -->"


BLOCKS = (
    Block("README.md", "bench-summary", readme_summary),
    Block("CHANGELOG.md", "bench-summary", changelog_summary),
    Block("bench/README.md", "bench-standing", bench_standing),
    Block("bench/README.md", "results", bench_results, wrap=False),
)


def current_run(results: Path = RESULTS) -> Run:
    path = latest_run(results)
    return Run(load(path), path.with_suffix(".md").name)


def block_in(text: str, markers: tuple[str, str]) -> str | None:
    """What stands between the markers now (None when they are missing)."""
    start, end = markers
    found = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), text, re.DOTALL)
    return None if found is None else found.group(1)


def replace_block(text: str, markers: tuple[str, str], body: str, where: str) -> str:
    """`text` with `body` between the markers (scripts/example_costs.py fills README.md's with
    this too); `where` names the file when the markers are missing."""
    start, end = markers
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{where} has no {start} ... {end} block to fill")
    return pattern.sub(lambda _m: f"{start}\n{body}\n{end}", text)


def stale_blocks(root: Path = ROOT, run: Run | None = None) -> list[str]:
    """Each block whose file text differs from what this script would write."""
    run = run or current_run(root / "bench" / "results")
    stale = []
    for block in BLOCKS:
        text = (root / block.path).read_text(encoding="utf-8")
        if block_in(text, block.markers) != block.body(run):
            stale.append(f"{block.path}: {block.markers[0]}")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="replace the blocks in the files")
    mode.add_argument("--check", action="store_true", help="exit 1 if a block is out of date")
    args = parser.parse_args(argv)
    run = current_run()
    if args.check:
        stale = stale_blocks(ROOT, run)
        for line in stale:
            print(f"out of date: {line} (run scripts/figures.py --write)", file=sys.stderr)
        return 1 if stale else 0
    for block in BLOCKS:
        body = block.body(run)
        if args.write:
            path = ROOT / block.path
            text = replace_block(path.read_text("utf-8"), block.markers, body, block.path)
            path.write_text(text, "utf-8")
        print(f"{block.path} {block.markers[0]}\n{body}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
