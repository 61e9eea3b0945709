"""The run's figures as JSON, a Markdown report, and the table in bench/README.md."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
TABLE_START, TABLE_END = "<!-- results:start -->", "<!-- results:end -->"
STATE_START, STATE_END = "<!-- state-modes:start -->", "<!-- state-modes:end -->"


WALL = 1.2  # cold wall against minimum rounds x latency
EXECUTION = 1.2  # our execution against graphql-core's
VS_MESH = 0.8  # dashboard calls against GraphQL Mesh's
CEILING = 0.6  # response-cache hits against the HTTP ceiling


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def targets(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with where this run stands."""
    found: list[dict[str, Any]] = []
    scenarios = run.get("scenarios", [])
    for s in scenarios:
        cold, minimum = s["ours"]["cold"], s["minimum"]
        found.append(
            {
                "target": f"{s['key']}: upstream calls <= the oracle's minimum",
                "value": f"{cold['calls']} vs {minimum['calls']}",
                "met": cold["calls"] <= minimum["calls"],
            }
        )
        found.append(
            {
                "target": f"{s['key']}: rounds <= the oracle's minimum rounds",
                "value": f"{cold['rounds']} vs {minimum['rounds']}",
                "met": cold["rounds"] <= minimum["rounds"],
            }
        )
        ratio = _ratio(cold["wall_ms"], s["bound_ms"])
        found.append(
            {
                "target": f"{s['key']}: cold wall <= {WALL}x minimum rounds x latency",
                "value": f"{cold['wall_ms']:.0f} ms vs {s['bound_ms']:.0f} ms ({ratio}x)",
                "met": ratio is not None and ratio <= WALL,
            }
        )
    found += _peer_targets(scenarios)
    execution = run.get("execution")
    if execution:
        found.append(
            {
                "target": f"execution of {execution['fields']} fields <= {EXECUTION}x graphql-core",
                "value": f"{execution['ratio']}x",
                "met": execution["ratio"] is not None and execution["ratio"] <= EXECUTION,
            }
        )
    memory = run.get("index_memory")
    if memory:
        mb = memory["retained_mb"] if memory["invoices"] >= 100_000 else memory["projected_100k_mb"]
        found.append(
            {
                "target": "invoice index of 100,000 invoices < 100 MB",
                "value": f"{mb} MB"
                + ("" if memory["invoices"] >= 100_000 else f" (from {memory['invoices']})"),
                "met": mb < 100,
            }
        )
    return found


def _peer_targets(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    by_key = {s["key"]: s for s in scenarios}
    dashboard, small = by_key.get("dashboard", {}), by_key.get("small", {})
    if "mesh" in dashboard:
        ours, theirs = dashboard["ours"]["cold"]["calls"], dashboard["mesh"]["cold"]["calls"]
        found.append(
            {
                "target": f"dashboard: upstream calls <= {VS_MESH}x GraphQL Mesh's",
                "value": f"{ours} vs {theirs} ({_ratio(ours, theirs)}x)",
                "met": ours <= VS_MESH * theirs,
            }
        )
    side = small.get("interleaved")  # the four loads side by side, when measured so
    if side:
        rps = {key: load["rps"] for key, load in side.items() if isinstance(load, dict)}
        how = " (interleaved)"
    else:  # each load in its own stretch of the run
        rps = {
            key: small[key]["load"]["rps"]
            for key in ("ours", "ours_no_response_cache", "lean", "ceiling")
            if key in small
        }
        how = ""
    if "ours_no_response_cache" in rps and "lean" in rps:
        ratio = _ratio(rps["ours_no_response_cache"], rps["lean"])
        found.append(
            {
                "target": "warm small query, response cache off: >= 1.0x the lean graphql-core "
                f"handler's req/s{how}",
                "value": f"{ratio}x",
                "met": ratio is not None and ratio >= 1.0,
            }
        )
    if "ours" in rps and "ceiling" in rps:
        ratio = _ratio(rps["ours"], rps["ceiling"])
        found.append(
            {
                "target": f"warm small query, response cache hits: >= {CEILING:.0%} of the HTTP "
                f"ceiling{how}",
                "value": f"{round(100 * (ratio or 0))}%",
                "met": ratio is not None and ratio >= CEILING,
            }
        )
    return found


def _minus(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 1)


def _walls(cold: dict[str, Any]) -> str:
    walls = cold.get("walls_ms") or [cold["wall_ms"]]
    return ", ".join(_fmt(wall) for wall in walls)


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}" if value < 100 else f"{value:,.0f}{unit}"
    return f"{value}{unit}"


