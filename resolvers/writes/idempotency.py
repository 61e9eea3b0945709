"""Idempotency records: one per (tenant, key), so a write happens once however often it is retried.

A record lives in a ``CacheStore`` (in process, or Redis shared by replicas) for ``retention``
seconds after its last change and holds::

    {"v": version, "op": operation, "fp": fingerprint of the input,
     "state": "running" | "done", "owner": who runs it now (or None), "lease": until when,
     "journal": what the steps did so far, "outcome": the recorded result or failure}

- The first request ``add``s the record (atomic "claim if absent") and owns it under a lease that a
  heartbeat renews; every step's progress is saved with ``swap`` (compare-and-set), so a replica whose
  lease lapsed cannot overwrite the one that took over.
- A duplicate that finds the record running under a live lease waits for it and shares its outcome.
- A record that is not running (its owner failed or vanished) is taken over and resumed from its
  journal, never started afresh: steps already done are not sent again.
- The same key with different input is refused, unless nothing was ever written under it.

Leases compare wall-clock times (``clock``) because replicas share them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from resolvers.cache import CacheKey, CacheStore
from resolvers.writes.errors import IdempotencyKeyInUse, IdempotencyKeyReused, LeaseLost

RESOURCE = "idempotency"
Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Replay:
    """The key's recorded outcome: the write already happened."""

    outcome: dict[str, Any]


@dataclass
class IdempotencyLedger:
    store: CacheStore
    retention: float = 24 * 3600.0
    lease: float = 30.0
    wait_timeout: float = 60.0  # how long a duplicate waits for the first before giving up
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def begin(
        self, tenant: str, key: str, operation: str, fingerprint: str
    ) -> Claim | Replay:
        """Own the key (a ``Claim``, journal included) or get its recorded outcome (``Replay``)."""
        where = CacheKey(tenant, RESOURCE, key)
        me = uuid.uuid4().hex
        give_up = self.clock() + self.wait_timeout
        delay = 0.005
        while True:
            entry = await self.store.get(where)
            current: Record | None = None if entry is None else entry.value
            now = self.clock()
            if current is None:
                fresh = self._record(operation, fingerprint, me, now, {}, 1)
                if await self.store.add(where, fresh, self.retention):
                    return self._claim(where, fresh)
                continue
            live = current["state"] == "running" and current["lease"] > now
            bound = current["state"] == "done" or wrote(current["journal"]) or live
            if (current["op"], current["fp"]) != (operation, fingerprint) and bound:
                raise IdempotencyKeyReused(
                    f"Idempotency key {key!r} was already used for a different "
                    f"{'input' if current['op'] == operation else current['op'] + ' call'}; "
                    "use a new key for a new write."
                )
            if current["state"] == "done":
                return Replay(current["outcome"])
            if live:
                if now >= give_up:
                    raise IdempotencyKeyInUse(
                        f"A request with idempotency key {key!r} is still running; retry later."
                    )
                await self.sleep(delay)
                delay = min(delay * 2, 0.1)
                continue
            journal = current["journal"] if current["fp"] == fingerprint else {}
            taken = self._record(operation, fingerprint, me, now, journal, current["v"] + 1)
            if await self.store.swap(where, current, taken, self.retention):
                return self._claim(where, taken)

    def _record(
        self, op: str, fp: str, owner: str, now: float, journal: dict[str, Any], version: int
    ) -> Record:
        return {
            "v": version,
            "op": op,
            "fp": fp,
            "state": "running",
            "owner": owner,
            "lease": now + self.lease,
            "journal": journal,
            "outcome": None,
        }

    def _claim(self, where: CacheKey, record: Record) -> Claim:
        claim = Claim(self, where, record)
        claim.start_heartbeat()
        return claim


@dataclass
class Claim:
    """Ownership of one key while its write runs; ``journal`` is saved with ``save()``."""

    ledger: IdempotencyLedger
    where: CacheKey
    record: Record
    journal: dict[str, Any] = field(init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _heartbeat: asyncio.Task[None] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        # A private copy: the stored record must only change through swap.
        self.journal = _copy(self.record["journal"])

    @property
    def resumed(self) -> bool:
        return wrote(self.record["journal"])

    async def save(self) -> None:
        """Persist the journal and renew the lease."""
        await self._write(state="running", lease=self.ledger.clock() + self.ledger.lease)

    async def finish(self, outcome: dict[str, Any]) -> None:
        """Record the outcome; from now on the key replays it."""
        self.stop_heartbeat()
        await self._write(state="done", owner=None, lease=0.0, outcome=outcome)

    async def release(self) -> None:
        """Give the key up after a failure, journal kept, so a retry resumes where this stopped."""
        self.stop_heartbeat()
        with contextlib.suppress(LeaseLost):
            await self._write(state="running", owner=None, lease=0.0)

    async def _write(self, **changes: Any) -> None:
        async with self._lock:
            current = self.record
            updated = {
                **current,
                **changes,
                "journal": _copy(self.journal),
                "v": current["v"] + 1,
            }
            if not await self.ledger.store.swap(
                self.where, current, updated, self.ledger.retention
            ):
                self.stop_heartbeat()
                raise LeaseLost(
                    "Another request took this idempotency key over while this one was slow; "
                    "retry with the same key to get its outcome."
                )
            self.record = updated

    def start_heartbeat(self) -> None:
        async def beat() -> None:
            with contextlib.suppress(LeaseLost):  # the step's own save reports it
                while True:
                    await asyncio.sleep(self.ledger.lease / 3)
                    await self.save()

        self._heartbeat = asyncio.ensure_future(beat())

    def stop_heartbeat(self) -> None:
        if self._heartbeat is not None and asyncio.current_task() is not self._heartbeat:
            self._heartbeat.cancel()
        self._heartbeat = None


def wrote(journal: dict[str, Any]) -> bool:
    """Whether a journal shows a write that happened or may have (its "done" and "pending"
    sections, see ``steps.Saga``); reads remembered for later attempts do not count."""
    return bool(journal.get("done") or journal.get("pending"))


def _copy(journal: dict[str, Any]) -> dict[str, Any]:
    """Journals hold JSON values only: a two-level copy keeps the stored one untouched."""
    return {k: dict(v) if isinstance(v, dict) else v for k, v in journal.items()}
