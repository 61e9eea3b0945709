"""The embedded store's event log and leases (composed into ``SQLiteStateStore``).

Tables (created with the store's schema)::

    events      (tenant, seq, id, body, expires)   UNIQUE (tenant, id): an id is appended once
    event_seqs  (tenant, seq)                      the last seq handed out; never expires, so a
                                                   seq is never reused, whatever expired
    leases      (name, holder, expires)

``append`` is one ``BEGIN IMMEDIATE`` transaction: across processes, SQLite's write lock makes one
appender at a time, so the same events appended by two processes are in the log once each.

``wait`` polls the tenant's last seq every ``event_poll`` seconds (default 0.2 s: one indexed read
of the WAL file, which does not wait for writers), once per tenant however many wait
(``resolvers.state.waiters``), and wakes at once for an append made through the same store object. Events go after ``event_retention`` seconds (default 7 days: webhooks retry for
24 hours), or sooner past ``event_cap`` events of one tenant (the oldest first).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from resolvers.events import ChangeEvent
from resolvers.state.base import EVENT_CAP, EVENT_RETENTION, check_ttl, dumps, loads
from resolvers.state.waiters import Waiters

T = TypeVar("T")

__all__ = ["EVENTS_SCHEMA", "EVENT_CAP", "EVENT_RETENTION", "SQLiteEvents"]

EVENTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    tenant TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL,
    expires REAL NOT NULL, PRIMARY KEY (tenant, seq), UNIQUE (tenant, id)
);
CREATE INDEX IF NOT EXISTS events_expires ON events (expires);
CREATE TABLE IF NOT EXISTS event_seqs (tenant TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
"""

_LEASE = """
INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
WHERE leases.holder = excluded.holder OR leases.expires <= ?
"""


class SQLiteEvents:
    """The ``EventLog`` and lease operations over the store's connection and thread."""

    _db: sqlite3.Connection
    _wall: Callable[[], float]
    event_retention: float
    event_cap: int
    event_poll: float

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:  # provided by the store
        raise NotImplementedError

    def _init_events(self, retention: float, cap: int, poll: float) -> None:
        self.event_retention, self.event_cap, self.event_poll = check_ttl(retention), cap, poll
        self._event_wakers: dict[str, asyncio.Event] = {}
        self._waiters = Waiters(self._block, self.last_seq)

    def _appended_here(self) -> dict[str, asyncio.Event]:
        return self._event_wakers

    # -- the event log -------------------------------------------------------------------------

    async def append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        if not events:
            return []
        rows = [(e.id, dumps(e.at(0).to_json())) for e in events]
        seqs = await self._run(self._append, tenant, rows)
        appended = [e.at(seq) for e, seq in zip(events, seqs, strict=True) if seq]
        if appended:
            waker = self._appended_here().pop(tenant, None)
            if waker is not None:
                waker.set()
        return appended

    def _append(self, tenant: str, rows: list[tuple[str, bytes]]) -> list[int]:
        db = self._db
        now = self._wall()
        seqs: list[int] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            row = db.execute("SELECT seq FROM event_seqs WHERE tenant = ?", (tenant,)).fetchone()
            seq = 0 if row is None else int(row[0])
            for event_id, body in rows:
                known = db.execute(
                    "SELECT 1 FROM events WHERE tenant = ? AND id = ?", (tenant, event_id)
                ).fetchone()
                if known is not None:
                    seqs.append(0)
                    continue
                seq += 1
                db.execute(
                    "INSERT INTO events (tenant, seq, id, body, expires) VALUES (?, ?, ?, ?, ?)",
                    (tenant, seq, event_id, body, now + self.event_retention),
                )
                seqs.append(seq)
            db.execute(
                "INSERT INTO event_seqs (tenant, seq) VALUES (?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq",
                (tenant, seq),
            )
            # Bounded: what is past its retention, and the oldest past the cap of this tenant.
            db.execute(
                "DELETE FROM events WHERE rowid IN "
                "(SELECT rowid FROM events WHERE expires <= ? LIMIT 1000)",
                (now,),
            )
            db.execute(
                "DELETE FROM events WHERE tenant = ? AND seq <= ?", (tenant, seq - self.event_cap)
            )
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return seqs

    async def after(self, tenant: str, seq: int, limit: int = 100) -> list[ChangeEvent]:
        rows = await self._run(self._after, tenant, seq, max(0, limit))
        return [ChangeEvent.from_json(loads(body)).at(int(s)) for s, body in rows]

    def _after(self, tenant: str, seq: int, limit: int) -> list[tuple[int, bytes]]:
        return self._db.execute(
            "SELECT seq, body FROM events WHERE tenant = ? AND seq > ? AND expires > ? "
            "ORDER BY seq LIMIT ?",
            (tenant, seq, self._wall(), limit),
        ).fetchall()

    async def last_seq(self, tenant: str) -> int:
        return await self._run(self._last_seq, tenant)

    def _last_seq(self, tenant: str) -> int:
        row = self._db.execute("SELECT seq FROM event_seqs WHERE tenant = ?", (tenant,)).fetchone()
        return 0 if row is None else int(row[0])

    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        return await self._waiters.wait(tenant, seq, within)

    async def _block(self, tenant: str, seq: int, seconds: float) -> bool:
        """One poll interval (shorter when this store appends for the tenant), then a look."""
        waker = self._appended_here().setdefault(tenant, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waker.wait(), min(seconds, self.event_poll))
        return await self.last_seq(tenant) > seq

    # -- leases --------------------------------------------------------------------------------

    async def lease(self, name: str, holder: str, ttl: float) -> bool:
        """Take the lease ``name`` for ``ttl`` seconds, or renew it if ``holder`` has it; False
        while another holder's lease lasts."""
        return await self._run(self._lease, name, holder, check_ttl(ttl))

    def _lease(self, name: str, holder: str, ttl: float) -> bool:
        now = self._wall()
        return self._db.execute(_LEASE, (name, holder, now + ttl, now)).rowcount == 1

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up now, if ``holder`` has it."""
        await self._run(
            lambda: self._db.execute(
                "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
            )
        )
