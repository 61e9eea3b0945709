"""The docs agree with their sources.

Every benchmark figure of README.md, CHANGELOG.md and bench/README.md is what scripts/figures.py
writes from the latest full run, and no measured figure stands outside a generated block unless it
names the day it was measured (a past measurement). The quickstart is the two commands it promises,
and docs/architecture.md is linked and names what exists. (The README's examples table and tour are
checked in tests/graph/test_examples.py, the Configuration table in tests/graph/test_app.py.)
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.graph.example_runs import serve_command

ROOT = Path(__file__).resolve().parent.parent


def figures_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("figures", ROOT / "scripts" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


figures = figures_script()


def flat(text: str) -> str:
    return " ".join(text.split())


def section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : None if end == -1 else end]


# --- generated figures ---------------------------------------------------------------------


def test_every_figure_block_is_what_the_script_writes_from_the_latest_run():
    # refresh with: .venv/bin/python scripts/figures.py --write
    assert figures.stale_blocks(ROOT) == []


def test_a_changed_run_makes_every_block_stale():
    # given: the latest run with one figure changed
    run = figures.current_run()
    changed = copy.deepcopy(run.data)
    small = next(s for s in changed["scenarios"] if s["key"] == "small")
    small["ours"]["load"]["rps"] *= 2
    # then: each block showing it no longer matches
    stale = figures.stale_blocks(ROOT, figures.Run(changed, run.report))
    assert stale == [f"{b.path}: {b.markers[0]}" for b in figures.BLOCKS]


def test_the_source_is_the_newest_full_run(tmp_path):
    for stem in ("2026-11-20", "2026-11-21", "2026-11-22-quick", "2026-11-23-tiny"):
        (tmp_path / f"{stem}.json").write_text(json.dumps({"meta": {"mode": "full"}}))
    assert figures.latest_run(tmp_path).name == "2026-11-21.json"


# A measured figure: a number with a unit of time, size, rate or ratio, or a count of calls/rounds.
MEASURED = re.compile(
    r"\d[\d,.]*\s?(?:req/s|[KMG]B\b|ms\b|x\b|%|bytes\b|B\b)"
    r"|\b\d[\d,]*\s(?:upstream\s)?(?:calls?|rounds?)\b"
)
DATED = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
GENERATED = re.compile(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", re.DOTALL)
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("name", ["README.md", "CHANGELOG.md"])
def test_no_measured_figure_outside_a_generated_block_unless_dated(name):
    text = FENCED.sub("", GENERATED.sub("", (ROOT / name).read_text(encoding="utf-8")))
    # paragraphs and list items, each judged whole
    items = re.split(r"\n\s*\n|\n(?=\s*[-*] |\d+\. |\| )", text)
    loose = [
        flat(item)
        for item in items
        if MEASURED.search(item) and not DATED.search(item) and not item.lstrip().startswith("|")
    ]
    assert loose == [], "figures typed by hand (generate them, or say when they were measured)"


# --- the newcomer's path -------------------------------------------------------------------


def test_the_quickstart_is_two_commands_one_per_terminal():
    quickstart = section((ROOT / "README.md").read_text(encoding="utf-8"), "## Quickstart")
    commands = re.findall(r"```sh\n(.*?)\n```", quickstart, re.DOTALL)
    assert commands == [
        f"python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/{serve_command()}",
        "scripts/test",
    ]
    prose = flat(quickstart)
    assert "In one terminal" in prose and "in a second terminal" in prose
    assert "until you press Ctrl-C" in prose
    assert "http://127.0.0.1:8000/" in prose
    assert (ROOT / "scripts" / "test").stat().st_mode & 0o111  # runs as pasted


def test_the_architecture_page_is_linked_and_names_what_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "(docs/architecture.md)" in readme
    for folder in ("kickserv", "sandbox", "resolvers", "graph/schema", "graph/server", "bench"):
        assert f"`{folder}/`" in page and (ROOT / folder).is_dir(), folder
    assert "`tests/`" in page
    rules = flat(section(page, "## Import rules"))
    assert "graph.server → graph.schema → resolvers → kickserv → httpx" in rules
    assert "Nothing installed imports bench, tests or scripts." in rules
    # every module the request's path names exists: paths from the root, bare names in graph/server
    path = section(page, "## The path of one request")
    named = set(re.findall(r"`([\w/]+\.py)`", path))
    assert named, "the path of a request names no module"
    missing = [
        name
        for name in sorted(named)
        if not (ROOT / name).is_file() and not (ROOT / "graph" / "server" / name).is_file()
    ]
    assert missing == [], f"docs/architecture.md names modules that do not exist: {missing}"
    for link in re.findall(r"\]\(([^)#]+)\)", page):
        if "://" not in link:
            assert (ROOT / "docs" / link).resolve().exists(), link
