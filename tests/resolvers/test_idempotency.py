"""Idempotency records and journaled steps, without Kickserv: the store's atomic operations, claims,
replays, waiting duplicates, take-overs, and how a step's unknown outcome is resolved."""

from __future__ import annotations

import asyncio
import time

import pytest

from kickserv import RateLimited, ServerError, TransportError
from kickserv import Validation as KickservValidation
from resolvers.cache import CacheKey, MemoryStore
from resolvers.writes.errors import IdempotencyKeyReused, InvalidInput, LeaseLost
from resolvers.writes.idempotency import Claim, IdempotencyLedger, Replay
from resolvers.writes.steps import Saga, Step, WritePolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ledger(clock: Clock | None = None, **kwargs) -> IdempotencyLedger:
    clock = clock or Clock()
    return IdempotencyLedger(MemoryStore(clock=clock), clock=clock, **kwargs)


async def claim_of(book: IdempotencyLedger, key: str = "k", fp: str = "fp") -> Claim:
    got = await book.begin("demo:abc", key, "createJob", fp)
    assert isinstance(got, Claim)
    return got


# -- the store ------------------------------------------------------------------------------------


async def test_add_stores_only_when_absent_and_swap_only_when_unchanged():
    clock = Clock()
    store = MemoryStore(clock=clock)
    key = CacheKey("demo:abc", "idempotency", "k")
    assert await store.add(key, {"v": 1}, ttl=10)
    assert not await store.add(key, {"v": 2}, ttl=10)
    assert not await store.swap(key, {"v": 0}, {"v": 3}, ttl=10)  # stale expectation
    assert await store.swap(key, {"v": 1}, {"v": 3}, ttl=10)
    assert (await store.get(key)).value == {"v": 3}
    clock.now += 11
    assert await store.get(key) is None
    assert not await store.swap(key, {"v": 3}, {"v": 4}, ttl=10)  # gone: nothing to swap
    assert await store.add(key, {"v": 5}, ttl=10)


# -- claims and replays -----------------------------------------------------------------------------


async def test_finished_key_replays_its_outcome_and_refuses_other_input():
    book = ledger()
    claim = await claim_of(book)
    await claim.finish({"result": {"id": 7}, "error": None})
    again = await book.begin("demo:abc", "k", "createJob", "fp")
    assert again == Replay({"result": {"id": 7}, "error": None})
    with pytest.raises(IdempotencyKeyReused):
        await book.begin("demo:abc", "k", "createJob", "other-input")
    with pytest.raises(IdempotencyKeyReused):
        await book.begin("demo:abc", "k", "recordPayment", "fp")
    # another tenant's key of the same name is another record
    assert isinstance(await book.begin("acme:xyz", "k", "createJob", "other-input"), Claim)


async def test_a_concurrent_duplicate_waits_for_the_first_and_shares_its_outcome():
    book = IdempotencyLedger(MemoryStore(), clock=time.time)  # real time: the waiter polls
    first = await claim_of(book)
    waiter = asyncio.ensure_future(book.begin("demo:abc", "k", "createJob", "fp"))
    await asyncio.sleep(0.05)
    assert not waiter.done()  # it waits while the first holds the lease
    await first.finish({"result": "job 12", "error": None})
    assert await asyncio.wait_for(waiter, 5) == Replay({"result": "job 12", "error": None})


async def test_a_released_key_resumes_from_its_journal():
    book = ledger()
    first = await claim_of(book)
    first.journal["done"] = {"job": {"id": 5}}
    await first.save()
    await first.release()  # the request failed after the job was created
    second = await claim_of(book)
    assert second.resumed and second.journal["done"] == {"job": {"id": 5}}
    with pytest.raises(IdempotencyKeyReused):  # work was done under it: other input is refused
        await book.begin("demo:abc", "k", "createJob", "other-input")


async def test_a_released_key_with_nothing_done_may_take_corrected_input():
    book = ledger()
    first = await claim_of(book)
    await first.release()  # e.g. Kickserv refused the input: nothing was written
    corrected = await claim_of(book, fp="corrected")
    assert not corrected.resumed


