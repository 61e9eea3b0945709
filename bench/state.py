"""What one state store operation costs, on each backend, as the server would call it.

    .venv/bin/python -m bench.state [--ops 3000] [--concurrency 32] [--redis redis://...]

Without ``--redis`` a ``redis-server`` (from PATH) is started on a free 127.0.0.1 port for the run.
For each backend (and the in-process ``MemoryStore`` for scale): the latency of ``add``, ``swap``
and ``get`` of an idempotency-record-sized value, one call at a time (median, p99, mean, in µs), the
per-request read of a tenant's write log (``sync``: an empty log, a full one of 64 writes),
then ``get`` throughput with ``--concurrency`` calls in flight, and the event loop's worst stall
(a 1 ms ticker; the in-process store never yields, so its ticker hardly runs). Runs on uvloop when it is installed, as the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from kickserv.client import credential_fingerprint
from resolvers.cache import CacheKey, MemoryStore
from resolvers.generations import LOG_KEY, LOG_RESOURCE, TenantWrites
from resolvers.resources import Change
from resolvers.state import open_state_store
from resolvers.tenant import tenant_key

RECORD = {
    "v": 3,
    "op": "createCustomer",
    "fp": "9f2c" * 16,
    "state": "running",
    "owner": uuid.uuid4().hex,
    "lease": 1790000000.25,
    "journal": {"done": {"customer": {"id": 123456, "number": 42}}, "pending": {}, "reads": {}},
    "outcome": None,
}


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    times = []
    for i in range(n):
        start = time.perf_counter()
        await call(i)
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p50 = ordered[len(ordered) // 2] * 1e6
    p99 = ordered[int(len(ordered) * 0.99)] * 1e6
    mean = statistics.fmean(ordered) * 1e6
    return f"p50 {p50:7.1f}  p99 {p99:7.1f}  mean {mean:7.1f} µs"


async def measure(name: str, store: Any, ops: int, concurrency: int) -> None:
    stalls: list[float] = []

    async def ticker() -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            stalls.append(time.perf_counter() - start - 0.001)

    tick = asyncio.ensure_future(ticker())
    keys = [
        CacheKey("acct-1:cred", "idempotency", f"bench-{uuid.uuid4().hex}-{i}") for i in range(ops)
    ]
    changed = {**RECORD, "v": 4}
    for i in range(20):  # warm up connections, threads, scripts
        await store.add(CacheKey("warm", "r", i), RECORD, 60)
        await store.get(CacheKey("warm", "r", i))
    add = await timed(ops, lambda i: store.add(keys[i], RECORD, 3600))
    swap = await timed(ops, lambda i: store.swap(keys[i], RECORD, changed, 3600))
    get = await timed(ops, lambda i: store.get(keys[i]))
    generation = []
    if hasattr(store, "generation"):
        generation = await timed(ops, lambda i: store.generation("acct-1"))

    async def worker(n: int) -> None:
        for i in range(n):
            await store.get(keys[i % ops])

    one_at_a_time = max(stalls, default=0.0)
    per_worker = max(ops // concurrency, 1)
    await asyncio.gather(*(worker(2) for _ in range(concurrency)))  # open the connections
    stalls.clear()
    start = time.perf_counter()
    await asyncio.gather(*(worker(per_worker) for _ in range(concurrency)))
    throughput = per_worker * concurrency / (time.perf_counter() - start)
    tick.cancel()
    syncs = await sync_costs(store, ops) if hasattr(store, "bump_generation") else {}
    print(f"{name}")
    print(f"  add         {summary(add)}")
    print(f"  swap        {summary(swap)}")
    print(f"  get         {summary(get)}")
    if generation:
        print(f"  generation  {summary(generation)}")
    for label, (times, size) in syncs.items():
        print(f"  sync, {label + f' ({size:,} B)':<24} {summary(times)}")
    print(f"  get x{concurrency:<3} in flight: {throughput:9.0f} ops/s")
    print(
        f"  worst event-loop stall: {one_at_a_time * 1e3:.2f} ms one call at a time, "
        f"{max(stalls, default=0.0) * 1e3:.2f} ms with {concurrency} in flight"
    )


async def sync_costs(store: Any, ops: int) -> dict[str, tuple[list[float], int]]:
    """What each request pays to catch up with other processes' writes (``TenantWrites.sync``, its
    tenant's generation unchanged): with an empty write log, and with a full one (64 writes, as
    many as a log keeps; every sync reads all of it)."""
    found: dict[str, tuple[list[float], int]] = {}
    writer = TenantWrites(store, generation=store.bump_generation)
    reader = TenantWrites(store, generation=store.bump_generation)
    for label, writes in (("empty log", 0), ("64 writes", 64)):
        tenant = f"acct-sync-{uuid.uuid4().hex[:8]}"
        for _ in range(writes):
            await writer.publish(tenant, lambda: [c.value for c in UPDATE])
        await reader.sync(tenant)
        log = await store.get(CacheKey(tenant, LOG_RESOURCE, LOG_KEY))
        size = len(orjson.dumps(log.value)) if log is not None else 0

        async def sync(_i: int, tenant: str = tenant) -> Any:
            return await reader.sync(tenant)

        found[label] = (await timed(ops, sync), size)
    return found


ACCOUNT, TOKEN = "demo", "demo-token"  # the sandbox's, as the bench's servers use it
UPDATE = (Change.CUSTOMER, Change.CUSTOMER_GLUE)


async def fill_write_log(where: str, entries: int) -> None:
    """Publish ``entries`` writes (a customer's update each) to the sandbox tenant's write log, as
    a server that has seen writes finds it: every request reads the whole log."""
    store = open_state_store(where)
    try:
        writes = TenantWrites(store, generation=store.bump_generation)
        tenant = tenant_key(ACCOUNT, credential_fingerprint(ACCOUNT, TOKEN))
        for _ in range(entries):
            await writes.publish(tenant, lambda: [c.value for c in UPDATE])
    finally:
        await store.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(args: argparse.Namespace, redis_url: str | None) -> None:
    print(f"event loop: {type(asyncio.get_running_loop()).__module__}; {args.ops} calls each")
    await measure(
        "in-process MemoryStore (no sharing, for scale)", MemoryStore(), args.ops, args.concurrency
    )
    with tempfile.TemporaryDirectory() as directory:
        store = open_state_store(Path(directory))
        await measure(f"SQLite ({store.description})", store, args.ops, args.concurrency)
        await store.aclose()
    if redis_url:
        store = open_state_store(redis_url, prefix=f"bench-{uuid.uuid4().hex[:8]}")
        await measure(f"Redis ({store.description})", store, args.ops, args.concurrency)
        await store.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--redis", help="a Redis URL; default: start redis-server for the run")
    args = parser.parse_args()
    server = None
    redis_url = args.redis
    directory = tempfile.TemporaryDirectory()
    if redis_url is None and shutil.which("redis-server"):
        port = free_port()
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory.name],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        redis_url = f"redis://127.0.0.1:{port}/0"
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
    elif redis_url is None:
        print("redis-server is not on PATH: Redis not measured", file=sys.stderr)
    try:
        try:
            import uvloop

            uvloop.run(run(args, redis_url))
        except ImportError:
            asyncio.run(run(args, redis_url))
    finally:
        if server is not None:
            server.kill()
            server.wait()
        directory.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
