"""The rate governor of one credential, on a clock that moves only when something sleeps: unthrottled
until a 429; a 429 pauses everyone and cuts the rate once per round; paced successes raise it; a
turn past the deadline is refused; replicas share cuts and pauses through a RateShare."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kickserv.governor import Governor, GovernorPolicy, TooLong


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.wall = 1_700_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall_clock(self) -> float:
        return self.wall + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def t() -> FakeTime:
    return FakeTime()


def governor(t: FakeTime, **policy: Any) -> Governor:
    return Governor(GovernorPolicy(**policy), clock=t.clock, wall=t.wall_clock, sleep=t.sleep)


async def test_unthrottled_until_a_429_a_level_goes_at_once(t):
    g = governor(t)
    permits = [await g.acquire() for _ in range(64)]
    assert t.sleeps == []
    assert not any(p.paced for p in permits)
    assert g.snapshot().rate is None and g.snapshot().sent == 64


async def test_a_429_pauses_every_call_for_its_retry_after_and_sets_a_rate(t):
    g = governor(t, decrease=0.5, burst=0.0)
    permits = [await g.acquire() for _ in range(40)]  # 40 sent in the last second
    g.rate_limited(permits[-1], retry_after=2.0)
    assert g.rate == 20.0  # half of what went in the last second
    assert g.paused_for() == 2.0

    await g.acquire()  # any call of the credential, not only the one that got the 429
    await g.acquire()
    assert t.sleeps == [2.0, 0.05]  # the pause, then one turn at 20/s
    snap = g.snapshot()
    assert (snap.pauses, snap.cuts, snap.rate_limited) == (1, 1, 1)


async def test_429s_of_one_round_cut_the_rate_once(t):
    g = governor(t, decrease=0.5)
    permits = [await g.acquire() for _ in range(32)]
    for permit in permits:  # all 32 were in flight when Kickserv said no
        g.rate_limited(permit, retry_after=1.0)
    assert g.rate == 16.0
    assert g.snapshot().cuts == 1 and g.snapshot().rate_limited == 32
    after = await g.acquire()
    g.rate_limited(after, retry_after=1.0)  # sent after the cut: a new round, a new cut
    assert g.rate == 8.0


async def test_a_stray_429_without_retry_after_neither_pauses_nor_cuts(t):
    g = governor(t)
    permits = [await g.acquire() for _ in range(100)]
    for permit in permits[:97]:
        g.succeeded(permit)
    for permit in permits[97:]:  # 3 of 100 answers in the last second: no limit shown
        g.rate_limited(permit, retry_after=None)
    assert g.paused_for() == 0.0 and g.rate is None


async def test_429s_without_retry_after_cut_once_they_are_a_real_share(t):
    g = governor(t, decrease=0.5, min_share=0.1, min_limited=3)
    permits = [await g.acquire() for _ in range(40)]
    for permit in permits[:30]:
        g.succeeded(permit)
    for permit in permits[30:]:  # 10 of 40 answers: a limit
        g.rate_limited(permit, retry_after=None)
    assert g.rate == 20.0 and g.paused_for() == 0.0
    assert g.snapshot().cuts == 1


async def test_paced_successes_raise_the_rate_additively(t):
    g = governor(t, decrease=0.5, increase=2.0, burst=0.0)
    permits = [await g.acquire() for _ in range(20)]
    g.rate_limited(permits[0], retry_after=0.0)
    assert g.rate == 10.0
    start = t.now
    for _ in range(30):  # three seconds of calls queued at the rate, all answered
        g.succeeded(await g.acquire())
    elapsed = t.now - start
    assert elapsed == pytest.approx(2.6, abs=0.4)
    assert 10.0 + 2.0 * 2.0 < g.rate < 10.0 + 2.0 * 3.5  # about `increase` per second


async def test_unpaced_successes_do_not_raise_the_rate(t):
    g = governor(t, decrease=0.5)
    g.rate_limited(await g.acquire(), retry_after=0.0)
    rate = g.rate
    assert rate is not None
    for _ in range(5):
        t.now += 10.0  # a quiet credential: every call finds its turn free
        g.succeeded(await g.acquire())
    assert g.rate == rate


async def test_a_turn_after_the_deadline_is_refused_at_once(t):
    g = governor(t)
    g.rate_limited(await g.acquire(), retry_after=3.0)
    with pytest.raises(TooLong) as refused:
        await g.acquire(deadline=t.now + 2.0)
    assert refused.value.wait == 3.0 and refused.value.paused
    assert t.sleeps == []  # nothing waited
    assert g.snapshot().refused == 1
    await g.acquire(deadline=t.now + 5.0)
    assert t.sleeps == [3.0]


async def test_a_quiet_credential_forgets_its_rate(t):
    g = governor(t, forget_after=60.0)
    g.rate_limited(await g.acquire(), retry_after=1.0)
    assert g.rate is not None
    t.now += 61.0
    await g.acquire()
    assert g.rate is None


async def test_calls_queued_wait_out_a_pause_that_begins_while_they_wait():
    g = Governor(GovernorPolicy(min_rate=100.0, burst=0.0))
    first = await g.acquire()
    g.rate_limited(first, retry_after=0.05)  # paused for 50 ms, then paced
    waiting = asyncio.gather(*(g.acquire() for _ in range(3)))
    await asyncio.sleep(0.01)
    assert g.snapshot().queued == 3
    g.rate_limited(first, retry_after=0.2)  # a longer pause while they wait: they wait it out
    loop = asyncio.get_running_loop()
    began = loop.time()
    permits = await waiting
    assert loop.time() - began >= 0.18
    assert len(permits) == 3 and g.snapshot().queued == 0


# --- across replicas -------------------------------------------------------------------------


class MemoryShare:
    """A RateShare in memory (the server's is the state store's rate state)."""

    def __init__(self) -> None:
        self.states: dict[str, Any] = {}
        self.reads = 0
        self.writes = 0
        self.down = False

    async def get(self, credential: str) -> Any | None:
        if self.down:
            raise ConnectionError("store down")
        self.reads += 1
        return self.states.get(credential)

    async def update(self, credential: str, change: Callable[[Any | None], Any], ttl: float) -> Any:
        if self.down:
            raise ConnectionError("store down")
        self.writes += 1
        self.states[credential] = change(self.states.get(credential))
        return self.states[credential]


def replica(t: FakeTime, share: MemoryShare, **policy: Any) -> Governor:
    return Governor(
        GovernorPolicy(**policy),
        share=share,
        credential="cred",
        clock=t.clock,
        wall=t.wall_clock,
        sleep=t.sleep,
    )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_cut_on_one_replica_pauses_and_cuts_the_others(t):
    share = MemoryShare()
    a, b = replica(t, share, decrease=0.5), replica(t, share, decrease=0.5)
    for _ in range(10):
        await b.acquire()  # b is unthrottled and reads the share now and then
    a.rate_limited(await a.acquire(), retry_after=2.0)
    await settle()
    assert share.writes == 1 and share.states["cred"]["cuts"] == 1

    t.now += 1.0  # past b's next read of the share
    await b.acquire()
    await settle()
    assert 0.9 < b.paused_for() <= 1.0  # the rest of a's pause
    assert b.rate == a.rate  # b had no rate of its own: it starts from a's
    assert b.snapshot().cuts == 1


async def test_store_traffic_stays_low(t):
    share = MemoryShare()
    g = replica(t, share, share_every=0.5)
    for _ in range(1000):  # a thousand calls in one second: two reads of the share
        await g.acquire()
        t.now += 0.001
        await settle()
    assert share.reads <= 3 and share.writes == 0


async def test_a_share_that_fails_never_fails_a_call(t, caplog):
    share = MemoryShare()
    share.down = True
    g = replica(t, share)
    permit = await g.acquire()
    g.rate_limited(permit, retry_after=1.0)
    await settle()
    await g.acquire()
    await settle()
    assert g.rate is not None  # learnt locally all the same
    assert "goes on alone" in caplog.text


async def test_a_foreign_or_broken_shared_state_is_read_leniently(t):
    share = MemoryShare()
    share.states["cred"] = {"cuts": "many", "rate": True, "pause_until": float("nan")}
    g = replica(t, share)
    await g.acquire()
    await settle()
    assert g.rate is None and g.paused_for() == 0.0


async def test_a_call_that_gives_up_while_queued_gives_its_turn_back():
    g = Governor(GovernorPolicy(min_rate=20.0, burst=0.0))
    g.rate_limited(await g.acquire(), retry_after=0.0)
    assert g.rate == 20.0  # one turn every 50 ms
    queued = [asyncio.ensure_future(g.acquire()) for _ in range(10)]
    await asyncio.sleep(0.01)
    for task in queued[1:]:  # nine give up (their callers' timeouts)
        task.cancel()
    await asyncio.gather(*queued, return_exceptions=True)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await g.acquire()
    assert loop.time() - began < 0.2  # right after the one still queued, not after ten turns


async def test_a_slow_share_gets_one_read_at_a_time(t):
    class Hanging(MemoryShare):
        async def get(self, credential: str) -> Any | None:
            self.reads += 1
            await asyncio.sleep(3600)

    share = Hanging()
    g = replica(t, share, share_every=0.5)
    for _ in range(10):
        await g.acquire()
        t.now += 1.0
        await settle()
    assert share.reads == 1
    for task in list(g._tasks):
        task.cancel()
