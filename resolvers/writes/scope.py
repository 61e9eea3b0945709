"""Where a write runs: its tenant, idempotency key, policy, and the one entry point ``run``.

``scope.run(operation, payload, body, dump, load)`` claims the key (or replays its outcome), runs
``body(saga)`` (the steps) and records the outcome for ``retention``; ``run_step`` and
``run_delete`` are its two common bodies, a write or a delete of one record. ``payload`` is what
makes two requests "the same input": everything the write depends on, except the key itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from kickserv import KickservClient
from resolvers.data import Loader, RequestData
from resolvers.stats import record_replay
from resolvers.tenant import Tenant
from resolvers.writes.errors import RecordedFailure
from resolvers.writes.idempotency import IdempotencyLedger, Replay
from resolvers.writes.steps import Deletable, R, Saga, Step, WritePolicy, delete_step, raw_of

T = TypeVar("T")


MARKER_PREFIX = "kg-"


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")  # 1.50 and 1.5 are the same amount
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=_canonical, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class WriteScope:
    tenant: Tenant
    ledger: IdempotencyLedger
    policy: WritePolicy
    key: str | None = None  # None: no retry protection asked for (a fresh key per call)
    data: RequestData | None = None  # the request's loaders, cleared after each write

    @property
    def ks(self) -> KickservClient:
        return self.tenant.client

    def marker(self, step: str) -> str:
        """A token unique to this key and step, written into a field Kickserv keeps so that a
        write with an unknown outcome can be found again (``kg-`` + 12 hex digits)."""
        seed = f"{self.tenant.key}\0{self.key}\0{step}".encode()
        return MARKER_PREFIX + hashlib.sha256(seed).hexdigest()[:12]

    async def run(
        self,
        operation: str,
        payload: Mapping[str, Any],
        body: Callable[[Saga], Awaitable[T]],
        dump: Callable[[T], Any],
        load: Callable[[Any], T],
    ) -> T:
        try:
            if self.key is None:
                self.key = uuid.uuid4().hex
            got = await self.ledger.begin(
                self.tenant.key, self.key, operation, fingerprint(payload)
            )
            if isinstance(got, Replay):
                record_replay()
                if got.outcome.get("error") is not None:
                    raise RecordedFailure.from_json(got.outcome["error"])
                return load(got.outcome["result"])
            claim = got
            try:
                result = await body(Saga(claim, self.policy))
            except RecordedFailure as failure:
                await claim.finish({"error": failure.as_json(), "result": None})
                raise
            except BaseException:
                await asyncio.shield(claim.release())
                raise
            await claim.finish({"result": dump(result), "error": None})
            return result
        finally:
            # Whatever the outcome, Kickserv may have changed: responses cached before are void.
            await self.tenant.wrote()

    async def run_step(
        self,
        operation: str,
        payload: Mapping[str, Any],
        step: Step[R],
        then: Callable[[R], Awaitable[object]],
    ) -> R:
        """A write of one record in one step, ``then(record)`` after it (what it voids); answers
        the record."""

        async def body(saga: Saga) -> R:
            record = await saga.run(step)
            await then(record)
            return record

        return await self.run(operation, payload, body, raw_of, step.load)

    async def run_delete(
        self,
        operation: str,
        payload: Mapping[str, Any],
        load: Callable[[Any], R],
        records: Deletable[R],
        key: int,
        then: Callable[[R], Awaitable[object]],
    ) -> R:
        """The delete of record ``key`` of ``records``, ``then(record)`` after it; answers the
        record as it was. The record is read first and kept in the journal, so a retry answers the
        same."""

        async def body(saga: Saga) -> R:
            async def read() -> dict[str, Any]:
                return raw_of(await records.get(key))

            before = load(await saga.remember("before", read))
            await saga.run(delete_step(before, load, records, key))
            await then(before)
            return before

        return await self.run(operation, payload, body, raw_of, load)

    def clear_loaders(self) -> None:
        """The request's own loaders may hold what the write just changed."""
        if self.data is None:
            return
        for value in vars(self.data).values():
            if isinstance(value, Loader):
                value.clear_all()