async def test_an_expired_lease_is_taken_over_and_the_slow_owner_cannot_overwrite():
    clock = Clock()
    book = ledger(clock, lease=30)
    slow = await claim_of(book)
    slow.stop_heartbeat()  # a replica that stopped answering
    slow.journal["done"] = {"job": {"id": 5}}
    await slow.save()
    clock.now += 31
    taker = await claim_of(book)
    assert taker.journal["done"] == {"job": {"id": 5}}
    with pytest.raises(LeaseLost):
        await slow.save()
    await taker.finish({"result": 1, "error": None})


# -- steps ----------------------------------------------------------------------------------------


def _policy(**changes) -> WritePolicy:
    return WritePolicy(**{"write_timeout": 1.0, "attempts": 3, "settle": 0.0, **changes})


def _step(send, find=None, snapshot=None, name="s") -> Step[int]:
    return Step(name, send=send, dump=lambda v: v, load=int, find=find, snapshot=snapshot)


async def test_unknown_outcome_is_looked_for_before_sending_again():
    # given: the first send fails after Kickserv applied it
    sends, looks = [], []

    async def send() -> int:
        sends.append(1)
        raise ServerError("500", method="POST", path="jobs.json", status=500)

    async def find(before):
        looks.append(before)
        return 42

    async def snapshot():
        return [1, 2]

    saga = Saga(await claim_of(ledger()), _policy())
    # when
    assert await saga.run(_step(send, find, snapshot)) == 42
    # then: sent once, found with the before-image, journaled as done
    assert sends == [1] and looks == [[1, 2]]
    assert saga.done == {"s": 42} and saga.pending == {}


async def test_not_applied_after_an_unknown_outcome_is_sent_again():
    answers = [TransportError("reset", method="POST", path="x"), 7]

    async def send() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def find(before):
        return None

    saga = Saga(await claim_of(ledger()), _policy())
    assert await saga.run(_step(send, find)) == 7 and answers == []


async def test_a_resumed_pending_step_is_looked_for_first_and_done_steps_are_skipped():
    book = ledger()
    first = Saga(await claim_of(book), _policy(attempts=1))

    async def fails() -> int:
        raise TransportError("reset", method="POST", path="x")

    async def nothing(before):
        return None

    with pytest.raises(TransportError):
        await first.run(_step(fails, nothing))
    await first.claim.release()
    # a retry: the step is pending, so Kickserv is asked before anything is sent
    second = Saga(await claim_of(book), _policy())
    sent = []

    async def must_not_send() -> int:
        sent.append(1)
        return 0

    async def found(before):
        return 9

    assert await second.run(_step(must_not_send, found)) == 9 and sent == []
    assert await second.run(_step(must_not_send, found)) == 9  # done: answered from the journal
    assert sent == []


async def test_refusals_are_not_looked_for_and_429_is_waited_out():
    saga = Saga(await claim_of(ledger()), _policy(max_rate_wait=0.01))
    answers: list = [RateLimited("429", method="POST", path="x", retry_after=0.001), 3]

    async def send() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def find(before):
        raise AssertionError("a refusal applied nothing: no need to look")

    assert await saga.run(_step(send, find)) == 3

    async def refused() -> int:
        raise KickservValidation(
            "422", method="POST", path="x", status=422, field_errors={"job_type_id": ["is invalid"]}
        )

    step = Step(
        "v", send=refused, dump=lambda v: v, load=int, find=find,
        field_path=lambda name: ("input", name),
    )  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        await saga.run(step)
    assert caught.value.problems[0].path == ("input", "job_type_id")
    assert "v" not in saga.pending  # nothing to look for next time


async def test_a_write_that_never_answers_times_out_and_is_looked_for():
    async def hangs() -> int:
        await asyncio.sleep(10)
        return 0

    looked = []

    async def find(before):
        looked.append(1)
        return 5

    saga = Saga(await claim_of(ledger()), _policy(write_timeout=0.01))
    assert await saga.run(_step(hangs, find)) == 5 and looked == [1]
