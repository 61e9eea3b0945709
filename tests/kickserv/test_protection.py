"""The transport's protection of Kickserv and of its callers: one deadline per read (slots freed when
it passes), the account's circuit breaker (refuse at once, probe, close), and a 429 that pauses every
call of the credential. Over httpx.MockTransport, in real time where time is the point."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from kickserv import RateLimited, RetryPolicy, ServerError, Timeout
from kickserv.breaker import Breaker, BreakerPolicy, CircuitOpen
from kickserv.governor import Governor, GovernorPolicy

from .conftest import customer


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=customer(1))


# --- deadlines ---------------------------------------------------------------------------------


async def test_a_hanging_read_ends_at_its_deadline_and_frees_its_slot(make_client):
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return ok(request)

    ks = make_client(hang, retry=RetryPolicy(deadline=0.3), max_concurrency=2, clock=time.monotonic)
    began = time.monotonic()
    results = await asyncio.gather(*(ks.customers.get(n) for n in range(4)), return_exceptions=True)
    elapsed = time.monotonic() - began
    assert all(isinstance(r, Timeout) for r in results)
    assert "read deadline (0.3 s" in str(results[0])
    assert elapsed < 0.6  # the two waiting for a slot end by the same deadline
    assert ks._transport._limiter._value == 2  # every slot free


async def test_one_deadline_across_retries(make_client, recorder):
    calls = 0

    def failing(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(503, json={"errors": ["down"]})

    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=8.0, deadline=4.0)
    ks = make_client(failing, retry=policy)
    with pytest.raises(ServerError):
        await ks.customers.get(1)
    # backoff 1 + 2 = 3 s slept; a further 4 s wait would end past the 4 s deadline
    assert recorder.sleeps == [1.0, 2.0]
    assert calls == 3


async def test_a_retry_after_past_the_deadline_is_not_waited_for(make_client, recorder):
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"errors": ["slow down"]}, headers={"Retry-After": "9"})

    ks = make_client(limited, retry=RetryPolicy(deadline=5.0))
    with pytest.raises(RateLimited) as caught:
        await ks.customers.get(1)
    assert caught.value.retry_after == 9.0
    assert recorder.sleeps == []
    # and the credential stays paused: the next read is refused without a request
    with pytest.raises(RateLimited, match="was not sent") as refused:
        await ks.customers.get(2)
    assert refused.value.retry_after == 9.0
    assert len(recorder.calls) == 1


async def test_writes_are_not_cut_by_the_read_deadline(make_client):
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json={"job": {"id": 1, "job_number": 7}})

    ks = make_client(slow, retry=RetryPolicy(deadline=0.05), clock=time.monotonic)
    job = await ks.jobs.create(customer_number=1, job_type_id=2)
    assert job.job_number == 7


# --- the circuit breaker -----------------------------------------------------------------------


class Flaky:
    """Kickserv failing with 500 until `up`; counts the requests that reached it."""

    def __init__(self) -> None:
        self.up = False
        self.seen = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.up:
            return ok(request)
        return httpx.Response(500, json={"errors": ["boom"]})


async def test_the_breaker_opens_refuses_at_once_probes_and_closes(make_client, recorder):
    kickserv = Flaky()
    breaker = Breaker(BreakerPolicy(failures=3, open_for=2.0), name="demo", clock=recorder.clock)
    ks = make_client(kickserv, retry=RetryPolicy(max_attempts=1), breaker=breaker)
    for _ in range(3):
        with pytest.raises(ServerError):
            await ks.customers.get(1)
    assert breaker.state == "open" and kickserv.seen == 3

    with pytest.raises(CircuitOpen) as refused:  # answered at once, nothing sent
        await ks.customers.get(1)
    assert refused.value.retry_after == 2.0 and kickserv.seen == 3
    assert "was not sent" in str(refused.value)

    recorder.now += 2.0
    with pytest.raises(ServerError):  # the probe: Kickserv still fails
        await ks.customers.get(1)
    assert breaker.state == "open" and kickserv.seen == 4
    with pytest.raises(CircuitOpen):
        await ks.customers.get(1)

    kickserv.up = True
    recorder.now += 2.0
    assert (await ks.customers.get(1)).customer_number == 1  # the probe answers: closed
    assert breaker.snapshot().state == "closed"
    await ks.customers.get(1)
    snap = breaker.snapshot()
    assert (snap.state, snap.opened, snap.refused, snap.consecutive_failures) == (
        "closed",
        2,
        2,
        0,
    )


async def test_an_open_breaker_ends_a_read_retrying_at_once(make_client, recorder):
    kickserv = Flaky()
    breaker = Breaker(BreakerPolicy(failures=2, open_for=5.0), clock=recorder.clock)
    ks = make_client(kickserv, retry=RetryPolicy(max_attempts=4), breaker=breaker)
    with pytest.raises(CircuitOpen):
        await ks.customers.get(1)
    assert kickserv.seen == 2  # the third attempt found the breaker open: not sent
    assert len(recorder.sleeps) == 2


async def test_writes_never_probe(make_client, recorder):
    kickserv = Flaky()
    breaker = Breaker(BreakerPolicy(failures=1, open_for=1.0), clock=recorder.clock)
    ks = make_client(kickserv, retry=RetryPolicy(max_attempts=1), breaker=breaker)
    with pytest.raises(ServerError):
        await ks.customers.get(1)
    recorder.now += 1.0
    with pytest.raises(CircuitOpen):
        await ks.jobs.create(customer_number=1, job_type_id=2)
    assert kickserv.seen == 1


async def test_429s_and_client_errors_do_not_open_the_breaker(make_client, recorder):
    statuses = iter([429, 404, 500, 429, 500, 422, 500])

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses), json={"errors": ["no"]})

    breaker = Breaker(BreakerPolicy(failures=2), clock=recorder.clock)
    ks = make_client(answer, retry=RetryPolicy(max_attempts=1, deadline=None), breaker=breaker)
    for _ in range(7):
        with pytest.raises(Exception):  # noqa: B017 - each its own
            await ks.customers.get(1)
        recorder.now += 5.0  # past any pause
    assert breaker.state == "closed"  # never two failures in a row


# --- a 429 slows the whole credential ----------------------------------------------------------


async def test_a_429_pauses_every_call_of_the_credential_not_only_its_own():
    sent: list[float] = []
    limited = [True]

    async def kickserv(request: httpx.Request) -> httpx.Response:
        sent.append(time.monotonic())
        if limited[0]:
            limited[0] = False
            return httpx.Response(429, json={"errors": ["slow"]}, headers={"Retry-After": "0.3"})
        await asyncio.sleep(0.01)
        return ok(request)

    governor = Governor(GovernorPolicy(min_rate=100.0))  # the pause is the point here
    async with httpx.AsyncClient(transport=httpx.MockTransport(kickserv)) as http:
        from kickserv import KickservClient

        a = KickservClient("demo", "tok", base_url="https://k.test", http=http, governor=governor)
        b = KickservClient("demo", "tok", base_url="https://k.test", http=http, governor=governor)
        await a.customers.get(1)  # 429, then its retry after the pause
        paused_at = sent[0]
        await asyncio.gather(*(b.customers.get(n) for n in range(5)))
    assert all(when - paused_at >= 0.29 for when in sent[1:])
    assert governor.snapshot().rate_limited == 1 and governor.snapshot().pauses == 1


async def test_calls_waiting_for_a_slot_when_a_429_comes_wait_out_its_pause():
    arrived: list[float] = []
    first = [True]

    async def kickserv(request: httpx.Request) -> httpx.Response:
        arrived.append(time.monotonic())
        await asyncio.sleep(0.02)
        if first[0]:
            first[0] = False
            return httpx.Response(429, json={"errors": ["slow"]}, headers={"Retry-After": "0.3"})
        return ok(request)

    governor = Governor(GovernorPolicy(min_rate=100.0))
    async with httpx.AsyncClient(transport=httpx.MockTransport(kickserv)) as http:
        from kickserv import KickservClient

        ks = KickservClient(
            "demo",
            "tok",
            base_url="https://k.test",
            http=http,
            governor=governor,
            max_concurrency=1,
        )
        # all four have their turn (unthrottled); three wait for the one slot when the 429 comes
        await asyncio.gather(*(ks.customers.get(n) for n in range(4)))
    paused = arrived[0] + 0.02
    assert all(when - paused >= 0.28 for when in arrived[1:])
    assert len(arrived) == 5  # the 429'd call once more, and the three: none sent into the pause
