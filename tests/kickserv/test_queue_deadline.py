"""A read's deadline spent in our own queue is not Kickserv failing: over a real sandbox port.

- a call cut short by its deadline soon after it went out (most of the deadline spent waiting for a
  slot behind slow calls) does not count for the breaker; one that hung on the wire does;
- `patient()` reads (bulk: an index build) wait for their slot without a deadline and each gets its
  whole deadline once sent, so a long queue of them all succeeds where impatient ones time out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import pytest

from kickserv import KickservClient, RetryPolicy, Timeout, patient
from kickserv.breaker import Breaker, BreakerPolicy
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def slow() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=20, seed=5)) as sandbox:
        yield sandbox


@pytest.fixture
def sb(slow: RunningSandbox) -> Iterator[RunningSandbox]:
    slow.reset_requests()
    yield slow
    slow.state.knobs.update({"latency_ms": 0})


def client(
    sandbox: RunningSandbox,
    deadline: float,
    slots: int,
    failures: int,
    sent: list[str] | None = None,
) -> KickservClient:
    @contextlib.contextmanager
    def trace(
        method: str, url: str, attempt: int, headers: dict[str, str]
    ) -> Iterator[Callable[[int], None]]:
        if sent is not None:
            sent.append(url)  # called for attempts that go out on the wire only
        yield lambda status: None

    return KickservClient(
        "demo",
        "demo-token",
        base_url=sandbox.base_url,
        retry=RetryPolicy(deadline=deadline, max_attempts=1),
        max_concurrency=slots,
        breaker=Breaker(BreakerPolicy(failures=failures, open_for=30.0), name="demo"),
        trace=trace,
    )


async def test_a_deadline_spent_queued_for_a_slot_does_not_open_the_breaker(sb):
    # One slot, 1.5 s per answer, a 2 s deadline: the first answers; the second is sent at ~1.5 s
    # and cut ~0.5 s later (Kickserv healthy, our queue ate its deadline); the rest never go out.
    sb.state.knobs.update({"latency_ms": 1500})
    sent: list[str] = []
    async with client(sb, deadline=2.0, slots=1, failures=1, sent=sent) as ks:
        results = await asyncio.gather(
            *(ks.customers.get(n) for n in range(1, 5)), return_exceptions=True
        )
        snapshot = ks.breaker.snapshot()
    assert not isinstance(results[0], BaseException)
    assert all(isinstance(r, Timeout) for r in results[1:]), results
    assert len(sent) == 2  # the second was sent, then cut short on the wire: not counted
    assert snapshot.state == "closed" and snapshot.consecutive_failures == 0


async def test_a_read_that_hangs_on_the_wire_still_opens_the_breaker(sb):
    sb.state.knobs.update({"latency_ms": 3000})
    async with client(sb, deadline=0.5, slots=1, failures=1) as ks:
        with pytest.raises(Timeout):
            await ks.customers.get(1)
        assert ks.breaker.snapshot().state == "open"


async def test_patient_reads_each_get_their_deadline_once_sent(sb):
    # 20 reads of 0.2 s through 2 slots take ~2 s: past a 1 s deadline counted from the start.
    sb.state.knobs.update({"latency_ms": 200})
    async with client(sb, deadline=1.0, slots=2, failures=1) as ks:
        impatient = await asyncio.gather(
            *(ks.customers.get(n) for n in range(1, 21)), return_exceptions=True
        )
        with patient():
            answers = await asyncio.gather(*(ks.customers.get(n) for n in range(1, 21)))
        snapshot = ks.breaker.snapshot()
    assert any(isinstance(r, Timeout) for r in impatient)  # what patience is for
    assert [c.customer_number for c in answers] == list(range(1, 21))
    assert snapshot.state == "closed"