def summary_table(run: dict[str, Any]) -> str:
    rows = [
        "| scenario | upstream calls: ours / off / min | rounds: ours (as our server counts) / min (under cap) | cold ms / bound (under cap) | warm calls | warm p50 / p99 ms | req/s | CPU ms/req | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for s in run.get("scenarios", []):
        ours, off, minimum = s["ours"], s.get("off", {}).get("cold", {}), s["minimum"]
        load = ours["load"]
        rows.append(
            f"| {s['key']} | {ours['cold']['calls']} / {_fmt(off.get('calls'))} / {minimum['calls']}"
            f" | {ours['cold']['rounds']} ({_fmt(ours['cold'].get('reported_rounds'))})"
            f" / {minimum['rounds']} ({minimum['rounds_with_cap']})"
            f" | {_fmt(ours['cold']['wall_ms'])} / {_fmt(s['bound_ms'])}"
            f" ({_fmt(s['bound_with_cap_ms'])})"
            f" | {ours['warm']['calls']} | {_fmt(load['p50_ms'])} / {_fmt(load['p99_ms'])}"
            f" | {_fmt(load['rps'])} | {_fmt(load['cpu_ms_per_request'])} | {_fmt(load['peak_rss_mb'])} |"
        )
    return "\n".join(rows)


def references_table(run: dict[str, Any]) -> str:
    """Ours and the peers on the dashboard and the small query, same run, same sandbox."""
    from bench.peer_runs import LABELS, rows

    scenarios = run.get("scenarios", [])
    lines = [
        "| query | server | upstream calls cold | rounds | cold ms | warm calls | warm req/s "
        "| p50 / p99 ms | CPU ms/req | same data as ours |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, peer, figures in rows(scenarios):
        cold, load = figures["cold"], figures.get("load") or {}
        same = figures.get("same_answer")
        lines.append(
            f"| {key} | {LABELS[peer]} | {cold['calls']} | {cold['rounds']}"
            f" | {_fmt(cold['wall_ms'])} | {figures.get('warm', {}).get('calls', 'n/a')}"
            f" | {_fmt(load.get('rps'))} | {_fmt(load.get('p50_ms'))} / {_fmt(load.get('p99_ms'))}"
            f" | {_fmt(load.get('cpu_ms_per_request'))}"
            f" | {'-' if same is None else 'yes' if same else '**no**'} |"
        )
    small: dict[str, Any] = next((s for s in scenarios if s["key"] == "small"), {})
    if "ceiling" in small:
        load = small["ceiling"]["load"]
        lines.append(
            f"| small | {LABELS['ceiling']} | - | - | - | - | {_fmt(load['rps'])}"
            f" | {_fmt(load['p50_ms'])} / {_fmt(load['p99_ms'])}"
            f" | {_fmt(load['cpu_ms_per_request'])} | - |"
        )
    side = small.get("interleaved")
    if side:
        lines += [
            "",
            f"The small query side by side: the four servers at once, {side['rounds']} loads of "
            f"{side['seconds_per_load']:g} s each, interleaved, medians:",
            "",
            "| server | req/s | p50 / p99 ms | CPU ms/req | vs the HTTP ceiling |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key in ("ours", "ours_no_response_cache", "lean", "ceiling"):
            load = side[key]
            lines.append(
                f"| {LABELS[key]} | {_fmt(load['rps'])} | {_fmt(load['p50_ms'])} / "
                f"{_fmt(load['p99_ms'])} | {_fmt(load['cpu_ms_per_request'])} | "
                f"{_ratio(load['rps'], side['ceiling']['rps'])}x |"
            )
    meta: dict[str, Any] = next((s["peers_meta"] for s in scenarios if "peers_meta" in s), {})
    mesh = meta.get("mesh", {})
    if "skipped" in mesh:
        lines += ["", f"GraphQL Mesh did not run: {mesh['skipped']}."]
    elif "versions" in mesh:
        pinned = ", ".join(f"{k} {v}" for k, v in mesh["versions"].items())
        lines += ["", f"GraphQL Mesh: {pinned} (bench/peers/), Node's own HTTP client."]
    return "\n".join(lines)


def targets_table(run: dict[str, Any]) -> str:
    rows = ["| target | this run | met |", "| --- | --- | --- |"]
    for t in targets(run):
        rows.append(f"| {t['target']} | {t['value']} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(rows)


def markdown(run: dict[str, Any]) -> str:
    meta = run["meta"]
    parts = [
        f"# Benchmark results, {meta['date']} ({meta['mode']})",
        "",
        f"Sandbox: {meta['customers']} customers, seed {meta['seed']}, injected latency "
        f"{meta['latency_ms']:.0f} ms ± {meta['jitter_ms']:.0f} ms per upstream call. Load: "
        f"{meta['load_tool']}, {meta['cpus']} CPUs shared by the sandbox, the server and the load "
        f"generator; Python {meta['python']}. Our server runs with its default of "
        f"{meta.get('upstream_concurrency', '?')} upstream calls in flight per credential "
        '(KICKSERV_CONCURRENCY); "under cap" is the minimum with that limit. Compare ratios '
        "within this run, not absolute figures across runs. How each figure is measured: "
        "[bench/README.md](../README.md).",
    ]
    if meta.get("machine_ms_start") is not None:
        parts += [
            "",
            "The machine's speed (bench/calibrate.py: a fixed CPU workload, lower is faster): "
            f"{_fmt(meta['machine_ms_start'])} ms as the run began, "
            f"{_fmt(meta.get('machine_ms_end'))} ms as it ended; the cold table gives it as each "
            "scenario's cold runs began. A shared host slows every CPU-bound step alike.",
        ]
    if run.get("scenarios"):
        parts += _scenario_parts(run)
    parts += _other_parts(run)
    return "\n".join(parts)


def _scenario_parts(run: dict[str, Any]) -> list[str]:
    parts = [
        "",
        "## Scenarios",
        "",
        summary_table(run),
        "",
        "## Ours and the peers (dashboard and small query)",
        "",
        references_table(run),
        "",
        "Where the cold time goes: the longest chain of dependent upstream calls as the sandbox "
        "timed them (injected latency plus the sandbox's own work) and the rest (ours). Our cold "
        "figures are the median run's of the cold runs on fresh servers listed last (calls and "
        "rounds the most any of them made). The expected upstream floor is what the oracle's "
        "plan waits on Kickserv on average, whoever runs it: each of its levels as slow as the "
        "slowest of its calls, their latencies drawn as the sandbox draws them "
        f"({WALL}x the bound, less this floor, is what the cold-wall target leaves for a server's "
        "own work).",
        "",
        "| scenario | cold wall ms | expected upstream floor ms | left by the target ms "
        "| upstream critical path ms | the rest ms | every cold run, ms | machine ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *(
            f"| {s['key']} | {_fmt(s['ours']['cold']['wall_ms'])}"
            f" | {_fmt(s.get('expected_upstream_ms'))}"
            f" | {_fmt(_minus(WALL * s['bound_ms'], s.get('expected_upstream_ms')))}"
            f" | {_fmt(s['ours']['cold'].get('upstream_critical_ms'))}"
            f" | {_fmt(_minus(s['ours']['cold']['wall_ms'], s['ours']['cold'].get('upstream_critical_ms')))}"
            f" | {_walls(s['ours']['cold'])} | {_fmt(s.get('machine_ms'))} |"
            for s in run.get("scenarios", [])
        ),
    ]
    return parts


def _other_parts(run: dict[str, Any]) -> list[str]:
    parts: list[str] = []
    execution = run.get("execution")
    if execution:
        parts += [
            "",
            "## Execution floor",
            "",
            f"A {execution['fields']}-field result (the dashboard, widened, {execution['customers']} "
            f"customers), everything cached, median of {execution['repeats']}: ours "
            f"{execution['ours_ms']} ms, graphql-core on plain dicts {execution['floor_ms']} ms "
            f"(**{execution['ratio']}x**).",
        ]
    memory = run.get("index_memory")
    if memory:
        parts += [
            "",
            "## Invoice index memory",
            "",
            f"{memory['invoices']:,} synthetic invoices (compact projection), tracemalloc: "
            f"{memory['retained_mb']} MB kept ({memory['bytes_per_invoice']} bytes per invoice, "
            f"{memory['projected_100k_mb']} MB for 100,000), {memory['peak_mb']} MB at the peak of "
            "the build.",
        ]
    scale = run.get("scale")
    if scale:
        parts += ["", "## Scale", "", scale_table(scale)]
    state = run.get("state_modes")
    if state:
        from bench.state_modes import state_notes, state_table

        parts += ["", "## State modes", "", state_table(state), "", *state_notes(state)]
    if targets(run):
        parts += ["", "## Targets", "", targets_table(run)]
    parts.append("")
    return parts


def scale_table(scale: dict[str, Any]) -> str:
    rows = [
        f"{scale['customers']:,} customers, {scale['invoices']:,} invoices; fresh server each.",
        "",
        "| step | server | upstream calls / min | rounds / min | wall ms / bound | RSS MB after (growth) | peak RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label in ("ours", "off"):
        figures = scale.get(label)
        if not figures:
            continue
        listed, index = figures["list"], figures["index"]
        rows.append(
            f"| list all customers | {label} | {listed['calls']} / {scale['minimum']['list']['calls']}"
            f" | {listed['rounds']} / {scale['minimum']['list']['rounds']}"
            f" | {_fmt(listed['wall_ms'])} / {_fmt(scale['bound_ms']['list'])}"
            f" | {_fmt(listed['rss_mb_after'])} | |"
        )
        rows.append(
            f"| build invoice index | {label} | {index['calls']} / {scale['minimum']['index']['calls']}"
            f" | {index['rounds']} / {scale['minimum']['index']['rounds']}"
            f" | {_fmt(index['wall_ms'])} / {_fmt(scale['bound_ms']['index'])}"
            f" | {_fmt(index['rss_mb_after'])} ({_fmt(index['rss_growth_mb'])})"
            f" | {_fmt(index['peak_rss_mb'])} |"
        )
    return "\n".join(rows)


def write(run: dict[str, Any], results_dir: Path, refresh_readme: bool) -> tuple[Path, Path]:
    results_dir.mkdir(parents=True, exist_ok=True)
    meta = run["meta"]
    # Only a whole full run is named <date>: scripts/figures.py takes its figures from the newest.
    only = meta.get("only") or []
    stem = "-".join([meta["date"], *([meta["mode"]] if meta["mode"] != "full" else []), *only])
    run["targets"] = targets(run)
    json_path = results_dir / f"{stem}.json"
    md_path = results_dir / f"{stem}.md"
    json_path.write_text(json.dumps(run, indent=2, default=str) + "\n")
    md_path.write_text(markdown(run))
    if refresh_readme and README.exists():
        if not only:
            refresh_table(README, run, md_path.name)
        elif "state_modes" in run and meta["mode"] == "full":
            refresh_state_block(README, run, md_path.name)
    return json_path, md_path


def refresh_state_block(readme: Path, run: dict[str, Any], report_name: str) -> None:
    """The state-modes figures in bench/README.md, from a full-size ``--state`` run."""
    from bench.state_modes import record_cache_notes, state_table

    meta, state = run["meta"], run["state_modes"]
    block = (
        f"{STATE_START}\nState run of {meta['date']}: [{report_name}](results/{report_name}) "
        f"({meta['customers']} customers, {meta['cpus']} shared CPUs; each load "
        f"{state['seconds_per_load']:g} s, {state['repeats']} interleaved rounds, medians; the "
        f"write log holds {state['write_log_entries']} writes; Redis {state['redis_version']}).\n\n"
        f"{state_table(state)}\n" + "\n".join(record_cache_notes(state)) + f"\n{STATE_END}"
    )
    _replace_block(readme, STATE_START, STATE_END, block)


def refresh_table(readme: Path, run: dict[str, Any], report_name: str) -> None:
    text = readme.read_text()
    block = (
        f"{TABLE_START}\nLatest full run: [{report_name}](results/{report_name}) "
        f"({run['meta']['date']}, {run['meta']['customers']} customers, "
        f"{run['meta']['latency_ms']:.0f} ± {run['meta']['jitter_ms']:.0f} ms per upstream call).\n\n"
        f"{summary_table(run)}\n\n{references_table(run)}\n\n{targets_table(run)}\n{TABLE_END}"
    )
    _replace_block(readme, TABLE_START, TABLE_END, block, text)


def _replace_block(readme: Path, start: str, end: str, block: str, text: str | None = None) -> None:
    text = readme.read_text() if text is None else text
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text)
