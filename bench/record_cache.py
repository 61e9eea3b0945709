"""Shared caches of Kickserv records: per process, or in Redis? The dashboard read warm, both ways.

    .venv/bin/python -m bench.record_cache [--customers 300] [--repeats 40]

Issue 10 asks to measure both designs and keep a warm read at most one Redis round-trip. In one
process, against a sandbox, with a ``redis-server`` of its own (``bench.redis_server``):

- **per process** (what the server does): the shared cache in a ``MemoryStore``, plus the one read of
  the tenant's write log from Redis (``Tenant.sync``, the real ``RedisStateStore``) that tells this
  process what other replicas' writes voided;
- **Redis, a GET per entry**: the same ``SharedCache`` over a store that keeps every entry in Redis as
  the records' raw JSON (``raw``; a listing page as its items' raw JSON and its envelope) and rebuilds
  them with ``from_json`` on every read; the loaders ask for a level's entries concurrently, so a
  level's GETs overlap;
- **Redis, one MGET per level**: the same store, except that the entries asked for in one turn of the
  event loop go in one ``MGET`` (the best a Redis record cache can do: one round-trip per dependent
  level of the query, since a level's keys come from the level before).

Each variant answers the dashboard (``examples/dashboard.graphql``, 20 customers, 5 jobs) warm, with
a fresh request context and graphql-core ``execute`` as the server runs it (no response cache: it
would answer before any record is read), interleaved, median of ``repeats``; then the entries alone,
without GraphQL: the MemoryStore gets, against the MGETs and the parsing (orjson + ``from_json``).
Round-trips are counted by the stores (every call is one; nothing is pipelined) and checked against
Redis's ``INFO commandstats``. Both Redis variants still read the write log, so that responses cached
by generation stay right; without it they would save that one round-trip and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import parse
from redis.asyncio import Redis

import kickserv.records as records
from bench.execution import InProcessExecution, sandbox_settings
from bench.redis_server import RedisServer, running_redis
from bench.scenarios import example
from bench.state import fill_write_log
from graph.server.assembly import build_app, server_of
from kickserv.pages import Page
from resolvers.cache import CacheKey, Entry, MemoryStore
from resolvers.task_groups import ListedPage, ListedTask, listed_page, listed_task

_CLASSES: dict[str, Callable[[object], Any]] = {
    name: getattr(records, name).from_json
    for name in records.__all__
    if hasattr(getattr(records, name), "from_json")
} | {"ListedTask": listed_task}


def encode(value: Any) -> bytes:
    """A cached value as Redis would keep it: a record's raw JSON, a page's items' raw JSON."""
    if isinstance(value, Page):
        kinds = {type(item).__name__ for item in value.items}
        return orjson.dumps(
            {
                "page": kinds.pop() if kinds else None,
                "items": [_json(item) for item in value.items],
                "number": value.number,
                "per_page": value.per_page,
                "total_entries": value.total_entries,
                "total_pages": value.total_pages,
                "extra": dict(value.extra),
            },
            default=str,
        )
    return orjson.dumps({"record": type(value).__name__, "raw": value.raw}, default=str)


def _json(item: Any) -> Any:
    return item.json if isinstance(item, ListedTask) else item.raw


def decode(data: bytes) -> Any:
    body = orjson.loads(data)
    if "record" in body:
        return _CLASSES[body["record"]](body["raw"])
    parse_item = _CLASSES[body["page"]] if body["page"] else None
    items = tuple(parse_item(raw) for raw in body["items"]) if parse_item else ()
    page = Page(
        items,
        body["number"],
        body["per_page"],
        body["total_entries"],
        body["total_pages"],
        body["extra"],
    )
    # A page of the planner's task listing is kept grouped by job (resolvers.task_groups), as the
    # server keeps it.
    return listed_page(page) if body["page"] == "ListedTask" else page


