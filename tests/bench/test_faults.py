"""The fault runs (``python -m bench.faults``) work end to end in their tiny mode, against real
server processes and a real sandbox: figures checked for shape and for what cannot vary (reads of
uncached customers fail while Kickserv hangs; no 5xx over the hostile corpus), never for timings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.faults import README, START, TARGETS, TINY, block, run, write
from bench.hostile import corpus


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    options = replace(TINY, results_dir=tmp_path_factory.mktemp("results"))
    figures = run(options)
    return figures, write(figures, options)


def test_mixed_reads_are_counted_full_partial_or_failed(tiny: tuple[dict[str, Any], Path]) -> None:
    mixed = tiny[0]["mixed"]
    assert mixed["reads"] == TINY.reads
    assert abs(mixed["full"] + mixed["partial"] + mixed["failed"] - 1) < 0.01
    assert mixed["upstream_calls"] > 0
    assert 0 <= mixed["upstream_429_share"] <= 1 and 0 <= mixed["upstream_500_share"] <= 1


def test_reads_fail_while_kickserv_hangs_and_go_on_after(tiny: tuple[dict[str, Any], Path]) -> None:
    hang = tiny[0]["hang"]
    assert hang["reads_while_hanging"] > 0
    assert hang["answered_fully_while_hanging"] == 0  # nothing cached could answer them
    assert hang["time_to_error_max_s"] is not None
    assert hang["reads_after_return"] > 0


def test_the_hostile_corpus_gets_no_5xx_and_rss_is_read(tiny: tuple[dict[str, Any], Path]) -> None:
    hostile = tiny[0]["hostile"]
    sent = len(corpus(documents=TINY.documents, document_bytes=TINY.document_bytes))
    assert hostile["requests"] == sent
    assert hostile["answers_5xx"] == 0, hostile["statuses"]
    assert hostile["rss_mb_after"] is not None and hostile["peak_rss_mb"] >= hostile["rss_mb_after"]


def test_the_report_names_every_target_and_leaves_the_readme_alone(
    tiny: tuple[dict[str, Any], Path],
) -> None:
    figures, report = tiny
    assert [t["target"] for t in figures["targets"]] == [name for name, _ in TARGETS]
    assert report.name.endswith("-faults-tiny.md")
    text = block(figures, report.name)
    assert text.startswith(START) and text in report.read_text()
    assert report.name not in README.read_text()  # only a full-size run rewrites the block
