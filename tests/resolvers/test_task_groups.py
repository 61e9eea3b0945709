"""The account-wide task listing grouped by job (resolvers.plan): once per listing, reused while a
request reads the very records grouped before, made again for any other listing."""

from __future__ import annotations

from kickserv import Task
from resolvers.plan import _grouped_by_job


def task(task_id: int, job_id: int | None) -> Task:
    return Task.from_json({"id": task_id, "job_id": job_id})


def test_tasks_are_grouped_by_job_once_each_without_jobless_ones() -> None:
    a, b, c, jobless = task(1, 10), task(2, 10), task(3, 11), task(4, None)
    grouped = _grouped_by_job("t-group", (a, b, c, jobless, task(2, 10)))  # 2 again: a later page
    assert grouped == {10: (a, b), 11: (c,)}


def test_the_same_records_reuse_the_grouping_and_other_records_do_not() -> None:
    listing = (task(1, 10), task(2, 11))
    first = _grouped_by_job("t-reuse", listing)
    assert _grouped_by_job("t-reuse", tuple(listing)) is first  # a new tuple of the same records
    # Equal ids, other records (a task moved to job 12): grouped again.
    moved = (listing[0], task(2, 12))
    assert _grouped_by_job("t-reuse", moved) == {10: (listing[0],), 12: (moved[1],)}
    longer = (*moved, task(3, 12))
    assert _grouped_by_job("t-reuse", longer)[12] == longer[1:]
    assert _grouped_by_job("t-other", longer) is not _grouped_by_job("t-reuse", longer)
