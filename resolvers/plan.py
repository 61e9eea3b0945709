"""The planner: per level of a query, the access path with the fewest upstream calls and rounds.

Kickserv has no batch endpoints, so a level of the graph (the tasks of 42 jobs) costs either one
listing per parent (``/tasks.json?job_id=``, 42 calls) or the account-wide listing read whole and
grouped on our side (``/tasks.json`` pages, ``ceil(total / per_page)`` calls), whichever is fewer.
The account-wide pages can go out a level early: they need no parent, so they travel with the
parents' own level and the children's level costs no round of its own.

What the reference (``kickserv-api.md``) confirms, and what is verified instead:

- ``/tasks.json`` is one paginated listing whose ``job_id`` is a *filter* [C]; the per-job listing is
  that same listing narrowed. Tasks carry a job glue record [C, "generally"]; ``job_id`` on a task
  is [I]. A task without a job reference cannot be grouped.
- ``tasks_count`` on a job comes from a v1 fixture, assumed to carry over to v2 [I], and what it
  counts (every task? open ones?) is not stated. So it is never trusted alone: a job listed with
  ``tasks_count: 0`` still gets its per-job listing on the per-parent path. On the account-wide path
  it is the *check*: a job's group is its answer only when its size equals the job's
  ``tasks_count``; a job without one, or whose count disagrees (a task without job glue, a listing
  that leaves some tasks out, a task added between pages), gets its own per-job listing. Two
  independent reports must agree; a disagreement costs calls, never a wrong answer.

Cost model: calls, then rounds. On the account-wide path page 1 is read speculatively with the root
of a query that asks a job's tasks under a list (its ``total_entries`` gives the page count; warm,
it is a cache hit); the rest are committed when their count is below the query's upper bound of
parents (``first`` x ``first`` along the path: the parents are not known yet). The page count is
remembered per tenant, so a query whose bound is below it does not spend page 1 again. At the
level itself the choice is made again with the real parents, when nothing was committed. Without
the shared cache (no single-flight, so a speculative page would be read twice) there is no
speculation.

Once the account-wide listing has arrived it is grouped by job once per request, from the grouping
each cached page keeps with it (``resolvers.task_groups``: bounded and evicted with the pages), and a
job whose group agrees with its ``tasks_count`` is answered at once (``ready``: a value, no
coroutine, no loader round trip), which is most of them on a warm request. The pages keep each task
as listed: a job's tasks are parsed the first time a request asks for them, in the cached page
itself; a task that cannot be parsed sends its job to the per-job listing, which reports it.

The chosen plan and its expected cost go into ``extensions.upstream.plan`` (development only; see
``resolvers.stats``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kickserv import Paginator, ResponseShape, Task
from resolvers import resources
from resolvers.stats import record_plan
from resolvers.task_groups import (
    ListedPage,
    ListedTask,
    grouped_by_job,
    listed_page,
    listed_task,
    parsed_group,
)
from resolvers.tenant import Tenant

__all__ = ["JobTasksPlanner", "LevelPlan"]

PER_PARENT = "per-parent"
ACCOUNT_WIDE = "account-wide"


@dataclass(slots=True)
class LevelPlan:
    """One level's chosen access path, what it was expected to cost, and what it found."""

    level: str
    path: str
    listing: str
    parents: int
    calls: int  # expected upstream calls of this level (pages read before it included)
    rounds: int  # rounds this level adds after its parents' level
    alternative: int | None  # expected calls of the path not taken (None: not known)
    reason: str
    verified: int = 0  # parents answered from the account-wide listing, their count agreeing
    fallback: int = 0  # parents read one by one after all (no count, or the count disagreed)

    def as_extension(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "path": self.path,
            "listing": self.listing,
            "parents": self.parents,
            "expected": {"calls": self.calls, "rounds": self.rounds},
            "alternative": {"calls": self.alternative},
            "reason": self.reason,
            "verified": self.verified,
            "fallback": self.fallback,
        }


def _consumed(task: asyncio.Future[Any]) -> None:
    # A failure is reported where the result is awaited (or the level falls back): consume it.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


