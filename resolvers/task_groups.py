"""The account-wide task listing as the planner reads it: each task kept as Kickserv listed it and
parsed only when its job's tasks are asked, the listing grouped by job once per page.

The planner (``resolvers.plan``) answers a level of ``Job.tasks`` from ``/tasks.json`` read whole
and grouped on our side. A cold dashboard reads its 29 pages of 100 in one round and asks the tasks
of 42 jobs (~80 tasks): parsing all 2,847 into ``Task`` records took ~0.46 ms a page, most of each
page's ~1.25 ms, and the pages, landing together, were parsed one after another while the jobs'
own listings waited behind them. So each listed task keeps its JSON and the two ids the grouping
needs (``ListedTask``: read by ``Task``'s own reader, so they mean what they mean on a ``Task``),
and a job's group is parsed (``parsed_group``) by the request that asks for it.

Each cached page (``ListedPage``) carries its tasks grouped by job and its task ids: grouping ~2,900
tasks on every warm request cost more than a tenth of the dashboard's execution (6,359 fields,
2026-12-03). The grouping is counted in the page's bytes (``resolvers.bounded.deep_size``) and goes
when the page goes, so nothing of a listing outlives the cache's byte bound. A request merges its
pages' groups with a few operations a page on dicts and sets (a job whose tasks span two pages is
joined; a task on two pages, the listing having moved between reads, makes it group the whole
listing again, once each).

What a page keeps is the JSON as sent: 3.3 KB a task against 1.9 KB parsed as the cache keeps it
(``resolvers.kept``; deep_size, the sandbox's tasks, 2026-12-04), counted as such against the
cache's bound. A task parsed replaces its JSON in the page (``ListedTask.task``): the next request
asking its job finds it parsed, and a cached page only ever shrinks below what was counted. The
page is mutated where it is cached, which is safe as every request runs on the one event loop
and a parse happens whole between two of its turns.

Only a task's id and job id are read when the page is: a task whose other fields are malformed
fails when its job's group is parsed, and that job is then read on its own (``resolvers.plan``),
where the same task fails with Kickserv's answer quoted; the other jobs are answered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kickserv import Page, ResponseShape, Task
from kickserv.records.fields import describe
from resolvers.kept import NO_RAW, kept_task

__all__ = [
    "ListedPage",
    "ListedTask",
    "by_job",
    "grouped_by_job",
    "listed_page",
    "listed_task",
    "parsed_group",
]


class ListedTask:
    """A task of the account-wide listing: its id and job id (as ``Task`` reads them) and its JSON,
    parsed by ``task`` the first time it is asked. The parsed task then replaces the JSON: it
    weighs less (1.9 KB against 3.3 KB on the sandbox's tasks), so a cached page never outgrows
    the size the cache counted for it, and the next request finds the task parsed."""

    __slots__ = ("_json", "_task", "id", "job_id")

    def __init__(self, id: int, job_id: int | None, json: Mapping[str, Any]) -> None:
        self.id, self.job_id = id, job_id
        self._json: Mapping[str, Any] | None = json
        self._task: Task | None = None

    @property
    def json(self) -> Mapping[str, Any] | None:
        """The task's JSON as listed, until it is parsed (None after)."""
        return self._json

    def task(self) -> Task:
        """The task as the cache keeps a task (``resolvers.kept.kept_task``), parsed once
        (``ResponseShape`` each time when it cannot be)."""
        task = self._task
        if task is None:
            assert self._json is not None  # one of the two is always there
            task = self._task = kept_task(self._json)
            self._json = None
        return task

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ListedTask):
            return NotImplemented
        return (self.id, self.job_id, self.task()) == (other.id, other.job_id, other.task())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ListedTask(id={self.id!r}, job_id={self.job_id!r}, parsed={self._task is not None})"
        )


Groups = Mapping[int, tuple[ListedTask, ...]]

_NO_GROUPS: Groups = MappingProxyType({})

# Task.from_json reading only the id and the job id (every other field given): the same variants
# (``job_id``, or the job glue's id) and the same refusals as a whole read.
_ONLY_IDS = Task.reader(
    raw=NO_RAW,
    **{f.name: None for f in dataclasses.fields(Task) if f.name not in ("id", "job_id", "raw")},
)


def listed_task(value: object) -> ListedTask:
    """A listed task's JSON, with its ids read (``ResponseShape`` when they cannot be). Each listed
    task is its own: nothing else holds its ``ListedTask``, which its parse changes."""
    if not isinstance(value, Mapping):
        raise ResponseShape(f"a task should be a JSON object, got {describe(value)}.")
    ids = _ONLY_IDS(value)
    return ListedTask(ids.id, ids.job_id, value)


@dataclass(frozen=True, slots=True)
class ListedPage(Page[ListedTask]):
    """A page of the account-wide task listing as the cache keeps it: with its tasks grouped by job
    (``by_job``, jobless ones left out, a task listed twice once) and the ids of its tasks."""

    by_job: Groups = field(default_factory=lambda: _NO_GROUPS, compare=False, repr=False)
    ids: frozenset[int] = field(default=frozenset(), compare=False, repr=False)


def listed_page(page: Page[ListedTask]) -> ListedPage:
    """``page`` with its grouping."""
    items = page.items
    return ListedPage(
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


def by_job(tasks: Iterable[ListedTask]) -> dict[int, tuple[ListedTask, ...]]:
    """Every job's tasks, in their order (a task listed twice: once; a task without a job: not)."""
    groups: dict[int, list[ListedTask]] = {}
    seen: set[int] = set()
    for task in tasks:
        if task.job_id is not None and task.id not in seen:
            seen.add(task.id)
            groups.setdefault(task.job_id, []).append(task)
    return {job_id: tuple(listed) for job_id, listed in groups.items()}


def grouped_by_job(pages: Sequence[ListedPage]) -> dict[int, tuple[ListedTask, ...]]:
    """Every job's tasks in these pages of one listing, as ``by_job`` of all their items: from each
    page's own grouping."""
    merged: dict[int, tuple[ListedTask, ...]] = {}
    seen: set[int] = set()
    for page in pages:
        groups, ids = page.by_job, page.ids
        if not seen.isdisjoint(ids):  # a task on two pages: the first page it is on keeps it
            return by_job(task for listed in pages for task in listed.items)
        seen |= ids
        spanning = merged.keys() & groups.keys()
        earlier = {job_id: merged[job_id] for job_id in spanning}
        merged.update(groups)
        for job_id in spanning:
            merged[job_id] = earlier[job_id] + groups[job_id]
    return merged


def parsed_group(group: Sequence[ListedTask]) -> tuple[Task, ...]:
    """A job's listed tasks parsed (``ResponseShape`` naming the task that cannot be)."""
    parsed = []
    for listed in group:
        try:
            parsed.append(listed.task())
        except ResponseShape as exc:
            raise ResponseShape(f"task {listed.id} of /tasks.json: {exc.message}") from None
    return tuple(parsed)
