"""The state store suite: every test here runs on both backends (SQLite file, real redis-server)."""

from __future__ import annotations

import asyncio
import datetime
import multiprocessing
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from resolvers.cache import CacheKey, Entry
from resolvers.state import StateStore, rate_update
from resolvers.writes.errors import LeaseLost
from resolvers.writes.idempotency import Claim, IdempotencyLedger, Replay
from tests.state import _procs
from tests.state.conftest import Backend

KEY = CacheKey("acct-1:cred-a", "idempotency", "key-1")


def digest_of(n: int) -> str:
    return f"{n:064x}"


# -- records: the CacheStore operations ---------------------------------------------------------


async def test_add_stores_only_when_nothing_is_there(store: StateStore) -> None:
    assert await store.add(KEY, {"owner": "a"}, 60)
    assert not await store.add(KEY, {"owner": "b"}, 60)
    entry = await store.get(KEY)
    assert entry is not None and entry.value == {"owner": "a"}


async def test_swap_replaces_only_the_expected_value(store: StateStore) -> None:
    assert not await store.swap(KEY, {"v": 1}, {"v": 2}, 60)  # nothing there
    assert await store.get(KEY) is None
    await store.add(KEY, {"v": 1, "journal": {"done": {}}}, 60)
    assert not await store.swap(KEY, {"v": 0, "journal": {"done": {}}}, {"v": 2}, 60)
    # Equality is of values, not of key order.
    assert await store.swap(KEY, {"journal": {"done": {}}, "v": 1}, {"v": 2}, 60)
    assert not await store.swap(KEY, {"v": 1, "journal": {"done": {}}}, {"v": 3}, 60)
    entry = await store.get(KEY)
    assert entry is not None and entry.value == {"v": 2}


async def test_values_come_back_as_the_json_they_were(store: StateStore) -> None:
    value = {
        "v": 3,
        "lease": 1790000000.125,
        "owner": None,
        "ok": True,
        "text": "Zoë: 'a|b' \"c\" \u2603",
        "journal": {"done": {"create": {"id": 12, "numbers": [1, 2.5, -3]}}},
    }
    assert await store.add(KEY, value, 60)
    entry = await store.get(KEY)
    assert entry is not None and entry.value == value
    assert await store.swap(KEY, entry.value, {**value, "v": 4}, 60)


async def test_a_value_that_is_not_json_is_refused(store: StateStore) -> None:
    for bad in ({"amount": Decimal("1.10")}, {"at": datetime.datetime.now(datetime.UTC)}):
        with pytest.raises(TypeError, match="JSON"):
            await store.add(KEY, bad, 60)
    with pytest.raises(TypeError):
        await store.add(KEY, {1: "non-string key"}, 60)
    assert await store.get(KEY) is None


async def test_ttl_must_be_positive(store: StateStore) -> None:
    with pytest.raises(ValueError, match="positive"):
        await store.add(KEY, {}, 0)
    with pytest.raises(ValueError, match="positive"):
        await store.swap(KEY, {}, {}, -1)


async def test_get_tells_the_remaining_lifetime_in_the_callers_clock(store: StateStore) -> None:
    await store.add(KEY, {"v": 1}, 30)
    entry = await store.get(KEY)
    assert entry is not None
    remaining = entry.stale_until - time.monotonic()
    assert 29 < remaining <= 30.01
    assert entry.fresh_until == entry.stale_until


async def test_set_keeps_fresh_and_stale_windows(store: StateStore) -> None:
    now = time.monotonic()
    key = CacheKey("acct-1:cred-a", "customers", 42)
    await store.set(key, Entry({"id": 42}, now + 10, now + 40))
    entry = await store.get(key)
    assert entry is not None and entry.value == {"id": 42}
    assert entry.fresh_until - time.monotonic() == pytest.approx(10, abs=0.5)
    assert entry.stale_until - time.monotonic() == pytest.approx(40, abs=0.5)
    await store.set(key, Entry({"id": 43}, now - 2, now - 1))  # already over: removed
    assert await store.get(key) is None


async def test_delete(store: StateStore) -> None:
    await store.add(KEY, {"v": 1}, 60)
    await store.delete(KEY)
    assert await store.get(KEY) is None
    await store.delete(KEY)  # absent: nothing happens
    assert await store.add(KEY, {"v": 2}, 60)


