"""A listing of tasks grouped by job, kept with the cached pages it was made from.

The planner (``resolvers.plan``) answers a level of ``Job.tasks`` from the account-wide task listing
grouped by job. Grouping ~2,900 tasks on every warm request cost more than a tenth of the dashboard's
execution (6,359 fields, 2026-12-03), so the grouping is kept; and it is kept where the tasks are:
each cached page of tasks (``resolvers.kept``) is a ``TaskPage`` that carries its own tasks grouped
by job and its task ids. It is counted in the page's bytes (``resolvers.bounded.deep_size``) and goes
when the page goes, so nothing of a listing outlives the cache's byte bound.

A request merges its pages' groups with a few operations a page on dicts and sets (a job whose tasks
span two pages is joined; a task on two pages, the listing having moved between reads, makes it
group the whole listing again, once each).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from kickserv import Page, Task

Groups = Mapping[int, tuple[Task, ...]]

_NO_GROUPS: Groups = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TaskPage(Page[Task]):
    """A page of tasks as the cache keeps it: with its tasks grouped by job (``by_job``, jobless
    ones left out, a task listed twice once) and the ids of its tasks."""

    by_job: Groups = field(default_factory=lambda: _NO_GROUPS, compare=False, repr=False)
    ids: frozenset[int] = field(default=frozenset(), compare=False, repr=False)


def task_page(page: Page[Task], items: tuple[Task, ...] | None = None) -> TaskPage:
    """``page`` with ``items`` (by default its own; or what the cache keeps of them) and their
    grouping."""
    if items is None:
        items = page.items
    return TaskPage(
        items,
        page.number,
        page.per_page,
        page.total_entries,
        page.total_pages,
        page.extra,
        page.per_page_cap,
        by_job=by_job(items),
        ids=frozenset(task.id for task in items),
    )


def by_job(tasks: Iterable[Task]) -> dict[int, tuple[Task, ...]]:
    """Every job's tasks, in their order (a task listed twice: once; a task without a job: not)."""
    groups: dict[int, list[Task]] = {}
    seen: set[int] = set()
    for task in tasks:
        if task.job_id is not None and task.id not in seen:
            seen.add(task.id)
            groups.setdefault(task.job_id, []).append(task)
    return {job_id: tuple(listed) for job_id, listed in groups.items()}


def grouped_by_job(pages: Sequence[Page[Task]]) -> dict[int, tuple[Task, ...]]:
    """Every job's tasks in these pages of one listing, as ``by_job`` of all their items: from each
    cached page's own grouping (a page read now, not yet kept, is grouped here)."""
    merged: dict[int, tuple[Task, ...]] = {}
    seen: set[int] = set()
    for page in pages:
        if isinstance(page, TaskPage):
            groups, ids = page.by_job, page.ids
        else:
            groups, ids = by_job(page.items), frozenset(task.id for task in page.items)
        if not seen.isdisjoint(ids):  # a task on two pages: the first page it is on keeps it
            return by_job(task for listed in pages for task in listed.items)
        seen |= ids
        spanning = merged.keys() & groups.keys()
        earlier = {job_id: merged[job_id] for job_id in spanning}
        merged.update(groups)
        for job_id in spanning:
            merged[job_id] = earlier[job_id] + groups[job_id]
    return merged
