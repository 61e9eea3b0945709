"""Trust, then verify (resolvers/verify.py): `jobs(filter: {status})` sends /jobs.json an
undocumented `status`; whether Kickserv honours it (the lenient sandbox) or ignores it (the strict
one), the answer is the jobs in that status, paged over them, and the cost says which it was."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from resolvers.connections import encode_cursor
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import graph_server

QUERY = """query ($first: Int, $after: String) {
  jobs(filter: {status: COMPLETE}, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage } nodes { number status }
  }
}"""
NO_RESPONSE_CACHE = {"response_cache_enabled": False}


@pytest.fixture(scope="module", params=[False, True], ids=["lenient", "strict"])
def sb(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    config = SandboxConfig(customers=40, seed=4, today=date(2026, 11, 21))
    config.reference_strict = request.param
    with running_sandbox(config) as sandbox:
        yield sandbox


def complete(store: AccountStore) -> list[int]:
    """Job numbers of the complete jobs, newest first (as /jobs.json lists them)."""
    return sorted((j.number for j in store.jobs.values() if j.status == "complete"), reverse=True)


def sent_status(run: Any) -> list[bool]:
    return [
        "status=" in entry["query"] for entry in run.log if entry["path"].endswith("/jobs.json")
    ]


async def test_the_answer_is_right_in_both_modes_and_the_verdict_is_remembered(sb: RunningSandbox):
    expected = complete(sb.store())
    strict = sb.state.config.reference_strict
    assert 5 < len(expected) < len(sb.store().jobs_by_number)
    async with graph_server(sb, **NO_RESPONSE_CACHE) as graph:
        first = await graph.run(QUERY, {"first": 5})
        assert first.errors == []
        page = first.data["jobs"]
        assert [n["number"] for n in page["nodes"]] == expected[:5]
        assert {n["status"] for n in page["nodes"]} == {"complete"}
        assert page["totalCount"] == len(expected) and page["pageInfo"]["hasNextPage"]
        verdict = "ignored" if strict else "honoured"
        assert first.upstream["verifiedFilters"] == [
            {"filter": "jobs.json?status", "verdict": verdict, "filteredLocally": strict}
        ]
        assert sent_status(first)[0]  # the first time, the filter goes as a hint
        # the next page: Kickserv's total_entries counts every job when it ignores the filter,
        # so the pages are cut from the jobs filtered here
        later = await graph.run(QUERY, {"first": 5, "after": encode_cursor(4)})
        assert [n["number"] for n in later.data["jobs"]["nodes"]] == expected[5:10]
        assert later.data["jobs"]["totalCount"] == len(expected)
        # remembered: ignored means no more hints; honoured means no more probes
        assert not any(sent_status(later)) if strict else all(sent_status(later))
        assert later.upstream["verifiedFilters"][0]["verdict"] == verdict


async def test_the_verdict_outlives_the_process_in_the_state_store(sb: RunningSandbox, tmp_path):
    state = {"state_dir": str(tmp_path), **NO_RESPONSE_CACHE}
    async with graph_server(sb, **state) as graph:
        await graph.run(QUERY, {"first": 3})
    async with graph_server(sb, **state) as again:  # a new process: same state store, no memory
        run = await again.run(QUERY, {"first": 3})
    strict = sb.state.config.reference_strict
    assert run.upstream["verifiedFilters"][0]["verdict"] == ("ignored" if strict else "honoured")
    # known at once: no hint sent where it is ignored, no probe where it is honoured
    assert not any(sent_status(run)) if strict else all(sent_status(run))
    assert [n["number"] for n in run.data["jobs"]["nodes"]] == complete(sb.store())[:3]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
async def test_when_every_job_matches_nothing_is_concluded_and_the_answer_stays_right(strict: bool):
    """Equal totals with and without the filter decide nothing: the listing is filtered here."""
    config = SandboxConfig(customers=8, seed=4, today=date(2026, 11, 21))
    config.reference_strict = strict
    with running_sandbox(config) as sandbox:
        store = sandbox.store()
        for job in store.jobs.values():  # every job /jobs.json lists is complete
            if job.status in ("unscheduled", "scheduled", "in_progress", "on_hold", "canceled"):
                job.status = "complete"
        expected = complete(store)
        assert len(expected) > 5
        # (no shared cache: the test changes the sandbox behind the graph's back)
        async with graph_server(sandbox, cache_enabled=False, **NO_RESPONSE_CACHE) as graph:
            run = await graph.run(QUERY, {"first": 3})
            assert [n["number"] for n in run.data["jobs"]["nodes"]] == expected[:3]
            assert run.data["jobs"]["totalCount"] == len(expected)
            assert run.upstream["verifiedFilters"] == [
                {"filter": "jobs.json?status", "verdict": "unknown", "filteredLocally": True}
            ]
            store.jobs_by_number[expected[0]].status = "canceled"  # now one does not match
            again = await graph.run(QUERY, {"first": 3, "after": encode_cursor(0)})
            assert [n["number"] for n in again.data["jobs"]["nodes"]] == expected[2:5]
            assert again.data["jobs"]["totalCount"] == len(expected) - 1
            verdict = again.upstream["verifiedFilters"][0]["verdict"]
            assert verdict == ("ignored" if strict else "honoured")
