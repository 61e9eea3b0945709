"""The account-wide task listing as the planner reads it (resolvers.task_groups, read by
resolvers.plan): each task kept as listed with its ids, grouped by job per page (the same groups from
the pages' own groupings as from the listing's tasks), parsed when its job's tasks are asked; and
kept inside the cached pages: counted in their bytes, and gone with them (nothing of a listing
outlives the cache's bound).
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from kickserv import KickservClient, Page, ResponseShape, Task
from resolvers import resources
from resolvers.bounded import deep_size
from resolvers.cache import MemoryStore, SharedCache
from resolvers.kept import kept, kept_task
from resolvers.plan import JobTasksPlanner
from resolvers.task_groups import (
    ListedPage,
    ListedTask,
    by_job,
    grouped_by_job,
    listed_page,
    listed_task,
    parsed_group,
)
from resolvers.tenant import Tenant
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox


def task(task_id: int, job_id: int | None) -> ListedTask:
    return listed_task({"id": task_id, "job_id": job_id})


def page(*tasks: ListedTask, number: int = 1) -> ListedPage:
    return listed_page(Page(tasks, number, 100, 0, 0))


def test_tasks_are_grouped_by_job_once_each_without_jobless_ones() -> None:
    a, b, c, jobless = task(1, 10), task(2, 10), task(3, 11), task(4, None)
    assert by_job((a, b, c, jobless, task(2, 10))) == {10: (a, b), 11: (c,)}


def test_the_pages_groupings_merge_into_the_listings() -> None:
    first = page(task(1, 10), task(2, 11), task(3, 12))
    second = page(task(4, 12), task(5, 13), task(6, None), number=2)  # job 12 spans both
    everything = (*first.items, *second.items)
    assert grouped_by_job([first, second]) == by_job(everything)
    assert grouped_by_job([first, second])[12] == (first.items[2], second.items[0])
    assert kept(first) is first  # the cache keeps the page as read


def test_a_task_on_two_pages_is_grouped_once_where_first_listed() -> None:
    moved = task(3, 14)  # task 3 again on page 2 (the listing moved), now under job 14
    pages = [page(task(1, 10), task(3, 12)), page(moved, task(4, 12), number=2)]
    grouped = grouped_by_job(pages)
    assert grouped == by_job((*pages[0].items, *pages[1].items))
    assert 14 not in grouped and [t.id for t in grouped[12]] == [3, 4]


@pytest.mark.parametrize(
    ("raw", "job_id"),
    [
        ({"id": 1, "job_id": 7}, 7),
        ({"id": 1, "job": {"id": 7, "job_number": 3}}, 7),  # the job glue's id
        ({"id": 1, "job_id": 7, "job": {"id": 7}}, 7),
        ({"id": 1}, None),
        ({"id": 1, "job": None}, None),
        ({"id": 1, "job": 7}, 7),
    ],
)
def test_a_listed_task_has_the_ids_a_whole_read_has(raw: dict[str, Any], job_id: int) -> None:
    listed, whole = listed_task(raw), Task.from_json(raw)
    assert (listed.id, listed.job_id) == (whole.id, whole.job_id) == (1, job_id)
    assert listed.json is raw
    assert listed.task() == kept_task(raw) and listed.json is None  # the parse replaces the JSON
    assert listed.task() is listed.task()  # parsed once


@pytest.mark.parametrize(
    "raw",
    [
        {"job_id": 7},
        {"id": "x"},
        ["id", 1],
        None,
        {"id": 1, "job_id": "seven"},
        {"id": 1, "job": {}},
    ],
)
def test_a_listed_task_refuses_what_a_whole_read_refuses(raw: Any) -> None:
    with pytest.raises(ResponseShape):
        Task.from_json(raw)
    with pytest.raises(ResponseShape):
        listed_task(raw)


def test_a_group_is_parsed_when_asked_and_names_the_task_that_cannot_be() -> None:
    good = task(1, 10)
    bad = listed_task({"id": 2, "job_id": 10, "starts_at": "the 3rd"})  # ids read, not the rest
    assert parsed_group((good,)) == (kept_task({"id": 1, "job_id": 10}),)
    with pytest.raises(ResponseShape, match=r"task 2 of /tasks\.json"):
        parsed_group((good, bad))
    assert bad.json is not None  # kept as listed: the next read fails the same way
    with pytest.raises(ResponseShape):
        bad.task()


def test_a_parsed_task_weighs_less_than_its_json() -> None:
    """What the cache counted for a page (its tasks' JSON) bounds it once tasks are parsed."""
    raw = {
        "id": 7, "job_id": 3, "description": "Service visit", "starts_at": "2026-11-20T09:00:00-05:00",
        "ends_at": "2026-11-20T11:00:00-05:00", "completed": False, "employee_ids": [4],
        "job": {"id": 3, "job_number": 1001, "name": "HVAC", "status": "open", "customer_id": 9},
        "customer": {"id": 9, "customer_number": 2, "name": "Acme", "service_address": "1 Main St"},
        "employees": [{"id": 4, "employee_number": 1, "name": "Laura Green"}],
        "primary_contact": {"id": 5, "name": "Andrea Sullivan"},
    }  # fmt: skip
    listed = listed_task(raw)
    before = deep_size(listed)
    listed.task()
    assert deep_size(listed) < before


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
    return sum(1 for o in gc.get_objects() if type(o) in (Task, ListedTask) and o.id in ids)


def check_kept_with_grouping(store: MemoryStore, ids: set[int]) -> None:
    """The task pages the store keeps carry their grouping, counted in their bytes."""
    cached = [slot.entry.value for slot in store._entries.values()]
    pages = [p for p in cached if isinstance(p, ListedPage) and p.by_job]
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

    await tenant.cache.invalidate(tenant.key, resources.TASKS_LISTED.name)  # the pages go
    assert await live_tasks(ids) == 0  # and no grouping of their tasks is left anywhere


async def test_a_cold_listing_is_kept_as_listed_and_grouped_once(sb, http) -> None:
    """Each page is kept as read, its tasks as listed, and grouped as it is read: the cache keeps
    the very pages the level grouped, and the level answers what a whole read, trimmed as the cache
    trims a task, answers."""
    client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
    store = MemoryStore()
    tenant = Tenant("demo", client, SharedCache(store=store))
    answered = [t for tasks in await tasks_level(tenant) for t in tasks]
    cached = [slot.entry.value for slot in store._entries.values()]
    pages = sorted((p for p in cached if isinstance(p, ListedPage)), key=lambda p: p.number)
    assert len(pages) == pages[0].total_pages > 1
    assert all(kept(p) is p for p in pages)  # nothing to trim: kept as read
    answered_ids = {t.id for t in answered}
    for listed in (t for p in pages for t in p.items):  # parsed: those answered, and only those
        assert (listed.json is None) == (listed.id in answered_ids)
    whole = [kept(t) for t in await client.tasks.list().all()]
    assert [t.task() for p in pages for t in p.items] == whole  # as a whole read, trimmed
    expected = by_job(await client.tasks.every(listed_task).all())  # a fresh read, grouped
    jobs = await client.jobs.list().all()
    assert answered == [t.task() for job in jobs for t in expected.get(job.id, ())]
    again = [t for tasks in await tasks_level(tenant) for t in tasks]  # warm: parsed before
    assert len(again) == len(answered) and all(a is b for a, b in zip(again, answered, strict=True))


async def test_a_task_that_cannot_be_parsed_sends_only_its_job_to_its_own_listing() -> None:
    listed = [
        {"id": 1, "job_id": 10, "starts_at": "the 3rd"},  # its ids read, its start not
        {"id": 2, "job_id": 11, "starts_at": "2026-11-20T09:00:00-05:00"},
    ]
    expected = kept_task(dict(listed[1]))

    def kickserv(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/tasks.json") and "job_id" not in request.url.params
        body = {"tasks": listed, "current_page": 1, "per_page": 100, "total_entries": 2}
        return httpx.Response(200, json={**body, "total_pages": 1})

    alone: list[int] = []

    async def per_job(job_id: int) -> tuple[Task, ...]:
        alone.append(job_id)
        raise ResponseShape("the job's own listing answers the same task")

    async with httpx.AsyncClient(transport=httpx.MockTransport(kickserv)) as http:
        client = KickservClient("demo", "t", base_url="http://kickserv.test", http=http)
        planner = JobTasksPlanner(Tenant("demo", client, SharedCache(store=MemoryStore())), per_job)
        planner.note(10, 1)
        planner.note(11, 1)
        planner.start(2)
        assert await planner.tasks_of([11]) == [(expected,)]  # from the listing
        assert planner.ready(11) == (expected,)
        assert planner.ready(10) is None  # ask the loader: the level reads it on its own
        with pytest.raises(ResponseShape):
            await planner.tasks_of([10, 11])
    assert alone == [10]
