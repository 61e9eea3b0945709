"""``EventLog.wait`` shared by every waiter of one tenant in a process: however many subscribers wait
on a tenant's log, the process watches the log once (one Redis connection blocked in ``XREAD``, or
one poll of the SQLite file, per tenant), and wakes them all when it moves."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

# (tenant, seq, seconds) -> whether the log moved past seq within those seconds (may return early)
Block = Callable[[str, int, float], Awaitable[bool]]
LastSeq = Callable[[str], Awaitable[int]]


class _Watch:
    def __init__(self) -> None:
        self.moved = asyncio.Event()
        self.waiters = 0
        self.task: asyncio.Task[None] | None = None


class Waiters:
    """Waiters per tenant over one backend's ``block`` and ``last_seq``."""

    def __init__(self, block: Block, last_seq: LastSeq, slice_seconds: float = 2.0) -> None:
        self._block = block
        self._last_seq = last_seq
        self._slice = slice_seconds
        self._watches: dict[str, _Watch] = {}

    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        give_up = time.monotonic() + max(within, 0.0)
        while True:
            if await self._last_seq(tenant) > seq:
                return True
            left = give_up - time.monotonic()
            if left <= 0:
                return False
            watch = self._watches.get(tenant)
            if watch is None or watch.moved.is_set():
                watch = self._watches[tenant] = _Watch()
            watch.waiters += 1
            if watch.task is None:
                watch.task = asyncio.ensure_future(self._watch(tenant, watch, seq))
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watch.moved.wait(), left)
            finally:
                watch.waiters -= 1

    async def _watch(self, tenant: str, watch: _Watch, seq: int) -> None:
        """Block on the log from the lowest position any waiter started at, until it moves or the
        last waiter has gone."""
        try:
            while watch.waiters > 0:
                started = time.monotonic()
                if await self._block(tenant, seq, self._slice):
                    watch.moved.set()
                    return
                if time.monotonic() - started < 0.001:  # a backend that cannot block: breathe
                    await asyncio.sleep(0.01)
        except Exception:
            watch.moved.set()  # the waiters look at the log themselves (and meet the error)
        finally:
            if self._watches.get(tenant) is watch:
                del self._watches[tenant]
