"""What the child processes of the state suite run (importable by ``multiprocessing``'s spawn)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from resolvers.cache import CacheKey
from resolvers.state import open_state_store

T = TypeVar("T")


def _run(barrier: Any, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``work``; if it fails, break the barrier so the other processes fail now, not later."""
    try:
        return asyncio.run(work())
    except BaseException:
        barrier.abort()
        raise


def race_add(where: str, prefix: str, keys: list[str], name: str, barrier: Any, out: Any) -> None:
    """``add`` every key once, all processes released together for each key; report the keys
    this one won."""

    async def run() -> list[str]:
        store = open_state_store(where, prefix=prefix)
        await store.ping()  # connected before the start, so the race is on the adds
        won = []
        for key in keys:
            barrier.wait(timeout=60)
            if await store.add(CacheKey("tenant", "idempotency", key), {"owner": name}, 60):
                won.append(key)
        await store.aclose()
        return won

    out.put((name, _run(barrier, run)))


def count_by_swap(where: str, prefix: str, times: int, barrier: Any, out: Any) -> None:
    """Add one to a shared counter ``times`` times by compare-and-set; report the retries."""

    async def run() -> int:
        store = open_state_store(where, prefix=prefix)
        await store.ping()
        key = CacheKey("tenant", "counter", "n")
        barrier.wait(timeout=60)
        retries = 0
        for _ in range(times):
            while True:
                entry = await store.get(key)
                assert entry is not None
                if await store.swap(key, entry.value, {"n": entry.value["n"] + 1}, 60):
                    break
                retries += 1
        await store.aclose()
        return retries

    out.put(_run(barrier, run))


def bump_generations(where: str, prefix: str, times: int, barrier: Any, out: Any) -> None:
    async def run() -> list[int]:
        store = open_state_store(where, prefix=prefix)
        await store.ping()
        barrier.wait(timeout=60)
        seen = [await store.bump_generation("tenant") for _ in range(times)]
        await store.aclose()
        return seen

    out.put(_run(barrier, run))


def publish_write(where: str, tenant: str, change: str, barrier: Any, out: Any) -> None:
    """Publish one write of ``tenant`` that changed ``change``, as a server's write does; report
    its generation."""
    from resolvers.generations import TenantWrites

    async def run() -> int:
        store = open_state_store(where)
        writes = TenantWrites(store, generation=store.bump_generation, current=store.generation)
        generation = await writes.publish(tenant, lambda: [change])
        await store.aclose()
        return generation

    out.put(_run(barrier, run))


def write_then_die(where: str) -> None:
    """Store a record and bump a generation, then die by SIGKILL without closing anything."""

    async def run() -> None:
        store = open_state_store(where)
        assert await store.add(CacheKey("tenant", "idempotency", "k"), {"state": "done"}, 3600)
        await store.bump_generation("tenant")
        assert await store.apq_put("a" * 64, "{ survivor }")

    asyncio.run(run())
    os.kill(os.getpid(), signal.SIGKILL)


def open_together(paths: list[str], barrier: Any, out: Any) -> None:
    """Open each new file at the same moment as the other processes, then use it."""

    async def run() -> int:
        opened = 0
        for path in paths:
            barrier.wait(timeout=60)
            store = open_state_store(path)
            await store.add(CacheKey("tenant", "idempotency", str(os.getpid())), {}, 60)
            await store.aclose()
            opened += 1
        return opened

    out.put(_run(barrier, run))


def append_events(where: str, prefix: str, count: int, barrier: Any, out: Any) -> None:
    """Append the same ``count`` events as the other processes, one call per event, all released
    together; report the ids this process appended, with their seq."""
    from resolvers.events import ChangeEvent, EventType, event_id

    async def run() -> list[tuple[str, int]]:
        store = open_state_store(where, prefix=prefix)
        await store.ping()
        barrier.wait(timeout=60)
        appended = []
        for n in range(count):
            subject = {"jobNumber": n}
            event = ChangeEvent(
                event_id("tenant", EventType.JOB_CREATED, subject, "v1"),
                "tenant",
                EventType.JOB_CREATED,
                "2026-01-01T00:00:00Z",
                subject,
            )
            appended += [(e.id, e.seq) for e in await store.append("tenant", [event])]
        await store.aclose()
        return appended

    out.put(_run(barrier, run))


def append_later(where: str, prefix: str, barrier: Any, out: Any) -> None:
    """Once the parent waits (the barrier), append one event of tenant "waited"."""
    from resolvers.events import ChangeEvent, EventType

    async def run() -> int:
        store = open_state_store(where, prefix=prefix)
        await store.ping()
        barrier.wait(timeout=60)
        await asyncio.sleep(0.3)
        event = ChangeEvent("evt_late", "waited", EventType.CUSTOMER_UPDATED, "", {"n": 1})
        appended = await store.append("waited", [event])
        await store.aclose()
        return len(appended)

    out.put(_run(barrier, run))
