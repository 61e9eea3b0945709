"""Reads retry within a budget, honouring Retry-After; writes never retry; the observer sees each
attempt."""

from __future__ import annotations

import httpx
import pytest

from kickserv import RateLimited, RetryPolicy, ServerError, Timeout

from .conftest import customer


def scripted(*steps):
    """A handler answering each request with the next step: a status code or an exception class."""
    remaining = list(steps)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = remaining.pop(0)
        if isinstance(step, type) and issubclass(step, Exception):
            raise step("scripted failure", request=request)
        if isinstance(step, tuple):
            status, headers = step
        else:
            status, headers = step, {}
        if status == 200:
            return httpx.Response(200, json=customer(1))
        return httpx.Response(status, json={"errors": ["nope"]}, headers=headers)

    return handler, seen


async def test_429_with_retry_after_then_success(make_client, recorder):
    handler, seen = scripted((429, {"Retry-After": "3"}), 200)
    ks = make_client(handler)
    got = await ks.customers.get(1)
    assert got.customer_number == 1
    assert recorder.sleeps == [3.0]  # exactly the wait Kickserv asked for
    assert len(seen) == 2
    assert [(c.status, c.attempt, c.retried) for c in recorder.calls] == [
        (429, 1, True),
        (200, 2, False),
    ]


async def test_5xx_then_success_backs_off_exponentially(make_client, recorder):
    handler, seen = scripted(500, 502, 503, 200)
    ks = make_client(handler, retry=RetryPolicy(max_attempts=4, base_delay=0.5, jitter=0.5))
    await ks.customers.get(1)
    # draw() is pinned to 0.0 in the fixture, so each wait is the full backoff
    assert recorder.sleeps == [0.5, 1.0, 2.0]
    assert len(seen) == 4


async def test_jitter_shortens_waits_within_bounds(make_client, recorder):
    handler, _ = scripted(500, 200)
    ks = make_client(handler, retry=RetryPolicy(base_delay=1.0, jitter=0.5), draw=lambda: 1.0)
    await ks.customers.get(1)
    assert recorder.sleeps == [0.5]


async def test_timeouts_then_success(make_client, recorder):
    handler, seen = scripted(httpx.ReadTimeout, httpx.ConnectTimeout, 200)
    ks = make_client(handler)
    await ks.customers.get(1)
    assert len(seen) == 3
    assert [c.status for c in recorder.calls] == [None, None, 200]


async def test_retry_budget_exhausted_by_attempts(make_client, recorder):
    handler, seen = scripted(httpx.ReadTimeout, httpx.ReadTimeout, httpx.ReadTimeout)
    ks = make_client(handler, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(Timeout):
        await ks.customers.get(1)
    assert len(seen) == 3 and len(recorder.sleeps) == 2
    assert recorder.calls[-1].retried is False


async def test_retry_budget_exhausted_by_total_wait(make_client, recorder):
    handler, seen = scripted((429, {"Retry-After": "4"}), (429, {"Retry-After": "4"}), 200)
    ks = make_client(handler, retry=RetryPolicy(max_attempts=10, max_total_wait=5.0))
    with pytest.raises(RateLimited) as caught:
        await ks.customers.get(1)
    assert recorder.sleeps == [4.0]  # a second 4 s wait would pass the 5 s budget
    assert len(seen) == 2
    assert caught.value.retry_after == 4.0


@pytest.mark.parametrize("step", [500, 429, httpx.ReadTimeout, httpx.ConnectError])
async def test_writes_are_never_retried(make_client, recorder, step):
    handler, seen = scripted(step, 200)
    ks = make_client(handler)
    with pytest.raises(Exception):  # noqa: B017 - the class depends on the step
        await ks.jobs.create(customer_number=1, job_type_id=2)
    assert len(seen) == 1
    assert recorder.sleeps == []
    assert recorder.calls[0].retried is False and recorder.calls[0].method == "POST"


async def test_server_error_on_every_attempt_is_raised(make_client):
    handler, seen = scripted(500, 500)
    ks = make_client(handler, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(ServerError):
        await ks.customers.get(1)
    assert len(seen) == 2
