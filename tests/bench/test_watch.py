"""bench/watch.py's smallest run: it measures, writes its files, and its figures add up."""

from __future__ import annotations

import json
from pathlib import Path

from bench import watch


async def test_a_tiny_watcher_run_writes_consistent_figures(tmp_path: Path) -> None:
    tiny = ["--sizes", "40", "--changes", "2", "--interval", "0.3", "--latency-ms", "0"]
    run = await watch.main([*tiny, "--out", str(tmp_path)])
    (idle,) = run["idle"]
    assert idle["calls_per_pass"] >= 6  # one page at least of each of the six listings
    assert idle["cycles_per_pass"] == 1
    assert idle["calls_per_minute"] == idle["calls_per_pass"] * 60 / idle["interval_s"]
    (latency,) = run["latency"]
    assert 0 < latency["median_s"] <= latency["max_s"]
    written = json.loads((tmp_path / f"{run['meta']['date']}-watch.json").read_text())
    assert written == run
    assert "Idle polling cost" in (tmp_path / f"{run['meta']['date']}-watch.md").read_text()
