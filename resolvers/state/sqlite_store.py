"""The embedded state store: one SQLite file (WAL mode), shared by every worker process of a machine.

Opening checks the file (``PRAGMA quick_check``) and proves it writable, so a corrupt or unwritable
file fails at start with one ``StateStoreOpenError`` naming the path and what to do, not at the first
write. The directory is created (mode 0700) and the file made 0600: it holds write outcomes.

Every operation is one short statement or one ``BEGIN IMMEDIATE`` transaction, run on the store's own
thread (one connection, one thread per store) so the event loop never waits on the file or on another
process's lock; processes take turns through SQLite's locks (``busy_timeout``). ``add`` and ``swap``
are single statements (an upsert that only replaces an expired row; an update conditioned on the
stored text), atomic across processes by SQLite's own locking.

``synchronous=NORMAL``: a committed change survives the process (a crash, a restart, ``kill -9``); an
operating-system crash or power loss may lose the last transactions. Expired rows are invisible at
once and deleted lazily, a bounded batch at a time, by writes at most every ``purge_every`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from resolvers.cache import CacheKey, Entry
from resolvers.state.base import (
    APQ_MAX_BYTES,
    APQ_TTL,
    GENERATION_TTL,
    StateStoreOpenError,
    StateUnavailable,
    check_digest,
    check_ttl,
    dumps,
    key_text,
    lifetime,
    loads,
    stored_entry,
)
from resolvers.state.sqlite_events import EVENT_CAP, EVENT_RETENTION, EVENTS_SCHEMA, SQLiteEvents
from resolvers.state.wal_index import WalIndexMark

T = TypeVar("T")

SCHEMA_VERSION = 1
_RECORD = "r"
_RATE = "rate"
_PURGE_BATCH = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    ns TEXT NOT NULL, tenant TEXT NOT NULL, resource TEXT NOT NULL, key TEXT NOT NULL,
    value BLOB NOT NULL, gap REAL NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (ns, tenant, resource, key)
);
CREATE INDEX IF NOT EXISTS records_expires ON records (expires);
CREATE TABLE IF NOT EXISTS apq (
    digest TEXT PRIMARY KEY, query TEXT NOT NULL, bytes INTEGER NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS apq_expires ON apq (expires);
CREATE TABLE IF NOT EXISTS generations (
    tenant TEXT PRIMARY KEY, generation INTEGER NOT NULL, expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS generations_expires ON generations (expires);
"""

_ADD = """
INSERT INTO records (ns, tenant, resource, key, value, gap, expires) VALUES (?, ?, ?, ?, ?, 0, ?)
ON CONFLICT (ns, tenant, resource, key) DO UPDATE
SET value = excluded.value, gap = 0, expires = excluded.expires WHERE records.expires <= ?
"""
_SWAP = """
UPDATE records SET value = ?, gap = 0, expires = ?
WHERE ns = ? AND tenant = ? AND resource = ? AND key = ? AND value = ? AND expires > ?
"""
_SET = """
INSERT INTO records (ns, tenant, resource, key, value, gap, expires) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ns, tenant, resource, key) DO UPDATE
SET value = excluded.value, gap = excluded.gap, expires = excluded.expires
"""
_GET = """
SELECT value, gap, expires FROM records
WHERE ns = ? AND tenant = ? AND resource = ? AND key = ? AND expires > ?
"""
_DELETE = "DELETE FROM records WHERE ns = ? AND tenant = ? AND resource = ? AND key = ?"


