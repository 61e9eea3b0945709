"""Cursor read-ahead: the rest of a small listing read in the background while the client reads the
page it asked for, so that its next cursors find their pages cached or in flight (issue 15).

A client that follows cursors (the dispatch board: ``schedule(first: 100)``, then ``after:
endCursor`` while ``hasNextPage``) asks one page per request, so a listing of n pages costs it n
dependent rounds, where the listing read whole costs two (page 1 tells the page count, then the rest
together). So once a window is served from a listing that has a next page, the pages the client's
next windows will plan (the same ``plan_window`` sizes, so the same cache keys) go out now, together,
each through the shared cache's single flight: the next request joins a page still in flight or
finds it cached, and makes no call of its own. A client that follows every cursor makes exactly the
calls it would have made anyway, in two rounds instead of n.

When it does NOT read ahead, and why:

- the query asked no cursor (``pageInfo { hasNextPage endCursor }`` or ``edges { cursor }``): such a
  client cannot ask for the next page, so the pages would be calls nobody uses (the caller decides:
  ``ahead`` on ``Tenant.window``; only the dated schedule passes it today, see ``RequestData``);
- the rest is more than ``pages`` further pages (``GRAPH_READ_AHEAD_PAGES``; 0 disables): a client
  that stops early wastes at most that many calls, and a long listing (every customer) is read page
  by page as the client goes, never all at once;
- the shared cache is off (``GRAPH_CACHE=off``): nothing would keep the pages for the next request
  and there is no single flight to join, so every page would be read twice;
- Kickserv is limiting the credential now (its rate governor is paused, or calls wait for their
  turn) or failing (the account's circuit breaker is not closed): a speculative call would take a
  turn from a call some client is waiting for, or add to the failures.

Lifetime: a read-ahead outlives the request that started it (that is its point) and nothing else.
Each page is one upstream call under the client's deadline; the pages of a request that was
cancelled are cancelled with it (all but those another request has joined since); every read-ahead
still running is cancelled when the server stops (``stop``, from the app's lifespan).

Accounting: a read-ahead's calls go through the Kickserv client like any other, so the per-endpoint
upstream metrics and the access log's upstream figures count them; they run under their own
``UpstreamStats`` (so a request whose response is already sent is never changed after the fact), and
the request that started them reports ``readAhead.pages`` (pages it began reading for later cursors)
in ``extensions.upstream``, a request that found its page read ahead ``readAhead.used``; ``counters``
keeps the process's totals.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from kickserv import KickservClient
from resolvers.connections import plan_window
from resolvers.stats import UpstreamStats, current_stats

__all__ = ["ReadAhead", "next_pages", "quiet"]

Fetch = Callable[[], Awaitable[Any]]

KEPT = 4096  # pages remembered as read ahead (to count their use); then start again


def next_pages(
    offset: int, first: int, total: int, max_per_page: int, limit: int
) -> list[tuple[int, int]] | None:
    """The ``(per_page, number)`` pages the windows after ``[offset, offset + first)`` will read
    (each next window starts where the previous one ended, as ``endCursor`` says), without the
    pages of this window; ``None`` when they are more than ``limit``."""
    if first < 1 or offset + first >= total:
        return []
    if total - (offset + first) > limit * max_per_page:
        return None  # more items than `limit` full pages hold: too many pages, whatever the plans
    mine = plan_window(offset, first, max_per_page)
    seen = {(mine.per_page, n) for n in mine.numbers}
    pages: list[tuple[int, int]] = []
    start = offset + first
    while start < total:
        plan = plan_window(start, first, max_per_page)
        for number in plan.numbers:
            if (plan.per_page, number) not in seen:
                seen.add((plan.per_page, number))
                pages.append((plan.per_page, number))
        if len(pages) > limit:
            return None
        start += first
    return pages


def quiet(client: KickservClient) -> bool:
    """Kickserv is neither limiting this credential now (its governor is not paused and no call
    waits for its turn) nor failing (the account's breaker is closed): the only time a call that
    no client waits for yet may go. A rate the governor remembers from an earlier 429, with no call
    waiting, does not stop it: the pages go through the governor like any call, at its pace."""
    governor = client.governor.snapshot()
    return not governor.paused_for and not governor.queued and client.breaker.state == "closed"


@dataclass(eq=False)
class _Run:
    """The pages one request read ahead, while they run."""

    tasks: dict[Hashable, asyncio.Task[Any]] = field(default_factory=dict)


@dataclass
class ReadAhead:
    """The server's read-aheads: at most ``pages`` further pages per window (0: none)."""

    pages: int = 0
    # started: pages begun; read: pages that arrived (from Kickserv, or found cached meanwhile);
    # used: reads that found one (in flight or done); cancelled: with their request or at stop;
    # failed: pages whose call failed (the request that asks for one reads it again).
    counters: Counter[str] = field(default_factory=Counter)
    _running: dict[Hashable, asyncio.Task[Any]] = field(default_factory=dict, repr=False)
    # The shared cache's own fetch of a page read ahead (shielded from its callers: cancelled here).
    _fetches: dict[Hashable, asyncio.Task[Any]] = field(default_factory=dict, repr=False)
    _claimed: set[Hashable] = field(default_factory=set, repr=False)
    # Pages read ahead and not yet asked for: key -> until when (time.monotonic) it stays cached.
    _read: dict[Hashable, float] = field(default_factory=dict, repr=False)
    _stopped: bool = False

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def start(
        self, pages: Mapping[Hashable, Fetch], owner: asyncio.Task[Any] | None, fresh_for: float
    ) -> int:
        """Read ``pages`` (cache key -> its read through the shared cache, kept ``fresh_for``
        seconds) in the background; returns how many were started (a page being read ahead, or
        read ahead and still cached, is not read again). ``owner``: the request's task; if it ends
        cancelled, so do its pages nobody joined."""
        if self._stopped:
            return 0
        now = time.monotonic()
        run = _Run()
        stats = UpstreamStats()  # the read-ahead's own (the request's may be reported already)
        for key, fetch in pages.items():
            if key in self._running or self._read.get(key, now) > now:
                continue
            context = contextvars.copy_context()
            context.run(current_stats.set, stats)
            task = asyncio.get_running_loop().create_task(
                self._read_page(key, fetch), name=f"read-ahead {key!r}", context=context
            )
            self._running[key] = run.tasks[key] = task
            task.add_done_callback(partial(self._done, key))
            if len(self._read) >= KEPT:
                self._read.clear()
            self._read[key] = now + fresh_for
        self.counters["started"] += len(run.tasks)
        if run.tasks and owner is not None and not owner.done():
            owner.add_done_callback(lambda o: self._owner_done(o, run))
        return len(run.tasks)

    async def _read_page(self, key: Hashable, fetch: Fetch) -> None:
        try:
            await fetch()
            self.counters["read"] += 1
        except Exception:  # the request that asks for the page reads it (and reports) itself
            self.counters["failed"] += 1
            self._read.pop(key, None)

    def fetching(self, key: Hashable) -> None:
        """The shared cache's fetch of ``key`` began (called from inside it): when the page is one
        read ahead, that fetch is cancelled with it."""
        if key in self._running:
            task = asyncio.current_task()
            if task is not None:
                self._fetches[key] = task

    def claim(self, key: Hashable) -> bool:
        """A request reads ``key``: whether it was read ahead (it is now this request's too, and
        no longer cancelled with the request that started it)."""
        if key not in self._read or asyncio.current_task() is self._running.get(key):
            return False  # not read ahead, or the read-ahead's own read
        until = self._read.pop(key)
        if key in self._running:
            self._claimed.add(key)
        elif until <= time.monotonic():
            return False  # read ahead, but gone from the cache since
        self.counters["used"] += 1
        return True

    def _done(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
            self._claimed.discard(key)
            self._fetches.pop(key, None)
        if task.cancelled():
            self.counters["cancelled"] += 1
            self._read.pop(key, None)

    def _owner_done(self, owner: asyncio.Task[Any], run: _Run) -> None:
        if not owner.cancelled():
            return  # answered: the pages are for its client's next cursors
        for key, task in run.tasks.items():
            if self._running.get(key) is task and key not in self._claimed:
                self._cancel(key, task)

    def _cancel(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        fetch = self._fetches.get(key)
        if fetch is not None:
            fetch.cancel()
        task.cancel()

    async def stop(self) -> None:
        """Cancel every read-ahead still running and wait for them (the server stops)."""
        self._stopped = True
        tasks = [*self._running.values(), *self._fetches.values()]
        for key, task in list(self._running.items()):
            self._cancel(key, task)
        await asyncio.gather(*tasks, return_exceptions=True)
