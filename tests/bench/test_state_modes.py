"""The state-modes part of the bench (``python -m bench --state``) and the record-cache comparison
(``python -m bench.record_cache``, part of it) work end to end in a tiny configuration, against a real
``redis-server``: shapes and exact counts are checked, never timings.

Without ``redis-server`` these fail, with the way to fix it; ``KICKSERV_GRAPH_ALLOW_NO_REDIS=1``
skips them instead (as tests/state does).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.cli import execute
from bench.options import TINY
from bench.record_cache import report
from bench.redis_server import NO_REDIS
from bench.report import refresh_state_block, write
from bench.state_modes import MODES

ROOT = Path(__file__).resolve().parents[2]


def latest_run(results: Path) -> Path:
    """scripts/figures.py's choice of the newest full run (a script, not a package)."""
    spec = importlib.util.spec_from_file_location("figures", ROOT / "scripts" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:  # tests/test_docs.py may have loaded it
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    found: Path = module.latest_run(results)
    return found


@pytest.fixture(scope="module", autouse=True)
def redis_installed() -> None:
    missing = next((b for b in ("redis-server", "redis-cli") if shutil.which(b) is None), None)
    if missing is not None:
        message = NO_REDIS.format(missing=missing)
        if os.environ.get("KICKSERV_GRAPH_ALLOW_NO_REDIS") == "1":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)


@pytest.fixture(scope="module")
def state_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    options = replace(
        TINY,
        only=("state",),
        results_dir=tmp_path_factory.mktemp("results"),
        refresh_readme=False,
        state_cache_off=False,  # the same code with one more setting: seconds saved
        state_log_entries=8,
    )
    run = execute(options)
    write(run, options.results_dir, refresh_readme=False)
    return run, options.results_dir


def test_the_three_modes_are_measured_side_by_side(
    state_run: tuple[dict[str, Any], Path],
) -> None:
    run, _ = state_run
    assert run["scenarios"] == []  # only the part asked for ran
    [measured] = run["state_modes"]["runs"]
    assert measured["response_cache"] is True
    rows = {(row["scenario"], row["mode"]): row for row in measured["rows"]}
    assert set(rows) == {(s, m) for s in ("small", "dashboard") for m in MODES}
    for row in rows.values():
        assert row["requests"] > 0 and row["bad"] == 0, row
        assert row["rps"] > 0 and row["p50_ms"] > 0 and row["p99_ms"] >= row["p50_ms"]
        assert row["warm_calls"] == 0  # warm: answered without Kickserv
        assert row["rps_vs_memory"] is not None
        assert ("redis" in row) is (row["mode"] == "redis")


def test_redis_round_trips_are_counted_and_at_most_one_per_warm_request(
    state_run: tuple[dict[str, Any], Path],
) -> None:
    run, _ = state_run
    for row in run["state_modes"]["runs"][0]["rows"]:
        if row["mode"] != "redis":
            continue
        redis = row["redis"]
        # Issue 10: a warm read costs at most one Redis round-trip: the tenant's generation (a
        # plain GET; its write log is read only when that moved, and the warm loop writes nothing).
        assert redis["round_trips_per_request"] == 1.0, redis
        assert redis["sent_per_request"] == {"get": 1.0}, redis
        assert redis["script_calls_per_request"] == 0.0, redis
        assert redis["commands_per_request"] == pytest.approx(1.0, abs=0.05), redis


def test_a_state_run_is_written_where_figures_do_not_take_it_for_a_full_run(
    state_run: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    _, results_dir = state_run
    [json_file] = results_dir.glob("*.json")
    assert json_file.stem.endswith("-tiny-state")
    text = (results_dir / f"{json_file.stem}.md").read_text()
    assert "## State modes" in text and "| redis |" in text and "## Scenarios" not in text
    assert "Shared caches of records" in text
    # Even a full-size state-only run is not "the newest full run" that scripts/figures.py reads.
    full = json.loads(json_file.read_text())
    full["meta"]["mode"] = "full"
    json_path, _ = write(full, tmp_path, refresh_readme=False)
    assert json_path.stem == f"{full['meta']['date']}-state"
    with pytest.raises(SystemExit, match="no full benchmark run"):
        latest_run(tmp_path)
    # and its block in bench/README.md is rewritten, nothing else
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Bench\n\n<!-- state-modes:start -->\nSTALE\n<!-- state-modes:end -->\n\nAfter.\n"
    )
    refresh_state_block(readme, full, f"{json_path.stem}.md")
    refreshed = readme.read_text()
    assert "STALE" not in refreshed and "| on | small (32 clients) | redis |" in refreshed
    assert "one MGET per level" in refreshed and refreshed.endswith("After.\n")


def test_the_record_cache_comparison_counts_round_trips(
    state_run: tuple[dict[str, Any], Path],
) -> None:
    figures = state_run[0]["state_modes"]["record_cache"]
    dashboard = figures["dashboard"]
    # The root level reads the customers page and, with it, page 1 of /tasks.json (the planner's
    # read ahead for the Job.tasks level, resolvers/plan.py); every entry is read once.
    assert figures["levels"][0] == 2 and sum(figures["levels"]) == figures["entries"]
    assert dashboard["per_process"]["redis_round_trips"] == 1
    assert dashboard["redis_get"]["redis_round_trips"] == 1 + figures["entries"]
    assert dashboard["redis_mget"]["redis_round_trips"] == 1 + len(figures["levels"])
    repeats = figures["repeats"]
    assert figures["redis_commands_in_timed_runs"]["mget"] == repeats * len(figures["levels"])
    assert figures["write_log_reads"] == 3 * repeats
    assert "one MGET per level" in report(figures)
