"""The event log and leases of the state store, on both backends (SQLite file, real redis-server):
an id appended once across processes, seq per tenant never reused, reading from a position, wait
woken by another process, retention, leases taken, renewed, refused and taken over."""

from __future__ import annotations

import asyncio
import multiprocessing

from resolvers.events import ChangeEvent, EventType, event_id
from resolvers.state import StateStore
from resolvers.state.memory_events import MemoryEvents
from tests.state import _procs
from tests.state.conftest import Backend
from tests.state.test_store import run_processes


def job_event(tenant: str, number: int, version: str = "v1") -> ChangeEvent:
    subject = {"jobNumber": number}
    return ChangeEvent(
        event_id(tenant, EventType.JOB_STATUS_CHANGED, subject, version),
        tenant,
        EventType.JOB_STATUS_CHANGED,
        "2026-01-01T00:00:00Z",
        subject,
        {"status": {"from": "open", "to": "complete"}},
    )


async def test_append_numbers_new_events_and_skips_known_ids(store: StateStore) -> None:
    first = await store.append("a", [job_event("a", 1), job_event("a", 2)])
    assert [e.seq for e in first] == [1, 2]
    again = await store.append("a", [job_event("a", 2), job_event("a", 3), job_event("a", 3)])
    assert [(e.id, e.seq) for e in again] == [(job_event("a", 3).id, 3)]
    assert await store.last_seq("a") == 3
    read = await store.after("a", 0)
    assert [e.seq for e in read] == [1, 2, 3]
    assert read[0] == job_event("a", 1).at(1)  # the whole event comes back as it went in
    assert [e.seq for e in await store.after("a", 1, limit=1)] == [2]
    assert await store.after("a", 3) == []
    assert await store.append("a", []) == []


async def test_tenants_have_their_own_logs(store: StateStore) -> None:
    await store.append("a", [job_event("a", 1)])
    # The same id in another tenant's log is another event.
    same_id = job_event("a", 1)
    assert [e.seq for e in await store.append("b", [same_id])] == [1]
    await store.append("a", [job_event("a", 2)])
    assert await store.last_seq("a") == 2
    assert await store.last_seq("b") == 1
    assert await store.last_seq("c") == 0
    assert [e.subject["jobNumber"] for e in await store.after("b", 0)] == [1]


async def test_wait_returns_at_once_when_the_log_is_past_the_position(store: StateStore) -> None:
    assert not await store.wait("a", 0, 0.05)
    await store.append("a", [job_event("a", 1)])
    assert await store.wait("a", 0, 5)
    assert not await store.wait("a", 1, 0.05)


async def test_wait_is_woken_by_another_store_instance(backend: Backend) -> None:
    reader, writer = backend.open(), backend.open()
    try:
        waiting = asyncio.ensure_future(reader.wait("a", 0, 30))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        await writer.append("a", [job_event("a", 1)])
        assert await asyncio.wait_for(waiting, 30)
    finally:
        await reader.aclose()
        await writer.aclose()


def test_processes_appending_the_same_events_append_each_once(backend: Backend) -> None:
    results = run_processes(
        _procs.append_events, [(backend.where, backend.prefix, 30) for _ in range(3)]
    )
    appended = [pair for result in results for pair in result]
    assert sorted(seq for _, seq in appended) == list(range(1, 31))
    assert len({event_id for event_id, _ in appended}) == 30

    async def read() -> list[ChangeEvent]:
        store = backend.open()
        try:
            return await store.after("tenant", 0, limit=1000)
        finally:
            await store.aclose()

    log = asyncio.run(read())
    assert [e.seq for e in log] == list(range(1, 31))
    assert [e.subject["jobNumber"] for e in log] == sorted(e.subject["jobNumber"] for e in log)