class JobTasksPlanner:
    """The ``Job.tasks`` level of one request: per-job listings or ``/tasks.json`` grouped by job."""

    LEVEL = "Job.tasks"

    def __init__(
        self, tenant: Tenant, per_job: Callable[[int], Awaitable[tuple[Task, ...]]]
    ) -> None:
        self.tenant = tenant
        self._per_job = per_job
        self._counts: dict[int, int | None] = {}  # job id -> its listing's tasks_count
        self._bound: int | None = None
        self._first: asyncio.Future[ListedPage] | None = None
        self._all: asyncio.Future[tuple[ListedPage, ...]] | None = None
        self._plan: LevelPlan | None = None
        self._early = False  # committed with the parents' level (the level adds no round)
        self._groups: dict[int, tuple[ListedTask, ...]] | None = None  # job id -> its tasks, listed

    # -- what the graph tells it -------------------------------------------------------------------

    def start(self, bound: int | None) -> None:
        """The root of a query that asks the tasks of at most ``bound`` jobs: read page 1 of the
        account-wide listing now (it says how many pages there are), and the rest once they are
        fewer than ``bound``."""
        if bound is None or bound < 2 or self._first is not None:
            return
        if not self.tenant.cache.enabled:
            return
        known = _PAGES.get(self.tenant.key)
        if known is not None and known - 1 >= bound:
            return  # as this tenant's listing last stood, the pages are more calls than the jobs
        self._bound = bound
        self._first = asyncio.ensure_future(self._page_one())
        _consumed(self._first)
        self._first.add_done_callback(self._maybe_commit)

    def note(self, job_id: int, tasks_count: int | None) -> None:
        """What a job's listing says of its tasks (``None``: it does not say)."""
        if tasks_count is not None or job_id not in self._counts:
            self._counts[job_id] = tasks_count

    # -- the level ---------------------------------------------------------------------------------

    async def tasks_of(self, job_ids: Sequence[int]) -> list[tuple[Task, ...]]:
        """Each job's tasks, in the order of ``job_ids``, by the path with the fewest calls."""
        if self._all is None and self._first is not None:
            try:
                first = await self._first
            except Exception:  # the level goes per job; each call reports its own failure
                first = None
            if first is not None and self._all is None:
                self._choose(first, job_ids)
        if self._all is None:
            pages = self._pages()
            reason = (
                "nothing tells the account-wide listing's size"
                if pages is None
                else f"{len(job_ids)} per-job listings against {pages - 1} more pages of "
                "/tasks.json (and one per job without a tasks_count to check)"
            )
            self._record(PER_PARENT, job_ids, reason)
            return list(await asyncio.gather(*(self._per_job(j) for j in job_ids)))
        return await self._grouped(job_ids, self._all)

    async def _grouped(
        self, job_ids: Sequence[int], everything: asyncio.Future[tuple[ListedPage, ...]]
    ) -> list[tuple[Task, ...]]:
        unknown = [j for j in job_ids if self._counts.get(j) is None]
        early = {j: asyncio.ensure_future(self._per_job(j)) for j in unknown}
        try:
            listing: tuple[ListedPage, ...] | None = await everything
        except Exception:
            listing = None
        self._group(everything)
        groups = self._groups or {}
        answers: dict[int, tuple[Task, ...]] = {}
        late: list[int] = []
        for job_id in job_ids:
            count = self._counts.get(job_id)
            mine = groups.get(job_id, ())
            if listing is not None and count is not None and len(mine) == count:
                parsed = self._parse(mine)
                if parsed is not None:
                    answers[job_id] = parsed
                    continue
            if job_id not in early:
                late.append(job_id)
        found = await asyncio.gather(*(self._per_job(j) for j in late))
        answers.update(zip(late, found, strict=True))
        for job_id, running in early.items():
            answers[job_id] = await running
        plan = self._record(ACCOUNT_WIDE, job_ids, "")
        if listing is None:
            plan.reason += " (the listing failed: read per job)"
        plan.verified += len(job_ids) - len(early) - len(late)
        plan.fallback += len(early) + len(late)
        return [answers[j] for j in job_ids]

    def ready(self, job_id: int) -> tuple[Task, ...] | None:
        """The job's tasks now, without a coroutine, when the account-wide listing has arrived and
        its group agrees with the job's tasks_count; else None (ask the loader)."""
        groups = self._groups
        count = self._counts.get(job_id)
        if groups is None or count is None:
            return None
        mine = groups.get(job_id, ())
        if len(mine) != count:
            return None
        parsed = self._parse(mine)
        if parsed is not None:
            self._record(ACCOUNT_WIDE, (job_id,), "").verified += 1
        return parsed

    @staticmethod
    def _parse(group: tuple[ListedTask, ...]) -> tuple[Task, ...] | None:
        """The job's listed tasks parsed (each task once, in its cached page); None when one
        cannot be (the job is then read on its own, which reports it)."""
        try:
            return parsed_group(group)
        except ResponseShape:
            return None

    def _group(self, everything: asyncio.Future[tuple[ListedPage, ...]]) -> None:
        """Every job's tasks in the account-wide listing, once (a task on two pages: once)."""
        if self._groups is not None or not everything.done() or everything.cancelled():
            return
        if everything.exception() is not None:
            return
        self._groups = grouped_by_job(everything.result())

    # -- choosing ----------------------------------------------------------------------------------

    async def _page_one(self) -> ListedPage:
        return await self._read(self._account_wide(), 1, self.tenant.max_per_page)

    async def _read(self, listing: Paginator[ListedTask], number: int, per_page: int) -> ListedPage:
        page = await self.tenant.page(resources.TASKS_LISTED, listing, (), number, per_page)
        return page if isinstance(page, ListedPage) else listed_page(page)

    def _account_wide(self) -> Paginator[ListedTask]:
        """``/tasks.json``, each task kept as listed (its ids read) and each page grouped by job as
        it is read: the cache keeps that page as it is, and the level groups from it (once)."""
        return self.tenant.client.tasks.every(listed_task).map_pages(listed_page)

    def _maybe_commit(self, first: asyncio.Future[ListedPage]) -> None:
        """Page 1 arrived: commit the rest now (with the parents' level) when they are fewer than
        the query's upper bound of per-job listings."""
        if first.cancelled() or first.exception() is not None or self._all is not None:
            return
        page = first.result()
        if len(_PAGES) >= _PAGES_KEPT:
            _PAGES.clear()
        _PAGES[self.tenant.key] = page.total_pages
        if self._bound is not None and page.total_pages - 1 < self._bound:
            self._early = True
            self._commit()

    def _choose(self, first: ListedPage, job_ids: Sequence[int]) -> None:
        """At the level, nothing committed yet: account-wide when its remaining pages plus the
        jobs it cannot check are fewer calls than one listing per job."""
        unchecked = sum(1 for j in job_ids if self._counts.get(j) is None)
        if first.total_pages - 1 + unchecked < len(job_ids):
            self._commit()

    def _commit(self) -> None:
        self._all = asyncio.ensure_future(self._listing())
        _consumed(self._all)
        self._all.add_done_callback(self._group)

    async def _listing(self) -> tuple[ListedPage, ...]:
        """Every page of the account-wide listing, the rest read at once. Page 1 is the one read
        with the root, not read again (a second read, from a shared cache in Redis one more round
        trip, would also put off the rest by a round). Pages, not their items: each cached page
        brings its tasks grouped by job."""
        first = self._page_one_read() or await self._page_one()
        listing = self._account_wide()
        rest = await asyncio.gather(
            *(self._read(listing, n, first.per_page) for n in range(2, first.total_pages + 1))
        )
        return (first, *rest)

    def _record(self, path: str, job_ids: Sequence[int], reason: str) -> LevelPlan:
        """The level's plan (one per request; later batches of the same level add to it)."""
        plan = self._plan
        if plan is None:
            pages = self._pages()
            if path == ACCOUNT_WIDE:
                reason = (
                    f"{pages} pages of /tasks.json against one listing per job; each job's "
                    "group checked against its tasks_count"
                )
            calls = 0 if path == PER_PARENT else pages or 0
            other = pages if path == PER_PARENT else 0
            rounds = 0 if path == ACCOUNT_WIDE and self._early else 1
            plan = LevelPlan(self.LEVEL, path, _LISTINGS[path], 0, calls, rounds, other, reason)
            self._plan = plan
            record_plan(plan)
        plan.parents += len(job_ids)
        if plan.path == PER_PARENT:
            plan.calls = plan.parents
        else:
            plan.alternative = plan.parents
        return plan

    def _page_one_read(self) -> ListedPage | None:
        """Page 1 as read with the root, once it has arrived."""
        first = self._first
        if first is None or not first.done() or first.cancelled() or first.exception():
            return None
        return first.result()

    def _pages(self) -> int | None:
        page = self._page_one_read()
        if page is None:
            return None
        return max(page.total_pages, 1) if page.total_entries else 1


_LISTINGS = {PER_PARENT: "/tasks.json?job_id=", ACCOUNT_WIDE: "/tasks.json"}

# The page count of each tenant's account-wide task listing as last seen (by tenant key): a query
# whose bound of jobs is below it reads per job without spending a speculative page 1 first.
_PAGES: dict[str, int] = {}
_PAGES_KEPT = 10_000  # tenants remembered (pass-through mode may see many); then start again
