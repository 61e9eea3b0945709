"""What only the embedded store does: a file that survives restarts, fails clearly at open when it
cannot be used, takes turns with other processes without blocking the event loop, purges lazily."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from resolvers.cache import CacheKey
from resolvers.generations import TenantWrites
from resolvers.state import (
    STATE_FILE,
    SQLiteStateStore,
    StateStoreOpenError,
    StateUnavailable,
    default_state_dir,
    open_state_store,
)
from resolvers.state.redis_store import RedisStateStore
from tests.state import _procs
from tests.state.test_store import run_processes

KEY = CacheKey("tenant", "idempotency", "k")


async def test_state_survives_closing_and_reopening(tmp_path: Path) -> None:
    store = open_state_store(tmp_path)
    await store.add(KEY, {"state": "done"}, 3600)
    generation = await store.bump_generation("tenant")
    await store.apq_put("b" * 64, "{ kept }")
    await store.rate_swap("cred", None, {"rate": 3}, 3600)
    await store.aclose()

    again = open_state_store(tmp_path)
    try:
        entry = await again.get(KEY)
        assert entry is not None and entry.value == {"state": "done"}
        assert await again.generation("tenant") == generation
        assert await again.bump_generation("other") > generation
        assert await again.apq_get("b" * 64) == "{ kept }"
        assert await again.rate_get("cred") == {"rate": 3}
    finally:
        await again.aclose()


async def test_state_survives_a_process_killed_without_closing(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_procs.write_then_die, args=(str(tmp_path),))
    child.start()
    await asyncio.to_thread(child.join, 60)
    assert child.exitcode == -9
    store = open_state_store(tmp_path)
    try:
        entry = await store.get(CacheKey("tenant", "idempotency", "k"))
        assert entry is not None and entry.value == {"state": "done"}
        assert await store.generation("tenant") == 1
        assert await store.apq_get("a" * 64) == "{ survivor }"
    finally:
        await store.aclose()


def test_processes_opening_a_new_file_together_all_open_it(tmp_path: Path) -> None:
    # SQLite answers the switch to WAL "locked" at once, without its busy timeout, when another
    # process is switching the same new file: it failed about one start in six before the retry.
    paths = [str(tmp_path / f"state-{n}") for n in range(12)]
    assert run_processes(_procs.open_together, [(paths,) for _ in range(4)]) == [12] * 4


def test_a_corrupt_file_fails_at_open_with_one_clear_message(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE
    path.write_bytes(b"this is not a database, " * 200)
    with pytest.raises(StateStoreOpenError) as caught:
        open_state_store(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "corrupt" in message and "move it" in message and "GRAPH_STATE_DIR" in message
    assert "\n" not in message


def test_a_damaged_page_fails_at_open(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / STATE_FILE)

    async def fill() -> None:
        for n in range(400):
            await store.add(CacheKey("tenant", "idempotency", f"k{n}"), {"pad": "x" * 300}, 3600)
        await store.aclose()

    asyncio.run(fill())
    with sqlite3.connect(tmp_path / STATE_FILE) as db:  # fold the WAL into the file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray((tmp_path / STATE_FILE).read_bytes())
    page = 4096
    assert len(data) > 10 * page
    for offset in range(5 * page, 9 * page, 7):  # scribble over pages in the middle
        data[offset] = 0xFF
    (tmp_path / STATE_FILE).write_bytes(bytes(data))
    with pytest.raises(StateStoreOpenError, match="corrupt"):
        SQLiteStateStore(tmp_path / STATE_FILE)


def test_an_unusable_directory_fails_at_open_with_one_clear_message(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StateStoreOpenError) as caught:
        open_state_store(blocker / "state")
    message = str(caught.value)
    assert str(blocker / "state" / STATE_FILE) in message
    assert "cannot be opened" in message and "write access" in message
    assert "\n" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_file_fails_at_open(tmp_path: Path) -> None:
    SQLiteStateStore(tmp_path / STATE_FILE).close()
    os.chmod(tmp_path / STATE_FILE, 0o400)
    with pytest.raises(StateStoreOpenError, match="cannot be written"):
        SQLiteStateStore(tmp_path / STATE_FILE)


def test_the_file_is_private_to_its_user(tmp_path: Path) -> None:
    SQLiteStateStore(tmp_path / "new" / STATE_FILE).close()
    assert (tmp_path / "new").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "new" / STATE_FILE).stat().st_mode & 0o777 == 0o600


async def test_waiting_for_another_writer_does_not_block_the_event_loop(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / STATE_FILE)
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        other = sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        locked.set()
        release.wait(10)
        other.execute("COMMIT")
        other.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    lags: list[float] = []

    async def tick() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - start - 0.005)

    ticker = asyncio.ensure_future(tick())
    asyncio.get_running_loop().call_later(0.4, release.set)
    started = time.perf_counter()
    assert await store.add(KEY, {"v": 1}, 60)  # waits for the lock, on the store's thread
    waited = time.perf_counter() - started
    ticker.cancel()
    holder.join()
    await store.aclose()
    assert waited >= 0.35
    assert len(lags) > 30 and max(lags) < 0.05, f"the loop stalled {max(lags):.3f} s"


async def test_a_lock_held_past_the_busy_timeout_is_state_unavailable(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / STATE_FILE, busy_timeout=0.2)
    other = sqlite3.connect(tmp_path / STATE_FILE, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StateUnavailable, match="locked"):
            await store.add(KEY, {"v": 1}, 60)
        assert await store.get(KEY) is None  # readers are not blocked by a writer (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await store.add(KEY, {"v": 1}, 60)
    await store.aclose()


async def test_expired_rows_are_purged_lazily(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / STATE_FILE, purge_every=0.0)
    for n in range(10):
        await store.add(CacheKey("t", "r", n), {"n": n}, 0.1)
        await store.bump_generation(f"tenant-{n}")
    await asyncio.sleep(0.2)

    def rows() -> tuple[int, int]:
        with sqlite3.connect(tmp_path / STATE_FILE) as db:
            counts = (
                db.execute("SELECT COUNT(*) FROM records").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM generations").fetchone()[0],
            )
        db.close()
        return counts

    assert await asyncio.to_thread(rows) == (10, 10)  # still there, but invisible
    assert await store.get(CacheKey("t", "r", 1)) is None
    await store.add(CacheKey("t", "r", "live"), {}, 60)  # a write purges
    assert await asyncio.to_thread(rows) == (1, 10)
    await store.aclose()


async def test_a_closed_store_refuses(tmp_path: Path) -> None:
    store = SQLiteStateStore(tmp_path / STATE_FILE)
    await store.aclose()
    await store.aclose()  # twice is fine
    with pytest.raises(StateUnavailable, match="closed"):
        await store.get(KEY)


async def test_open_state_store_picks_the_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = open_state_store(tmp_path / "dir")  # opening is blocking: fine at start
    assert isinstance(chosen, SQLiteStateStore) and chosen.path == tmp_path / "dir" / STATE_FILE
    chosen.close()
    chosen = open_state_store(tmp_path / "custom.db")
    assert isinstance(chosen, SQLiteStateStore) and chosen.path == tmp_path / "custom.db"
    chosen.close()
    chosen = open_state_store(f"sqlite://{tmp_path}/other.sqlite")
    assert isinstance(chosen, SQLiteStateStore) and chosen.path == tmp_path / "other.sqlite"
    chosen.close()
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_state_dir() == tmp_path / "xdg" / "kickserv-graph"
    chosen = open_state_store(None)
    assert isinstance(chosen, SQLiteStateStore)
    assert chosen.path == tmp_path / "xdg" / "kickserv-graph" / STATE_FILE
    chosen.close()
    for url in ("redis://localhost:6379/0", "rediss://u:p@example.com:6380", "unix:///tmp/r.sock"):
        redis_store = open_state_store(url)
        assert isinstance(redis_store, RedisStateStore)
        await redis_store.aclose()


async def test_a_write_of_another_process_moves_the_change_mark_and_the_next_sync_applies_it(
    tmp_path: Path,
) -> None:
    store = open_state_store(tmp_path)
    assert isinstance(store, SQLiteStateStore)
    reads: list[str] = []

    async def current(tenant: str) -> int:
        reads.append(tenant)
        return await store.generation(tenant)

    writes = TenantWrites(
        store, generation=store.bump_generation, current=current, change_mark=store.change_mark
    )
    try:
        # given: the tenant synced twice (the second finds it up to date: settled)
        assert await writes.sync("tenant") == (0, ())
        assert await writes.sync("tenant") == (0, ())
        mark, read_before = store.change_mark(), len(reads)
        assert mark is not None
        # reads commit nothing: the mark stays, and a sync does not read the store
        await store.get(KEY)
        await store.generation("tenant")
        assert store.change_mark() == mark
        assert await writes.sync("tenant") == (0, ())
        assert len(reads) == read_before

        # when: another process publishes a write of the tenant
        (generation,) = await asyncio.to_thread(
            run_processes, _procs.publish_write, [(str(tmp_path), "tenant", "customers")]
        )

        # then: the mark moved, and the next sync reads the store and applies what it voided
        assert store.change_mark() != mark
        assert await writes.sync("tenant") == (generation, ("customers",))
        assert len(reads) == read_before + 1
    finally:
        await store.aclose()
    assert store.change_mark() is None  # closed: unmapped, and not mapped again
