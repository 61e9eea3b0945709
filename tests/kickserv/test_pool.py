"""kickserv.pool: the wire pool behind our transport and sends before answers, against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date

import httpcore
import httpx
import pytest

from kickserv import KickservClient
from kickserv.pool import PooledTransport, SendGate, SendTicket
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox

TODAY = date(2026, 3, 4)
LEVEL = 30
SEQUENTIAL = 10  # calls of a level through a pool of one connection


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=LEVEL, today=TODAY)) as running:
        yield running


def pooled(**limits: float | int | None) -> PooledTransport:
    return PooledTransport(httpx.Limits(**{"max_connections": 100, **limits}))  # type: ignore[arg-type]


class Connects:
    """Counts the TCP connections a client opens (httpcore's trace events)."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, name: str, info: object) -> None:
        if name == "connection.connect_tcp.complete":
            self.count += 1


async def get_all(http: httpx.AsyncClient, sandbox: RunningSandbox, trace: Connects) -> None:
    url = sandbox.api_url() + "/customers/{}.json"
    answers = await asyncio.gather(
        *(
            http.get(url.format(n), auth=("demo-token", "demo-token"), extensions={"trace": trace})
            for n in range(1, LEVEL + 1)
        )
    )
    assert {a.status_code for a in answers} == {200}


async def test_a_level_reuses_the_last_levels_connections(sandbox):
    transport = pooled(max_keepalive_connections=64)
    assert transport.wire is not None
    connects = Connects()
    async with httpx.AsyncClient(transport=transport) as http:
        await get_all(http, sandbox, connects)
        assert connects.count == LEVEL
        await get_all(http, sandbox, connects)
        assert connects.count == LEVEL  # the second level went out on the first one's connections
        assert transport.wire.connections == transport.wire.idle == LEVEL


async def test_idle_connections_past_the_keepalive_limit_are_closed(sandbox):
    connects = Connects()
    transport = pooled(max_keepalive_connections=3)
    async with httpx.AsyncClient(transport=transport) as http:
        await get_all(http, sandbox, connects)
        await http.get(sandbox.api_url() + "/customers/1.json", auth=("demo-token", "demo-token"))
        assert transport.wire is not None
        assert transport.wire.connections == transport.wire.idle == 3


async def test_an_expired_connection_is_not_reused(sandbox):
    connects = Connects()
    transport = PooledTransport(httpx.Limits(keepalive_expiry=0.0))
    async with httpx.AsyncClient(transport=transport) as http:
        for _ in range(3):
            answer = await http.get(
                sandbox.api_url() + "/customers/1.json",
                auth=("demo-token", "demo-token"),
                extensions={"trace": connects},
            )
            assert answer.status_code == 200
    assert connects.count == 3


@pytest.mark.parametrize(
    "option", [{"proxy": "http://127.0.0.1:9"}, {"http2": True}, {"uds": "/tmp/k.sock"}]
)
def test_options_only_httpcore_takes_keep_its_pool(option):
    transport = PooledTransport(httpx.Limits(), **option)
    assert transport.wire is None
    assert isinstance(transport._pool, httpcore.AsyncConnectionPool | httpcore.AsyncHTTPProxy)


# -- sends before answers ---------------------------------------------------------------------------


class Recording(SendGate):
    def __init__(self, events: list[str]) -> None:
        super().__init__(max_wait=60.0)  # a bound for a stuck send, never reached here
        self.events = events

    def written(self, ticket: SendTicket) -> None:
        if ticket.number in self._pending:
            self.events.append("written")
        super().written(ticket)


async def test_a_level_is_written_whole_before_any_answer_is_read(sandbox):
    """Every call of a level is written before any answer is decoded and handed back. Here the
    pool has one connection, so each call waits for the answer before it to be read off the wire:
    an answer handled at once would be handed back before the next call is written."""
    events: list[str] = []
    transport = pooled(max_connections=1)
    transport.gate = Recording(events)
    async with (
        httpx.AsyncClient(transport=transport) as http,
        KickservClient(
            "demo", "demo-token", base_url=sandbox.base_url, http=http, max_concurrency=SEQUENTIAL
        ) as ks,
    ):

        async def one(number: int) -> None:
            customer = await ks.customers.get(number)
            assert customer.customer_number == number
            events.append("answered")

        await asyncio.gather(*(one(n) for n in range(1, SEQUENTIAL + 1)))
    assert events == ["written"] * SEQUENTIAL + ["answered"] * SEQUENTIAL
    assert transport.gate.pending == 0


async def test_an_answer_waits_for_its_level_and_not_for_the_next():
    gate = SendGate()
    root = gate.open()
    gate.written(root)
    await gate.settled(root)  # nothing pending: at once
    gate.answered()  # the root's answer is handed back: what follows may depend on it
    first, second = gate.open(), gate.open()  # one level
    waiting = asyncio.ensure_future(gate.settled(first))
    await asyncio.sleep(0)
    assert not waiting.done()  # its sibling is not written yet
    gate.written(first)
    gate.written(first)  # idempotent
    gate.written(second)
    await asyncio.sleep(0)
    assert waiting.done()
    gate.answered()
    child = gate.open()  # the next level, opened once an answer of this one was handed back
    await asyncio.wait_for(gate.settled(second), 1.0)  # does not wait for it
    assert gate.pending == 1
    gate.written(child)
    assert gate.pending == 0


async def test_an_older_answer_does_not_wait_for_the_level_its_siblings_started():
    """Two calls of the root level; the first one's answer starts the next level; the second's
    answer, arriving while those are still being sent, may itself add to that level (page 1 of a
    listing saying how many pages follow): it is not held back by them."""
    gate = SendGate()
    customers, tasks = gate.open(), gate.open()
    gate.written(customers)
    gate.written(tasks)
    await gate.settled(customers)
    gate.answered()
    jobs = [gate.open() for _ in range(3)]
    await asyncio.wait_for(gate.settled(tasks), 1.0)
    assert gate.pending == len(jobs)


async def test_a_send_that_never_completes_holds_an_answer_at_most_max_wait():
    gate = SendGate(max_wait=0.01)
    stuck, answer = gate.open(), gate.open()
    gate.written(answer)
    await gate.settled(answer)  # returns although its sibling is still pending
    assert gate.pending == 1 and stuck.number in gate._pending
