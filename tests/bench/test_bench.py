"""The benchmark harness works end to end in its tiny mode (figures are checked for shape and for
exact upstream counts, never for timings)."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from bench.cli import execute
from bench.measure import typical
from bench.options import TINY
from bench.report import refresh_table, write
from bench.rounds import expected_slowest_ms, expected_upstream_ms, rounds_of, upstream_critical_ms


def _entry(start_ms: int, duration_ms: float) -> dict[str, object]:
    return {"time": f"2026-11-21T10:00:00.{start_ms:03d}+00:00", "duration_ms": duration_ms}


def test_rounds_are_the_longest_chain_of_calls_that_waited_for_another() -> None:
    parallel = [_entry(0, 50), _entry(1, 52), _entry(2, 49)]
    assert rounds_of(parallel) == 1
    chained = [*parallel, _entry(60, 50), _entry(61, 50), _entry(120, 50)]
    assert rounds_of(chained) == 3
    assert rounds_of([]) == 0
    # In time, the chain is the slowest call of each round: 52 + 50 + 50.
    assert upstream_critical_ms(chained) == 152.0


def test_the_expected_upstream_floor_is_the_mean_slowest_call_of_each_level() -> None:
    # Against the sandbox's own draws: the latency it injects (sandbox/gate.py) is
    # low + dice.random() * jitter; the slowest of each level, averaged over many runs.
    dice = random.Random(7)
    runs = 4000
    for calls in (1, 2, 8, 48):
        mean = sum(max(40 + dice.random() * 20 for _ in range(calls)) for _ in range(runs)) / runs
        assert abs(mean - expected_slowest_ms(calls, 40, 60)) < 0.3
    assert expected_slowest_ms(1, 40, 60) == 50.0
    assert expected_slowest_ms(0, 40, 60) == 0.0
    # The dashboard's cheapest plan: 2 calls, then 48 at once.
    assert expected_upstream_ms([2, 48], 40, 60, 64) == round(
        40 + 20 * 2 / 3 + 40 + 20 * 48 / 49, 1
    )
    # A level of more calls than may be in flight goes in waves: 130 at 64 is 64, 64, then 2.
    assert expected_upstream_ms([130], 40, 60, 64) == round(
        2 * (40 + 20 * 64 / 65) + 40 + 40 / 3, 1
    )


def test_cold_runs_are_reported_as_the_median_run_and_judged_at_the_worst() -> None:
    def run(wall: float, calls: int, rounds: int, said: int | None) -> dict[str, object]:
        return {
            "wall_ms": wall,
            "calls": calls,
            "rounds": rounds,
            "reported_rounds": said,
            "upstream_critical_ms": wall - 20,
        }

    runs = [run(130, 50, 2, 2), run(190, 50, 3, 2), run(120, 51, 2, 2), run(125, 50, 2, 2)]
    cold = typical(runs)
    # the run of (lower) median wall, its critical path with it
    assert cold["wall_ms"] == 125 and cold["upstream_critical_ms"] == 105
    # the most calls and rounds any run made; every wall, in run order
    assert cold["calls"] == 51 and cold["rounds"] == 3 and cold["reported_rounds"] == 2
    assert cold["walls_ms"] == [130, 190, 120, 125]
    assert typical([run(100, 1, 1, None), run(90, 1, 1, 1)])["reported_rounds"] is None


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    options = replace(
        TINY,
        only=("dashboard", "entities", "small", "execution", "memory"),
        results_dir=tmp_path_factory.mktemp("results"),
        refresh_readme=False,
    )
    run = execute(options)
    write(run, options.results_dir, refresh_readme=False)
    return run, options.results_dir


def test_tiny_run_measures_every_chosen_part(tiny_run: tuple[dict[str, object], Path]) -> None:
    run, _ = tiny_run
    scenarios = {s["key"]: s for s in run["scenarios"]}  # type: ignore[attr-defined]
    assert set(scenarios) == {"dashboard", "entities", "small"}
    for s in scenarios.values():
        cold, minimum = s["ours"]["cold"], s["minimum"]
        assert cold["calls"] >= minimum["calls"] > 0
        assert cold["reported_calls"] == cold["calls"]  # extensions.upstream agrees with the log
        assert len(cold["walls_ms"]) == TINY.cold_runs  # cold on that many fresh servers
        assert s["ours"]["warm"]["calls"] == 0  # answered from the shared cache
        assert s["off"]["cold"]["calls"] >= cold["calls"]
        assert s["ours"]["load"]["requests"] > 0 and s["ours"]["load"]["bad"] == 0
        assert s["machine_ms"] > 0  # the machine's speed as its cold runs began
        assert s["expected_upstream_ms"] >= minimum["rounds"] * TINY.latency_floor_ms
    meta = run["meta"]
    assert meta["machine_ms_start"] > 0 and meta["machine_ms_end"] > 0  # type: ignore[index]
    # The peers answered the same data, and the ceiling ran.
    for key in ("dashboard", "small"):
        for peer in ("ours_no_response_cache", "stock", "stock_cached", "lean"):
            assert scenarios[key][peer]["same_answer"] is True, (key, peer)
            assert scenarios[key][peer]["load"]["bad"] == 0, (key, peer)
        # Peers with a cache read Kickserv once: warm, nothing; stock every time.
        assert scenarios[key]["stock_cached"]["warm"]["calls"] == 0
        assert scenarios[key]["lean"]["warm"]["calls"] == 0
        assert scenarios[key]["stock"]["warm"]["calls"] == scenarios[key]["stock"]["cold"]["calls"]
        if "mesh" in scenarios[key]:  # its npm packages are installed here
            assert scenarios[key]["mesh"]["same_answer"] is True
    # The minimum is the oracle's, from the seeded data: never above what any peer needed.
    for key in ("dashboard", "small"):
        peers = [scenarios[key][p]["cold"]["calls"] for p in ("stock", "lean")]
        assert scenarios[key]["minimum"]["calls"] <= min(peers)
    assert scenarios["small"]["ceiling"]["load"]["requests"] > 0
    side = scenarios["small"]["interleaved"]  # the four small-query loads side by side
    for key in ("ours", "ours_no_response_cache", "lean", "ceiling"):
        assert side[key]["rps"] > 0 and side[key]["bad"] == 0, key
    assert side["ours"]["upstream_calls"] == side["lean"]["upstream_calls"] == 0  # all warm
    execution = run["execution"]
    assert execution["fields"] > 0 and execution["ours_ms"] > 0  # type: ignore[index]
    assert run["index_memory"]["invoices"] == TINY.index_invoices  # type: ignore[index]


def test_tiny_run_writes_json_and_markdown(tiny_run: tuple[dict[str, object], Path]) -> None:
    run, results_dir = tiny_run
    [json_file] = results_dir.glob("*.json")
    [md_file] = results_dir.glob("*.md")
    assert json.loads(json_file.read_text())["meta"]["mode"] == "tiny"
    report = md_file.read_text()
    assert "| dashboard |" in report and "## Targets" in report
    readme = results_dir / "README.md"
    readme.write_text(
        "# Bench\n\n<!-- results:start -->\nSTALE-TABLE\n<!-- results:end -->\n\nAfter.\n"
    )
    refresh_table(readme, run, md_file.name)
    refreshed = readme.read_text()
    assert (
        "STALE-TABLE" not in refreshed
        and "| small |" in refreshed
        and refreshed.endswith("After.\n")
    )
