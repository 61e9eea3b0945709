"""The per-tenant write log that keeps replicas' caches honest (resolvers.generations), on one
shared store as two processes would see it."""

from __future__ import annotations

import itertools

import pytest

from resolvers.cache import CacheKey, MemoryStore
from resolvers.generations import LOG_KEY, LOG_RESOURCE, TenantWrites


@pytest.fixture(params=["log only", "generation first"])
def replicas(request):
    def make(keep: int = 64) -> tuple[TenantWrites, TenantWrites, MemoryStore]:
        return _replicas(keep, request.param == "generation first")

    return make


def _replicas(keep: int, first_look: bool) -> tuple[TenantWrites, TenantWrites, MemoryStore]:
    store = MemoryStore()
    counters = [itertools.count(1)]
    drawn: dict[str, int] = {}

    async def draw(tenant: str) -> int:
        drawn[tenant] = next(counters[-1])
        return drawn[tenant]

    async def current(tenant: str) -> int:
        return drawn.get(tenant, 0)

    look = current if first_look else None

    store.counters = counters  # type: ignore[attr-defined]  # a test restarts the numbering
    store.drawn = drawn  # type: ignore[attr-defined]

    return (
        TenantWrites(store, generation=draw, current=look, keep=keep),
        TenantWrites(store, generation=draw, current=look, keep=keep),
        store,
    )


async def test_a_write_on_one_replica_is_forgotten_on_the_other_and_not_again_on_its_own(
    replicas,
):
    a, b, _ = replicas()
    await a.sync("t")
    first_b, _ = await b.sync("t")
    # when
    await a.publish("t", lambda: ["customer"])
    # then
    generation_b, voided_b = await b.sync("t")
    generation_a, voided_a = await a.sync("t")
    assert voided_b == ("customer",) and generation_b != first_b
    assert voided_a == () and generation_a == generation_b  # a forgot it when writing
    assert await b.sync("t") == (generation_b, ())  # nothing new: nothing to forget


async def test_a_replica_too_far_behind_forgets_everything(replicas):
    a, b, _ = replicas(keep=2)
    await b.sync("t")
    for change in ("customer", "job", "task"):
        await a.publish("t", lambda change=change: [change])
    _, voided = await b.sync("t")
    assert voided is None


async def test_a_log_that_goes_back_voids_everything_and_every_generation_number_before(
    replicas,
):
    a, b, store = replicas()
    await a.publish("t", lambda: ["customer"])
    await a.publish("t", lambda: ["job"])
    before, _ = await b.sync("t")
    # when the store loses the log and its counter (a Redis restarted empty)
    await store.delete(CacheKey("t", LOG_RESOURCE, LOG_KEY))
    store.counters.append(itertools.count(1))  # type: ignore[attr-defined]
    store.drawn.clear()  # type: ignore[attr-defined]
    await a.publish("t", lambda: ["task"])  # generation 1 again
    after, voided = await b.sync("t")
    assert voided is None and after != before
