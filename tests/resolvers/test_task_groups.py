"""The account-wide task listing grouped by job (resolvers.task_groups, read by resolvers.plan): the
same groups from the pages' own groupings as from the listing's tasks, and kept inside the cached
pages: counted in their bytes, and gone with them (nothing of a listing outlives the cache's bound).
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date

import httpx
import pytest

from kickserv import KickservClient, Page, Task
from resolvers import resources
from resolvers.bounded import deep_size
from resolvers.cache import MemoryStore, SharedCache
from resolvers.kept import kept
from resolvers.plan import JobTasksPlanner
from resolvers.task_groups import TaskPage, by_job, grouped_by_job
from resolvers.tenant import Tenant
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox


def task(task_id: int, job_id: int | None) -> Task:
    return Task.from_json({"id": task_id, "job_id": job_id})


def page(*tasks: Task, number: int = 1) -> Page[Task]:
    return Page(tasks, number, 100, 0, 0)


def test_tasks_are_grouped_by_job_once_each_without_jobless_ones() -> None:
    a, b, c, jobless = task(1, 10), task(2, 10), task(3, 11), task(4, None)
    assert by_job((a, b, c, jobless, task(2, 10))) == {10: (a, b), 11: (c,)}


def test_the_pages_groupings_merge_into_the_listings() -> None:
    first = page(task(1, 10), task(2, 11), task(3, 12))
    second = page(task(4, 12), task(5, 13), task(6, None), number=2)  # job 12 spans both
    kept_pages = [kept(first), kept(second)]
    everything = (*kept_pages[0].items, *kept_pages[1].items)
    assert all(isinstance(p, TaskPage) for p in kept_pages)
    assert grouped_by_job(kept_pages) == by_job(everything)
    assert grouped_by_job(kept_pages)[12] == (kept_pages[0].items[2], kept_pages[1].items[0])
    assert grouped_by_job([first, second]) == by_job((*first.items, *second.items))  # not kept yet
    assert grouped_by_job([kept_pages[0], page(*kept_pages[1].items, number=2)]) == by_job(
        everything
    )


def test_a_task_on_two_pages_is_grouped_once_where_first_listed() -> None:
    moved = task(3, 14)  # task 3 again on page 2 (the listing moved), now under job 14
    first, second = page(task(1, 10), task(3, 12)), page(moved, task(4, 12), number=2)
    pages = [kept(first), kept(second)]
    grouped = grouped_by_job(pages)
    assert grouped == by_job((*pages[0].items, *pages[1].items))
    assert 14 not in grouped and [t.id for t in grouped[12]] == [3, 4]


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=150, seed=4, today=date(2026, 11, 21))) as sandbox:
        yield sandbox


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def answer_tasks_level(tenant: Tenant) -> tuple[int, set[int]]:
    """One request's ``Job.tasks`` level over every listed job, read account-wide; the jobs
    answered from the listing's grouping and the ids of the tasks answered."""

    answers = await tasks_level(tenant)
    return len(answers), {t.id for tasks in answers for t in tasks}


async def tasks_level(tenant: Tenant) -> list[tuple[Task, ...]]:
    """Each listed job's tasks, as one request's ``Job.tasks`` level reads them account-wide."""

    async def per_job(job_id: int) -> tuple[Task, ...]:
        raise AssertionError(f"job {job_id} read on its own")

    jobs = await tenant.client.jobs.list().all()
    planner = JobTasksPlanner(tenant, per_job)
    for job in jobs:
        planner.note(job.id, job.tasks_count)
    planner.start(len(jobs))
    return await planner.tasks_of([job.id for job in jobs])


async def live_tasks(ids: set[int]) -> int:
    """Tasks of these ids alive anywhere (the callbacks of finished reads run first)."""
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Task and o.id in ids)


def check_kept_with_grouping(store: MemoryStore, ids: set[int]) -> None:
    """The task pages the store keeps carry their grouping, counted in their bytes."""
    cached = [slot.entry.value for slot in store._entries.values()]
    pages = [p for p in cached if isinstance(p, TaskPage) and p.by_job]
    assert {t.id for p in pages for t in p.items} >= ids
    for kept_page in pages:
        plain = Page(
            kept_page.items,
            kept_page.number,
            kept_page.per_page,
            kept_page.total_entries,
            kept_page.total_pages,
            kept_page.extra,
        )
        grouping = sys.getsizeof(kept_page.by_job) + sum(
            map(sys.getsizeof, kept_page.by_job.values())
        )
        assert deep_size(kept_page) >= deep_size(plain) + grouping + sys.getsizeof(kept_page.ids)


async def test_the_grouping_is_kept_in_the_cached_pages_and_goes_with_them(sb, http) -> None:
    client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
    store = MemoryStore()
    tenant = Tenant("demo", client, SharedCache(store=store))
    jobs, ids = await answer_tasks_level(tenant)  # cold: pages read, kept with their grouping
    assert jobs > 100 and len(ids) > 200
    assert (jobs, ids) == await answer_tasks_level(tenant)  # warm: from the kept pages' groupings
    check_kept_with_grouping(store, ids)
    assert await live_tasks(ids) > 0

    await tenant.cache.invalidate(tenant.key, resources.TASKS.name)  # the pages go
    assert await live_tasks(ids) == 0  # and no grouping of their tasks is left anywhere


async def test_a_cold_listing_is_read_as_kept_and_grouped_once(sb, http) -> None:
    """Each page is read straight into what the cache keeps (no raw to drop) and grouped as it is
    read: the cache keeps the very page the level grouped, and it holds what trimming the fully
    read tasks would have kept."""
    client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
    store = MemoryStore()
    tenant = Tenant("demo", client, SharedCache(store=store))
    answered = [t for tasks in await tasks_level(tenant) for t in tasks]
    cached = [slot.entry.value for slot in store._entries.values()]
    pages = sorted((p for p in cached if isinstance(p, TaskPage)), key=lambda p: p.number)
    assert len(pages) == pages[0].total_pages > 1
    assert all(kept(p) is p for p in pages)  # nothing left to trim: kept as read
    kept_ids = {id(t) for p in pages for t in p.items}
    assert answered and all(id(t) in kept_ids for t in answered)  # the cached tasks themselves
    full = await client.tasks.list().page(1, pages[0].per_page)
    trimmed = kept(full)
    assert isinstance(trimmed, TaskPage) and trimmed.by_job == pages[0].by_job
    assert trimmed.items == pages[0].items