async def test_entries_expire_after_their_ttl(store: StateStore) -> None:
    await store.add(KEY, {"v": 1}, 0.2)
    assert await store.get(KEY) is not None
    await asyncio.sleep(0.35)
    assert await store.get(KEY) is None
    assert not await store.swap(KEY, {"v": 1}, {"v": 2}, 60)  # expired counts as absent
    assert await store.add(KEY, {"v": 3}, 0.2)
    # swap sets a new time-to-live.
    assert await store.swap(KEY, {"v": 3}, {"v": 4}, 60)
    await asyncio.sleep(0.35)
    entry = await store.get(KEY)
    assert entry is not None and entry.value == {"v": 4}


async def test_delete_resources_forgets_one_tenants_resources_only(store: StateStore) -> None:
    tenant, other = "acct-1:cred-a", "acct-1:cred-b"
    for t in (tenant, other):
        for resource in ("customers", "jobs", "employees"):
            for k in (1, "1", (1, "x")):
                await store.add(CacheKey(t, resource, k), {"k": str(k)}, 60)
    assert await store.delete_resources(tenant, frozenset({"customers", "jobs"})) == 6
    for resource, kept in (("customers", False), ("jobs", False), ("employees", True)):
        assert (await store.get(CacheKey(tenant, resource, 1)) is not None) is kept
        assert await store.get(CacheKey(other, resource, 1)) is not None
    assert await store.delete_resources(tenant, frozenset()) == 0


async def test_keys_never_collide_across_tenants_resources_and_key_types(
    store: StateStore,
) -> None:
    keys = [
        CacheKey("a:b", "c", "d"),
        CacheKey("a", "b:c", "d"),
        CacheKey("a", "b", "c:d"),
        CacheKey("a%3Ab", "c", "d"),
        CacheKey("a", "b", "1"),
        CacheKey("a", "b", 1),
        CacheKey("a", "b", ("1",)),
        CacheKey("*", "b", "d"),
        CacheKey("[a]", "b", "d"),
    ]
    for n, key in enumerate(keys):
        assert await store.add(key, {"n": n}, 60), key
    for n, key in enumerate(keys):
        entry = await store.get(key)
        assert entry is not None and entry.value == {"n": n}, key
    # Pattern characters in a tenant reach nobody else's keys.
    assert await store.delete_resources("*", frozenset({"b"})) == 1
    assert await store.delete_resources("a", frozenset({"*"})) == 0
    assert await store.get(CacheKey("a", "b", 1)) is not None


