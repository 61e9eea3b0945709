"""A request that begins a read-ahead waits for its calls to be written before it builds its own
answer (``Tenant.window``, ``KickservClient.sent_since``): the pages are tasks of their own, and
without that wait they would go out only once the request's CPU work was done, so the client's next
cursor waited on them for longer (dispatch, cold: ~6-15 ms, 2026-12-03). Over a real sandbox with a
pooled transport (the server's), whose send gate tells when a request is written."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from kickserv import KickservClient
from kickserv.pool import PooledTransport, SendGate
from resolvers.cache import MemoryStore, SharedCache
from resolvers.data import RequestData
from resolvers.read_ahead import ReadAhead
from resolvers.stats import UpstreamStats, current_stats
from resolvers.tenant import Tenant
from sandbox.testing import RunningSandbox
from tests.resolvers.test_read_ahead import PER_PAGE, sb, three_pages

__all__ = ["sb"]  # the sandbox fixture (latency 500 ms), shared with test_read_ahead


@pytest.fixture
async def pooled_tenant(sb: RunningSandbox) -> AsyncIterator[Tenant]:
    transport = PooledTransport(httpx.Limits(max_connections=100))
    async with httpx.AsyncClient(transport=transport) as http:
        client = KickservClient("demo", "demo-token", base_url=sb.base_url, http=http)
        cache = SharedCache(store=MemoryStore())
        tenant = Tenant("demo", client, cache, max_per_page=PER_PAGE, read_ahead=ReadAhead(3))
        yield tenant
        await tenant.read_ahead.stop()


async def test_read_ahead_calls_are_written_before_the_window_is_returned(
    sb: RunningSandbox, pooled_tenant: Tenant
) -> None:
    start, end = three_pages(sb)
    gate = pooled_tenant.client._transport._gate
    assert gate is not None
    current_stats.set(UpstreamStats())
    before = gate.opened
    window = await RequestData(pooled_tenant).schedule(start, end, None, 0, PER_PAGE, ahead=True)
    assert window.ahead == 2
    # Page 1, then both pages read ahead: begun and written, none still being sent, though
    # their answers are 500 ms away.
    assert gate.opened - before == 3
    assert gate.pending == 0
    assert pooled_tenant.read_ahead.running == 2
    # The next cursors find them (in flight): no call of their own, the same items.
    stats = UpstreamStats()
    current_stats.set(stats)
    second = await RequestData(pooled_tenant).schedule(start, end, None, PER_PAGE, PER_PAGE)
    assert len(second.items) == PER_PAGE and second.offset == PER_PAGE
    assert stats.calls == 0 and stats.read_ahead_used == 1


async def test_sent_since_returns_once_the_calls_begun_since_the_mark_are_written() -> None:
    gate = SendGate()
    older = gate.open()  # begun before the mark: not waited for
    mark = gate.opened
    waiting = asyncio.ensure_future(gate.sent_since(mark, 2, within=5.0))
    await asyncio.sleep(0)
    assert not waiting.done()  # none begun yet
    first = gate.open()
    gate.written(first)
    await asyncio.sleep(0)
    assert not waiting.done()  # one of two
    second = gate.open()
    await asyncio.sleep(0)
    assert not waiting.done()  # begun, not written
    gate.written(second)
    await asyncio.wait_for(waiting, 1.0)
    assert gate.pending == 1 and older.number in gate._pending
    assert gate._watchers == []


async def test_sent_since_gives_up_after_its_bound() -> None:
    gate = SendGate()
    mark = gate.opened
    gate.open()  # never written
    await asyncio.wait_for(gate.sent_since(mark, 1, within=0.01), 1.0)
    await asyncio.wait_for(gate.sent_since(mark, 5, within=0.01), 1.0)  # never begun
    assert gate._watchers == []