@dataclass
class RedisRecordStore:
    """A ``CacheStore`` keeping entries in Redis as raw JSON (``batch``: one MGET per loop turn)."""

    redis: Redis
    batch: bool = False
    prefix: str = "bench-records"
    clock: Callable[[], float] = time.monotonic
    round_trips: int = 0
    bytes_read: int = 0
    parse_seconds: float = 0.0
    levels: list[list[CacheKey]] = field(default_factory=list)
    _pending: dict[CacheKey, list[asyncio.Future[bytes | None]]] = field(default_factory=dict)

    def name(self, key: CacheKey) -> str:
        return f"{self.prefix}:{key.tenant}:{key.resource}:{key.key!r}"

    async def get(self, key: CacheKey) -> Entry | None:
        if self.batch:
            future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
            if not self._pending:
                asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._flush()))
            self._pending.setdefault(key, []).append(future)
            data = await future
        else:
            self.round_trips += 1
            data = _bytes(await self.redis.get(self.name(key)))
        if data is None:
            return None
        self.bytes_read += len(data)
        started = time.perf_counter()
        fresh_in, value = _unpack(data)
        self.parse_seconds += time.perf_counter() - started
        now = self.clock()
        return Entry(value, now + fresh_in, now + fresh_in + 300.0)

    async def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        keys = list(pending)
        self.levels.append(keys)
        self.round_trips += 1
        try:
            found = await self.redis.mget([self.name(k) for k in keys])
        except BaseException as exc:
            for futures in pending.values():
                for future in futures:
                    future.set_exception(exc)
            raise
        for key, data in zip(keys, found, strict=True):
            for future in pending[key]:
                future.set_result(_bytes(data))

    async def set(self, key: CacheKey, entry: Entry) -> None:
        fresh_at = time.time() + entry.fresh_until - self.clock()
        data = orjson.dumps(fresh_at) + b"|" + encode(entry.value)
        ttl = max(1, int((entry.stale_until - self.clock()) * 1000))
        await self.redis.set(self.name(key), data, px=ttl)

    async def delete(self, key: CacheKey) -> None:
        await self.redis.delete(self.name(key))

    async def delete_resources(self, tenant: str, resources: frozenset[str]) -> int:
        raise NotImplementedError  # a warm read only


def _bytes(data: bytes | str | None) -> bytes | None:
    return data.encode() if isinstance(data, str) else data


def _unpack(data: bytes) -> tuple[float, Any]:
    fresh_at, _, body = data.partition(b"|")
    return float(fresh_at) - time.time(), decode(body)


class RecordingStore(MemoryStore):
    """The in-process store, noting which entries a read asks for, and each entry as it was given
    (the store keeps less of a record, ``resolvers.kept``; Redis keeps Kickserv's JSON of it)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[CacheKey] = []
        self.given: dict[CacheKey, Entry] = {}

    async def get(self, key: CacheKey) -> Entry | None:
        self.read.append(key)
        return await super().get(key)

    async def set(self, key: CacheKey, entry: Entry) -> None:
        self.given[key] = _as_listed(entry)
        await super().set(key, entry)


def _as_listed(entry: Entry) -> Entry:
    """The entry as given: a page of the planner's task listing with its tasks' JSON, which a
    task's parse (once its job is asked) replaces in the page the store keeps."""
    page = entry.value
    if not isinstance(page, ListedPage):
        return entry
    tasks = tuple(listed_task(t.json) for t in page.items if t.json is not None)
    if len(tasks) < len(page.items):
        raise ValueError("a listed page given to the store had tasks parsed already")
    return Entry(
        listed_page(dataclasses.replace(page, items=tasks)), entry.fresh_until, entry.stale_until
    )