async def test_two_store_instances_see_the_same_records(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    try:
        assert await first.add(KEY, {"owner": "first"}, 60)
        assert not await second.add(KEY, {"owner": "second"}, 60)
        entry = await second.get(KEY)
        assert entry is not None and entry.value == {"owner": "first"}
        assert await second.swap(KEY, entry.value, {"owner": "second"}, 60)
        assert not await first.swap(KEY, {"owner": "first"}, {"owner": "late"}, 60)
    finally:
        await first.aclose()
        await second.aclose()


async def test_concurrent_adds_in_one_process_have_one_winner(backend: Backend) -> None:
    stores = [backend.open() for _ in range(3)]
    try:
        for n in range(20):
            key = CacheKey("t", "idempotency", f"k{n}")
            results = await asyncio.gather(
                *(
                    s.add(key, {"by": i, "try": t}, 60)
                    for i, s in enumerate(stores)
                    for t in range(3)
                )
            )
            assert sum(results) == 1
    finally:
        for s in stores:
            await s.aclose()


# -- many processes ------------------------------------------------------------------------------


def run_processes(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*a, barrier, queue)`` in one spawned process per ``a``, started together."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(args))
    queue = context.Queue()
    processes = [context.Process(target=target, args=(*a, barrier, queue)) for a in args]
    for process in processes:
        process.start()
    results: list[Any] = []
    deadline = time.monotonic() + 120
    try:
        while len(results) < len(processes):
            try:
                results.append(queue.get(timeout=0.2))
            except Exception:  # queue.Empty
                failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
                assert not failed, f"a child process failed (exit codes {failed})"
                assert time.monotonic() < deadline, "child processes took over 120 s"
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
    assert [p.exitcode for p in processes] == [0] * len(processes)
    return results


def test_processes_racing_add_on_each_key_have_exactly_one_winner(backend: Backend) -> None:
    keys = [f"key-{n}" for n in range(60)]
    names = [f"p{n}" for n in range(4)]
    results = dict(
        run_processes(_procs.race_add, [(backend.where, backend.prefix, keys, n) for n in names])
    )
    won = [key for name in names for key in results[name]]
    assert sorted(won) == sorted(keys), "every key won exactly once"
    assert sum(1 for name in names if results[name]) >= 2, f"no race happened: {results}"


def test_processes_counting_by_compare_and_set_lose_no_update(backend: Backend) -> None:
    async def seed() -> None:
        store = backend.open()
        await store.add(CacheKey("tenant", "counter", "n"), {"n": 0}, 60)
        await store.aclose()

    async def read() -> Any:
        store = backend.open()
        entry = await store.get(CacheKey("tenant", "counter", "n"))
        await store.aclose()
        return None if entry is None else entry.value

    asyncio.run(seed())
    retries = run_processes(
        _procs.count_by_swap, [(backend.where, backend.prefix, 40) for _ in range(4)]
    )
    assert asyncio.run(read()) == {"n": 160}
    assert sum(retries) > 0, "no contention happened"


def test_processes_bumping_generations_never_get_the_same_number(backend: Backend) -> None:
    results = run_processes(
        _procs.bump_generations, [(backend.where, backend.prefix, 50) for _ in range(3)]
    )
    numbers = [n for seen in results for n in seen]
    assert len(set(numbers)) == 150
    for seen in results:
        assert seen == sorted(seen)

    async def last() -> int:
        store = backend.open()
        generation = await store.generation("tenant")
        await store.aclose()
        return generation

    assert asyncio.run(last()) == max(numbers)


# -- the idempotency ledger on a shared store ----------------------------------------------------


async def test_ledger_duplicate_on_another_instance_waits_and_replays(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    try:
        first = await IdempotencyLedger(a, lease=5).begin("t", "k", "createCustomer", "fp")
        assert isinstance(first, Claim)
        duplicate = asyncio.ensure_future(
            IdempotencyLedger(b, lease=5).begin("t", "k", "createCustomer", "fp")
        )
        await asyncio.sleep(0.1)
        assert not duplicate.done()
        first.journal.setdefault("done", {})["create"] = {"id": 7}
        await first.save()
        await first.finish({"customer": {"id": 7}})
        assert await asyncio.wait_for(duplicate, 5) == Replay({"customer": {"id": 7}})
    finally:
        await a.aclose()
        await b.aclose()


async def test_ledger_takes_over_a_lapsed_lease_from_another_instance(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    try:
        first = await IdempotencyLedger(a, lease=0.3).begin("t", "k", "createJob", "fp")
        assert isinstance(first, Claim)
        first.journal.setdefault("done", {})["job"] = {"id": 9}
        await first.save()
        first.stop_heartbeat()  # the replica running it stalls
        await asyncio.sleep(0.4)
        second = await IdempotencyLedger(b, lease=5).begin("t", "k", "createJob", "fp")
        assert isinstance(second, Claim) and second.resumed
        assert second.journal["done"] == {"job": {"id": 9}}
        with pytest.raises(LeaseLost):
            await first.save()
        await second.finish({"job": {"id": 9}})
    finally:
        await a.aclose()
        await b.aclose()


# -- APQ -----------------------------------------------------------------------------------------


async def test_apq_stores_and_finds_query_text(store: StateStore) -> None:
    assert await store.apq_get(digest_of(1)) is None
    assert await store.apq_put(digest_of(1), "query { customers { id } }")
    assert await store.apq_get(digest_of(1)) == "query { customers { id } }"
    assert await store.apq_put(digest_of(1), "query { customers { id } }")  # again: fine
    with pytest.raises(ValueError, match="sha256"):
        await store.apq_get("not-a-digest")
    with pytest.raises(ValueError, match="sha256"):
        await store.apq_put("A" * 64, "{ x }")  # uppercase hex


async def test_apq_is_shared_by_store_instances(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    try:
        await a.apq_put(digest_of(7), "{ seven }")
        assert await b.apq_get(digest_of(7)) == "{ seven }"
    finally:
        await a.aclose()
        await b.aclose()


async def test_apq_keeps_within_its_byte_budget_oldest_out_first(backend: Backend) -> None:
    store = backend.open(apq_max_bytes=1000)
    try:
        for n in range(8):  # 8 x 200 bytes into a 1000 byte budget
            assert await store.apq_put(digest_of(n), f"#{n}".ljust(200, "x"))
            await asyncio.sleep(0.002)  # distinct storing times
        kept = [n for n in range(8) if await store.apq_get(digest_of(n)) is not None]
        assert kept == [3, 4, 5, 6, 7]
        # A query larger than the whole budget is not stored (and evicts nothing).
        assert not await store.apq_put(digest_of(99), "y" * 1001)
        assert await store.apq_get(digest_of(99)) is None
        assert await store.apq_get(digest_of(3)) is not None
        # Storing one again renews it: it is no longer the oldest.
        await store.apq_put(digest_of(3), "#3".ljust(200, "x"))
        await asyncio.sleep(0.002)
        await store.apq_put(digest_of(8), "#8".ljust(200, "x"))
        kept = [n for n in range(9) if await store.apq_get(digest_of(n)) is not None]
        assert kept == [3, 5, 6, 7, 8]
        # Multi-byte text counts in bytes.
        await store.apq_put(digest_of(9), "é" * 300)  # 600 bytes
        kept = [n for n in range(10) if await store.apq_get(digest_of(n)) is not None]
        assert kept == [3, 8, 9]  # 200 + 200 + 600 bytes: the budget exactly
    finally:
        await store.aclose()


async def test_apq_entries_expire(backend: Backend) -> None:
    store = backend.open(apq_ttl=0.2, apq_max_bytes=1000)
    try:
        for n in range(4):
            await store.apq_put(digest_of(n), "z" * 200)
        await asyncio.sleep(0.35)
        assert await store.apq_get(digest_of(0)) is None
        # The expired ones no longer count against the budget.
        for n in range(10, 15):
            await store.apq_put(digest_of(n), "z" * 200)
        kept = [n for n in range(10, 15) if await store.apq_get(digest_of(n)) is not None]
        assert kept == list(range(10, 15))
    finally:
        await store.aclose()


# -- write generations ---------------------------------------------------------------------------


async def test_generations_are_monotonic_and_never_reused(store: StateStore) -> None:
    assert await store.generation("acct-1") == 0
    seen = []
    for tenant in ("acct-1", "acct-2", "acct-1", "acct-1", "acct-2"):
        bumped = await store.bump_generation(tenant)
        assert await store.generation(tenant) == bumped
        seen.append(bumped)
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert await store.generation("acct-3") == 0


async def test_generations_are_shared_by_store_instances_at_once(backend: Backend) -> None:
    a, b = backend.open(), backend.open()
    try:
        before = await b.generation("acct-1")
        bumped = await a.bump_generation("acct-1")
        assert bumped > before
        assert await b.generation("acct-1") == bumped
        together = await asyncio.gather(
            *(s.bump_generation("acct-1") for _ in range(25) for s in (a, b))
        )
        assert len(set(together)) == 50 and min(together) > bumped
        assert await a.generation("acct-1") == await b.generation("acct-1") == max(together)
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_tenants_generation_expires_after_its_ttl_but_numbers_go_on(
    backend: Backend,
) -> None:
    store = backend.open(generation_ttl=0.25)
    try:
        first = await store.bump_generation("acct-1")
        await store.bump_generation("acct-2")
        await asyncio.sleep(0.15)
        kept = await store.bump_generation("acct-2")  # a write elsewhere keeps the counter alive
        await asyncio.sleep(0.15)
        assert await store.generation("acct-1") == 0  # expired
        assert await store.generation("acct-2") == kept
        assert await store.bump_generation("acct-1") > kept > first
    finally:
        await store.aclose()


# -- upstream rate state -------------------------------------------------------------------------


async def test_rate_state_compare_and_set(store: StateStore) -> None:
    assert await store.rate_get("cred-1") is None
    assert not await store.rate_swap("cred-1", {"rate": 1}, {"rate": 2}, 60)
    assert await store.rate_swap("cred-1", None, {"rate": 5.0, "until": 12.5}, 60)
    assert not await store.rate_swap("cred-1", None, {"rate": 1}, 60)
    assert await store.rate_swap("cred-1", {"until": 12.5, "rate": 5.0}, {"rate": 4.0}, 60)
    assert await store.rate_get("cred-1") == {"rate": 4.0}
    assert await store.rate_get("cred-2") is None
    # Rate state and records never meet, whatever the names.
    assert await store.get(CacheKey("cred-1", "", "")) is None


async def test_rate_update_from_two_instances_loses_nothing(backend: Backend) -> None:
    a, b = backend.open(), backend.open()

    def plus_one(state: Any) -> Any:
        return {"n": (state or {"n": 0})["n"] + 1}

    try:
        await asyncio.gather(
            *(rate_update(s, "cred", plus_one, 60) for _ in range(20) for s in (a, b))
        )
        assert await a.rate_get("cred") == {"n": 40}
    finally:
        await a.aclose()
        await b.aclose()


async def test_rate_state_expires(store: StateStore) -> None:
    await store.rate_swap("cred-1", None, {"rate": 1}, 0.2)
    await asyncio.sleep(0.35)
    assert await store.rate_get("cred-1") is None


async def test_ping_and_description(store: StateStore, backend: Backend) -> None:
    await store.ping()
    assert store.description.startswith("sqlite:" if backend.name == "sqlite" else "redis://")