class SQLiteStateStore(SQLiteEvents):
    """The embedded ``StateStore`` (see the module docstring); opening is blocking (at start)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        apq_ttl: float = APQ_TTL,
        apq_max_bytes: int = APQ_MAX_BYTES,
        generation_ttl: float = GENERATION_TTL,
        event_retention: float = EVENT_RETENTION,
        event_cap: int = EVENT_CAP,
        event_poll: float = 0.2,
        busy_timeout: float = 10.0,
        purge_every: float = 30.0,
        check: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.apq_ttl = check_ttl(apq_ttl)
        self.apq_max_bytes = apq_max_bytes
        self.generation_ttl = check_ttl(generation_ttl)
        self._init_events(event_retention, event_cap, event_poll)
        self.purge_every = purge_every
        self._clock = clock
        self._wall = wall
        self._next_purge = 0.0
        self._closed = False
        self._reader: sqlite3.Connection | None = None  # the event loop's (see ``generation``)
        self._mark = WalIndexMark(self.path)  # ``change_mark``, once our connections are open
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="state-sqlite")
        try:
            self._db = self._executor.submit(self._connect, busy_timeout, check).result()
        except BaseException:
            self._executor.shutdown(wait=False)
            raise

    @property
    def description(self) -> str:
        return f"sqlite:{self.path}"

    def __repr__(self) -> str:
        return f"SQLiteStateStore({str(self.path)!r})"

    # -- opening -------------------------------------------------------------------------------

    def _connect(self, busy_timeout: float, check: bool) -> sqlite3.Connection:
        path = self.path
        what_to_do = (
            "give the server's user write access there, or choose another state directory "
            "(GRAPH_STATE_DIR)"
        )
        try:
            created_dir = not path.parent.exists()
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            created = not path.exists()
            db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StateStoreOpenError(
                f"State store {path} cannot be opened ({_reason(exc)}): {what_to_do}."
            ) from None
        try:
            if created:
                os.chmod(path, 0o600)
            if created_dir:
                os.chmod(path.parent, 0o700)
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = _wal(db, busy_timeout)
            if str(mode).lower() != "wal":
                raise StateStoreOpenError(
                    f"State store {path} cannot use SQLite's WAL mode (it stays in {mode!r}; "
                    "network file systems do not support it): choose a state directory on a "
                    "local disk (GRAPH_STATE_DIR), or use Redis (GRAPH_REDIS_URL)."
                )
            db.execute("PRAGMA synchronous = NORMAL")
            if check:
                problems = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
                if problems != ["ok"]:
                    raise sqlite3.DatabaseError("; ".join(str(p) for p in problems))
            with _immediate(db):
                for statement in (_SCHEMA + EVENTS_SCHEMA).split(";"):
                    if statement.strip():
                        db.execute(statement)
                row = db.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
                if row is not None and row[0] > SCHEMA_VERSION:
                    raise StateStoreOpenError(
                        f"State store {path} was written by a newer kickserv-graph (schema "
                        f"{row[0]}, this one knows {SCHEMA_VERSION}): upgrade, or choose another "
                        "state directory (GRAPH_STATE_DIR)."
                    )
                # A write at every open: an unwritable file fails here, not at the first request.
                db.execute(
                    "INSERT INTO meta (name, value) VALUES ('schema', ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    (SCHEMA_VERSION,),
                )
        except StateStoreOpenError:
            db.close()
            raise
        except (OSError, sqlite3.Error) as exc:
            db.close()
            if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):
                problem = f"cannot be written ({_reason(exc)}): {what_to_do}"
            elif isinstance(exc, sqlite3.OperationalError):
                problem = (
                    f"stayed locked by another process for {busy_timeout:g} s ({_reason(exc)}): "
                    "check which process holds it"
                )
            else:
                problem = (
                    f"is corrupt or not an SQLite database ({_reason(exc)}): move it (and its -wal "
                    "and -shm files) aside to start with an empty store, which forgets stored "
                    "idempotency records, or choose another state directory (GRAPH_STATE_DIR)"
                )
            raise StateStoreOpenError(f"State store {path} {problem}.") from None
        return db

    # -- running on the store's thread ---------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StateUnavailable(f"State store {self.path} is closed.")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, fn, args)

    def _guarded(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return fn(*args)
        except sqlite3.DatabaseError as exc:
            # Locked past the busy timeout, disk full or failing, corrupted since opening; not
            # our own mistakes (ProgrammingError, IntegrityError, ...), which stay as they are.
            if type(exc) not in (sqlite3.OperationalError, sqlite3.DatabaseError):
                raise
            raise StateUnavailable(f"State store {self.path} failed: {_reason(exc)}.") from exc

    def _purge(self, now: float) -> None:
        """Delete a bounded batch of expired rows, at most every ``purge_every`` seconds."""
        if now < self._next_purge:
            return
        self._next_purge = now + self.purge_every
        db = self._db
        for table in ("records", "generations"):
            db.execute(
                f"DELETE FROM {table} WHERE rowid IN "
                f"(SELECT rowid FROM {table} WHERE expires <= ? LIMIT {_PURGE_BATCH})",
                (now,),
            )

    # -- records (the CacheStore protocol) ----------------------------------------------------

    async def get(self, key: CacheKey) -> Entry | None:
        found = await self._run(self._get, _RECORD, key.tenant, key.resource, key_text(key.key))
        if found is None:
            return None
        value, gap, remaining = found
        return stored_entry(value, gap, remaining, self._clock())

    def _get(
        self, ns: str, tenant: str, resource: str, key: str
    ) -> tuple[Any, float, float] | None:
        now = self._wall()
        row = self._db.execute(_GET, (ns, tenant, resource, key, now)).fetchone()
        if row is None:
            return None
        return loads(row[0]), row[1], row[2] - now

    async def set(self, key: CacheKey, entry: Entry) -> None:
        ttl, gap = lifetime(entry.fresh_until, entry.stale_until, self._clock())
        where = (_RECORD, key.tenant, key.resource, key_text(key.key))
        if ttl <= 0:
            await self._run(self._delete, *where)
            return
        await self._run(self._set, *where, dumps(entry.value), gap, ttl)

    def _set(self, *args: Any) -> None:
        *where, value, gap, ttl = args
        now = self._wall()
        self._db.execute(_SET, (*where, value, gap, now + ttl))
        self._purge(now)

    async def delete(self, key: CacheKey) -> None:
        await self._run(self._delete, _RECORD, key.tenant, key.resource, key_text(key.key))

    def _delete(self, ns: str, tenant: str, resource: str, key: str) -> None:
        self._db.execute(_DELETE, (ns, tenant, resource, key))

    async def delete_resources(self, tenant: str, resources: frozenset[str]) -> int:
        if not resources:
            return 0
        return await self._run(self._delete_resources, tenant, sorted(resources))

    def _delete_resources(self, tenant: str, resources: list[str]) -> int:
        marks = ", ".join("?" * len(resources))
        where = f"ns = ? AND tenant = ? AND resource IN ({marks})"
        args = (_RECORD, tenant, *resources)
        with _immediate(self._db):
            live = self._db.execute(
                f"SELECT COUNT(*) FROM records WHERE {where} AND expires > ?",
                (*args, self._wall()),
            ).fetchone()[0]
            self._db.execute(f"DELETE FROM records WHERE {where}", args)
        return int(live)

    async def add(self, key: CacheKey, value: Any, ttl: float) -> bool:
        where = (_RECORD, key.tenant, key.resource, key_text(key.key))
        return await self._run(self._add, *where, dumps(value), check_ttl(ttl))

    def _add(self, *args: Any) -> bool:
        *where, value, ttl = args
        now = self._wall()
        stored = self._db.execute(_ADD, (*where, value, now + ttl, now)).rowcount == 1
        self._purge(now)
        return stored

    async def swap(self, key: CacheKey, expected: Any, value: Any, ttl: float) -> bool:
        where = (_RECORD, key.tenant, key.resource, key_text(key.key))
        return await self._run(self._swap, *where, dumps(expected), dumps(value), check_ttl(ttl))

    def _swap(self, *args: Any) -> bool:
        *where, expected, value, ttl = args
        now = self._wall()
        cursor = self._db.execute(_SWAP, (value, now + ttl, *where, expected, now))
        return cursor.rowcount == 1

    # -- APQ -----------------------------------------------------------------------------------

    async def apq_get(self, digest: str) -> str | None:
        return await self._run(self._apq_get, check_digest(digest))

    def _apq_get(self, digest: str) -> str | None:
        row = self._db.execute(
            "SELECT query FROM apq WHERE digest = ? AND expires > ?", (digest, self._wall())
        ).fetchone()
        return None if row is None else str(row[0])

    async def apq_put(self, digest: str, query: str) -> bool:
        size = len(query.encode("utf-8"))
        if size > self.apq_max_bytes:
            return False
        await self._run(self._apq_put, check_digest(digest), query, size)
        return True

    def _apq_put(self, digest: str, query: str, size: int) -> None:
        db = self._db
        now = self._wall()
        with _immediate(db):
            row = db.execute("SELECT value FROM meta WHERE name = 'apq_bytes'").fetchone()
            total = 0 if row is None else int(row[0])
            expired = db.execute(
                f"SELECT digest, bytes FROM apq WHERE expires <= ? LIMIT {_PURGE_BATCH}", (now,)
            ).fetchall()
            db.executemany("DELETE FROM apq WHERE digest = ?", [(d,) for d, _ in expired])
            total -= sum(b for _, b in expired)
            old = db.execute("SELECT bytes FROM apq WHERE digest = ?", (digest,)).fetchone()
            total += size - (0 if old is None else int(old[0]))
            db.execute(
                "INSERT INTO apq (digest, query, bytes, expires) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (digest) DO UPDATE SET query = excluded.query, "
                "bytes = excluded.bytes, expires = excluded.expires",
                (digest, query, size, now + self.apq_ttl),
            )
            while total > self.apq_max_bytes:  # the oldest go first
                oldest = db.execute(
                    "SELECT digest, bytes FROM apq WHERE digest != ? ORDER BY expires LIMIT 100",
                    (digest,),
                ).fetchall()
                if not oldest:
                    break
                for gone, gone_size in oldest:
                    db.execute("DELETE FROM apq WHERE digest = ?", (gone,))
                    total -= gone_size
                    if total <= self.apq_max_bytes:
                        break
            db.execute(
                "INSERT INTO meta (name, value) VALUES ('apq_bytes', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (total,),
            )

    # -- write generations ---------------------------------------------------------------------

    async def generation(self, tenant: str) -> int:
        # Every request asks this: read it here, on the event loop's own connection. One indexed
        # row of a WAL database does not wait for writers, and a hop to the store's thread costs
        # more than the read (measured: ~38 us and the GIL's contention against ~9 us).
        if self._closed:
            raise StateUnavailable(f"State store {self.path} is closed.")
        return self._guarded(self._generation, (tenant, self._loop_reader()))

    def change_mark(self) -> bytes | None:
        return self._mark.read()

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _loop_reader(self) -> sqlite3.Connection:
        reader = self._reader
        if reader is None:
            reader = self._reader = sqlite3.connect(
                self.path, timeout=0.05, isolation_level=None, check_same_thread=False
            )
            reader.execute("PRAGMA query_only = ON")
        return reader

    def _generation(self, tenant: str, db: sqlite3.Connection | None = None) -> int:
        query = "SELECT generation FROM generations WHERE tenant = ? AND expires > ?"
        row = (db or self._db).execute(query, (tenant, self._wall())).fetchone()
        return 0 if row is None else int(row[0])

    async def bump_generation(self, tenant: str) -> int:
        return await self._run(self._bump_generation, tenant)

    def _bump_generation(self, tenant: str) -> int:
        db = self._db
        now = self._wall()
        with _immediate(db):
            # The counter never expires: a number is never handed out twice, whatever expired.
            db.execute(
                "INSERT INTO meta (name, value) VALUES ('generation', 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1"
            )
            generation = int(
                db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()[0]
            )
            db.execute(
                "INSERT INTO generations (tenant, generation, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET generation = excluded.generation, "
                "expires = excluded.expires",
                (tenant, generation, now + self.generation_ttl),
            )
        self._purge(now)
        return generation

    # -- upstream rate state -------------------------------------------------------------------

    async def rate_get(self, credential: str) -> Any | None:
        found = await self._run(self._get, _RATE, credential, "", "")
        return None if found is None else found[0]

    async def rate_swap(
        self, credential: str, expected: Any | None, value: Any, ttl: float
    ) -> bool:
        where = (_RATE, credential, "", "")
        if expected is None:
            return await self._run(self._add, *where, dumps(value), check_ttl(ttl))
        return await self._run(self._swap, *where, dumps(expected), dumps(value), check_ttl(ttl))

    # -- lifecycle -----------------------------------------------------------------------------

    async def ping(self) -> None:
        await self._run(lambda: self._db.execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._mark.close()  # before any connection of ours closes (see WalIndexMark)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._db.close)
        self._close_reader()
        self._closed = True
        self._executor.shutdown(wait=False)

    def close(self) -> None:
        """Close from synchronous code (not from a running event loop's thread while it waits)."""
        if self._closed:
            return
        self._mark.close()  # before any connection of ours closes (see WalIndexMark)
        self._executor.submit(self._db.close).result()
        self._close_reader()
        self._closed = True
        self._executor.shutdown(wait=True)


def _wal(db: sqlite3.Connection, busy_timeout: float) -> str:
    """Switch to WAL mode. Processes opening a new file together may find it locked for a moment,
    and SQLite answers this pragma "locked" at once, without its busy timeout: so retry here."""
    give_up = time.monotonic() + busy_timeout
    while True:
        try:
            return str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > give_up:
                raise
            time.sleep(0.005)


@contextlib.contextmanager
def _immediate(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, its lock taken at the start (no upgrade deadlock between processes)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