async def _measure(base_url: str, redis: RedisServer, repeats: int) -> dict[str, Any]:
    app = build_app(sandbox_settings(base_url, redis_url=redis.url))
    server = server_of(app)
    memory = RecordingStore()
    server.cache.store = memory
    client = Redis.from_url(redis.url, protocol=2)
    naive = RedisRecordStore(client)
    batched = RedisRecordStore(client, batch=True)
    stores: dict[str, Any] = {"per_process": memory, "redis_get": naive, "redis_mget": batched}
    async with app.router.lifespan_context(app):
        execution = await InProcessExecution.of(app)
        document = parse(example("dashboard"))
        variables = {"customers": 20, "jobs": 5}

        async def dashboard() -> tuple[float, dict[str, Any]]:
            # The request context reads the write log: one Redis read.
            return await execution.timed(document, variables)

        _, answer = await dashboard()  # cold: fills the in-process cache from the sandbox
        memory.read.clear()
        await dashboard()
        keys = list(dict.fromkeys(memory.read))
        assert all([await memory.get(key) for key in keys])
        entries = {key: memory.given[key] for key in keys}
        for key, entry in entries.items():
            await naive.set(key, entry)
            assert decode(encode(entry.value)) == entry.value, f"{key} does not round-trip"
        for name, store in stores.items():  # each variant answers the same, and warms up
            server.cache.store = store
            for _ in range(3):
                _, data = await dashboard()
                assert data == answer, f"{name} answered differently"
        levels = _last_run_levels(batched.levels, len(keys))

        times: dict[str, list[float]] = {name: [] for name in stores}
        trips: dict[str, int] = {}
        parse_ms: dict[str, float] = {}
        read_kb: dict[str, float] = {}
        before = redis.command_calls()
        for store in stores.values():
            if isinstance(store, RedisRecordStore):
                store.round_trips = store.bytes_read = 0
                store.parse_seconds = 0.0
        log_reads = 0
        for _ in range(repeats):
            for name, store in stores.items():
                server.cache.store = store
                elapsed, _ = await dashboard()
                times[name].append(elapsed)
                log_reads += 1
        after = redis.command_calls()
        for name, store in stores.items():
            if isinstance(store, RedisRecordStore):
                trips[name] = 1 + store.round_trips // repeats  # + the write log
                parse_ms[name] = round(store.parse_seconds * 1000 / repeats, 3)
                read_kb[name] = round(store.bytes_read / 1024 / repeats, 1)
            else:
                trips[name], parse_ms[name], read_kb[name] = 1, 0.0, 0.0
        sent = {
            command: after.get(command, 0) - before.get(command, 0)
            for command in ("evalsha", "get", "mget")
        }
        entries_only = await _entries_only(server, memory, batched, levels, repeats)
    await client.aclose()
    return {
        "entries": len(keys),
        "levels": [len(level) for level in levels],
        "resources": sorted({key.resource for key in keys}),
        "repeats": repeats,
        "bytes_per_read_kb": read_kb["redis_get"],
        "dashboard": {
            name: {
                "median_ms": round(statistics.median(times[name]) * 1000, 3),
                "vs_per_process": round(
                    statistics.median(times[name]) / statistics.median(times["per_process"]), 2
                ),
                "redis_round_trips": trips[name],
                "parse_ms": parse_ms[name],
            }
            for name in stores
        },
        "redis_commands_in_timed_runs": sent,
        "write_log_reads": log_reads,
        "entries_only": entries_only,
    }


def _last_run_levels(batches: list[list[CacheKey]], entries: int) -> list[list[CacheKey]]:
    """The batches of the last dashboard run: the trailing ones that hold every entry once."""
    levels: list[list[CacheKey]] = []
    seen = 0
    for batch in reversed(batches):
        levels.insert(0, batch)
        seen += len(batch)
        if seen >= entries:
            break
    return levels