def test_wait_is_woken_by_an_append_in_another_process(backend: Backend) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    queue = context.Queue()
    child = context.Process(
        target=_procs.append_later, args=(backend.where, backend.prefix, barrier, queue)
    )
    child.start()
    try:

        async def wait() -> tuple[bool, list[ChangeEvent]]:
            store = backend.open()
            try:
                await store.ping()
                waiting = asyncio.ensure_future(store.wait("waited", 0, 60))
                await asyncio.sleep(0)
                barrier.wait(timeout=60)
                woken = await waiting
                return woken, await store.after("waited", 0)
            finally:
                await store.aclose()

        woken, events = asyncio.run(wait())
        assert woken
        assert [(e.id, e.seq) for e in events] == [("evt_late", 1)]
        assert queue.get(timeout=60) == 1
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0


async def test_events_go_after_their_retention_and_past_the_cap(backend: Backend) -> None:
    if backend.name == "redis":
        from resolvers.state.redis_store import RedisStateStore

        store: StateStore = RedisStateStore(
            backend.where, prefix=backend.prefix, event_retention=0.3, event_cap=3
        )
    else:
        from resolvers.state.sqlite_store import SQLiteStateStore

        store = SQLiteStateStore(backend.where + ".db", event_retention=0.3, event_cap=3)
    try:
        await store.append("a", [job_event("a", n) for n in range(1, 6)])
        assert [e.seq for e in await store.after("a", 0)] == [3, 4, 5]  # the cap
        await asyncio.sleep(0.4)
        await store.append("a", [job_event("a", 6)])
        assert [e.seq for e in await store.after("a", 0)] == [6]  # the others expired
        # Seq numbers go on past what expired; and what expired may not come back as new.
        assert await store.last_seq("a") == 6
    finally:
        await store.aclose()


async def test_a_lease_is_taken_renewed_refused_released_and_taken_over(
    backend: Backend,
) -> None:
    a, b = backend.open(), backend.open()
    try:
        assert await a.lease("watch:t", "a", 0.5)
        assert not await b.lease("watch:t", "b", 0.5)
        assert await a.lease("watch:t", "a", 0.5)  # renewed
        await b.release("watch:t", "b")  # not b's: nothing happens
        assert not await b.lease("watch:t", "b", 0.5)
        await a.release("watch:t", "a")
        assert await b.lease("watch:t", "b", 0.3)
        await asyncio.sleep(0.4)  # b's lease lapses without renewal
        assert await a.lease("watch:t", "a", 5)
        assert await b.lease("watch:other", "b", 5)  # leases are by name
    finally:
        await a.aclose()
        await b.aclose()


async def test_the_in_memory_log_follows_the_same_rules() -> None:
    log = MemoryEvents(event_cap=3)
    assert [e.seq for e in await log.append("a", [job_event("a", 1), job_event("a", 1)])] == [1]
    waiting = asyncio.ensure_future(log.wait("a", 1, 30))
    await asyncio.sleep(0)
    await log.append("a", [job_event("a", n) for n in range(2, 6)])
    assert await waiting
    assert [e.seq for e in await log.after("a", 0)] == [3, 4, 5]
    assert not await log.wait("a", 5, 0.01)
    assert await log.lease("l", "x", 5) and not await log.lease("l", "y", 5)
    await log.release("l", "x")
    assert await log.lease("l", "y", 5)


async def test_many_waiters_of_a_tenant_share_one_watch_and_wake_as_their_seq_says(
    backend: Backend,
) -> None:
    reader, writer = backend.open(), backend.open()
    try:
        await writer.append("a", [job_event("a", 1)])
        behind = [asyncio.ensure_future(reader.wait("a", 1, 30)) for _ in range(40)]
        ahead = asyncio.ensure_future(reader.wait("a", 2, 1.0))  # waits for a second event
        watches = reader._waiters._watches  # type: ignore[attr-defined]
        for _ in range(200):  # until every waiter has read the log once and waits
            if "a" in watches and watches["a"].waiters == 41:
                break
            await asyncio.sleep(0.05)
        assert list(watches) == ["a"] and watches["a"].waiters == 41  # one watch of the log
        await writer.append("a", [job_event("a", 2)])
        assert all(await asyncio.gather(*behind))
        assert not await ahead  # the log moved, but not past its position
        for _ in range(100):  # the watch ends with its last waiter (after its current slice)
            if not watches:
                break
            await asyncio.sleep(0.05)
        assert not watches
    finally:
        await reader.aclose()
        await writer.aclose()
