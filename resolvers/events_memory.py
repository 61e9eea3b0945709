"""The event log of the ``GRAPH_STATE_DIR=memory`` backend: this process only, bounded.

It keeps ``EventLog``'s promises (``resolvers.events``) within one process: ids appended once per
tenant, ``seq`` 1, 2, ... per tenant, ``after`` in order, ``wait`` woken by ``append`` at once. It
forgets the oldest events past ``keep`` per tenant (a reader that far behind resumes at the oldest
kept), and everything when the process ends: the durable logs are the state stores'.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from resolvers.events import ChangeEvent

DEFAULT_KEEP = 10_000


@dataclass
class _TenantLog:
    events: deque[ChangeEvent] = field(default_factory=deque)
    ids: OrderedDict[str, None] = field(default_factory=OrderedDict)
    last: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class MemoryEventLog:
    """One process's ``EventLog``: per tenant, the last ``keep`` events and ids."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        if keep < 1:
            raise ValueError("A log keeps at least one event.")
        self.keep = keep
        self._tenants: dict[str, _TenantLog] = {}

    def _log(self, tenant: str) -> _TenantLog:
        log = self._tenants.get(tenant)
        if log is None:
            log = self._tenants[tenant] = _TenantLog()
        return log

    # Atomic per call: nothing below awaits, so no other task runs in between.
    async def append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        log = self._log(tenant)
        appended: list[ChangeEvent] = []
        for event in events:
            if event.tenant != tenant:
                raise ValueError(f"An event of tenant {event.tenant!r} cannot go in {tenant!r}.")
            if event.id in log.ids:
                continue
            log.last += 1
            stored = event.at(log.last)
            log.events.append(stored)
            log.ids[event.id] = None
            appended.append(stored)
            while len(log.events) > self.keep:
                log.events.popleft()
            while len(log.ids) > self.keep:
                log.ids.popitem(last=False)
        if appended:
            log.changed.set()
            log.changed = asyncio.Event()  # waiters hold the one just set
        return appended

    async def after(self, tenant: str, seq: int, limit: int = 100) -> list[ChangeEvent]:
        log = self._tenants.get(tenant)
        if log is None or not log.events or limit < 1:
            return []
        first = log.events[0].seq
        start = max(seq - first + 1, 0)
        return [log.events[i] for i in range(start, min(start + limit, len(log.events)))]

    async def last_seq(self, tenant: str) -> int:
        log = self._tenants.get(tenant)
        return 0 if log is None else log.last

    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        log = self._log(tenant)
        if log.last > seq:
            return True
        changed = log.changed
        try:
            await asyncio.wait_for(changed.wait(), within)
        except TimeoutError:
            return False
        return True