async def _entries_only(
    server: Any,
    memory: MemoryStore,
    batched: RedisRecordStore,
    levels: list[list[CacheKey]],
    repeats: int,
) -> dict[str, Any]:
    """What the dashboard's entries alone cost warm: in process (plus the write-log read), or from
    Redis (one MGET per level, then parsing)."""
    store = server.store
    tenant = levels[0][0].tenant
    log_key = CacheKey(tenant, "write-log", "log")
    redis = batched.redis
    names = [[batched.name(k) for k in level] for level in levels]
    local, remote, parse_only, log_only = [], [], [], []
    for _ in range(repeats):
        started = time.perf_counter()
        await store.get(log_key)
        log_only.append(time.perf_counter() - started)
        for level in levels:
            for key in level:
                await memory.get(key)
        local.append(time.perf_counter() - started)

        started = time.perf_counter()
        await store.get(log_key)
        parsed = 0.0
        for level_names in names:
            found = await redis.mget(level_names)
            parse_started = time.perf_counter()
            for data in found:
                _unpack(_bytes(data) or b"")
            parsed += time.perf_counter() - parse_started
        remote.append(time.perf_counter() - started)
        parse_only.append(parsed)
    return {
        "per_process_ms": round(statistics.median(local) * 1000, 3),
        "write_log_ms": round(statistics.median(log_only) * 1000, 3),
        "redis_mget_ms": round(statistics.median(remote) * 1000, 3),
        "redis_parse_ms": round(statistics.median(parse_only) * 1000, 3),
        "per_process_round_trips": 1,
        "redis_round_trips": 1 + len(levels),
    }


def measure_record_cache(
    base_url: str, redis: RedisServer, repeats: int, log_entries: int = 64
) -> dict[str, Any]:
    """``log_entries`` writes are published to the tenant's write log first (as in bench.state_modes:
    what a server that has seen writes reads on every request)."""
    asyncio.run(fill_write_log(redis.url, log_entries))
    figures = asyncio.run(_measure(base_url, redis, repeats))
    figures["write_log_entries"] = log_entries
    return figures


def report(figures: dict[str, Any]) -> str:
    rows = [
        f"The dashboard warm: {figures['entries']} cached entries in {len(figures['levels'])} "
        f"dependent levels ({' + '.join(map(str, figures['levels']))}), "
        f"{figures['bytes_per_read_kb']} KB of JSON from Redis per read; the write log holds "
        f"{figures.get('write_log_entries', 0)} writes; median of {figures['repeats']}.",
        "",
        "| shared cache of records | dashboard ms | vs per process | Redis round-trips | of which "
        "parsing ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    labels = {
        "per_process": "per process (MemoryStore) + the write log from Redis",
        "redis_get": "in Redis, a GET per entry (+ the write log)",
        "redis_mget": "in Redis, one MGET per level (+ the write log)",
    }
    for name, row in figures["dashboard"].items():
        rows.append(
            f"| {labels[name]} | {row['median_ms']:.2f} | {row['vs_per_process']:.2f}x "
            f"| {row['redis_round_trips']} | {row['parse_ms']:.2f} |"
        )
    only = figures["entries_only"]
    rows += [
        "",
        f"The entries alone, without GraphQL: per process {only['per_process_ms']:.3f} ms "
        f"({only['per_process_round_trips']} round-trip, the write log, "
        f"{only['write_log_ms']:.3f} ms of it); from Redis "
        f"{only['redis_mget_ms']:.3f} ms ({only['redis_round_trips']} round-trips), of which "
        f"parsing {only['redis_parse_ms']:.3f} ms. Redis commands over the timed runs: "
        + ", ".join(f"{n} {c}" for c, n in figures["redis_commands_in_timed_runs"].items())
        + f" ({figures['write_log_reads']} write-log reads).",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    from sandbox.config import SandboxConfig
    from sandbox.testing import running_sandbox

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    config = SandboxConfig(customers=args.customers, seed=1, latency_ms=0.0, jitter_ms=0.0)
    with running_redis() as redis, running_sandbox(config) as sandbox:
        figures = measure_record_cache(sandbox.base_url, redis, args.repeats)
    print(report(figures))
    if args.json:
        print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
