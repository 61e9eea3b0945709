"""The watcher over real processes: a sandbox (``kickserv-graph sandbox``) changed straight through
its REST API, two server replicas (``kickserv-graph serve``) sharing one state store (an SQLite
directory, or a real redis-server), each with API keys for two accounts.

What it shows: the replicas run one watcher per tenant (the lease's holder is one of them), the
outside changes reach the tenant's event log as exactly the expected events, each once, none in the
other tenant's log; killing the holder in the middle of changes loses none and repeats no id (the
other replica takes over); a query sees the outside change (its caches were voided)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from kickserv import credential_fingerprint
from resolvers.cache import CacheKey
from resolvers.events import ChangeEvent
from resolvers.state import StateStore, open_state_store
from resolvers.tenant import tenant_key
from resolvers.watch import FEEDS
from tests.replicas.harness import Cluster, running_cluster
from tests.state.conftest import RedisServer
from tests.watch.conftest import Kickserv, kinds, outside_changes

DEMO = tenant_key("demo", credential_fingerprint("demo", "demo-token"))
ACME = tenant_key("acme", credential_fingerprint("acme", "acme-token"))
DEMO_KEY = "demo-watch-key-0123456789"
KEYS_FILE = f"""
[[keys]]
name = "demo"
key = "{DEMO_KEY}"
account = "demo"
token = "demo-token"

[[keys]]
name = "acme"
key = "acme-watch-key-0123456789"
account = "acme"
token = "acme-token"
"""
DEADLINE = 60.0  # a guard against hanging, not a promise under test


@pytest.fixture(params=["sqlite", "redis"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    redis: RedisServer | None = None
    if request.param == "redis":
        redis = request.getfixturevalue("redis_server")
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS_FILE)
    with running_cluster(
        tmp_path,
        request.param,
        redis=redis,
        GRAPH_API_KEYS_FILE=str(keys),
        GRAPH_WATCH_INTERVAL_S="0.5",
    ) as started:
        yield started


def open_store(cluster: Cluster) -> StateStore:
    if cluster.redis is not None:
        return open_state_store(cluster.redis.url)
    return open_state_store(cluster.directory / "state")


def lease_holder(cluster: Cluster, tenant: str) -> str | None:
    name = f"watch:{tenant}"
    if cluster.redis is not None:
        client = Redis.from_url(cluster.redis.url)
        try:
            found = client.get(
                "kickserv-graph:lease:" + name.replace("%", "%25").replace(":", "%3A")
            )
        finally:
            client.close()
        return None if found is None else found.decode() if isinstance(found, bytes) else str(found)
    with sqlite3.connect(cluster.directory / "state" / "state.db") as db:
        row = db.execute(
            "SELECT holder FROM leases WHERE name = ? AND expires > ?", (name, time.time())
        ).fetchone()
    return None if row is None else str(row[0])


def holding_replica(cluster: Cluster, tenant: str) -> str:
    """The name of the replica whose process holds the tenant's lease (its pid is in the holder)."""
    holder = lease_holder(cluster, tenant)
    assert holder is not None, "no replica holds the lease"
    pid = int(holder.split(":")[1])
    names = [r.name for r in cluster.replicas if r.process is not None and r.process.pid == pid]
    assert names, f"the holder {holder} is none of the replicas"
    return names[0]


async def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE:g} s"
        await asyncio.sleep(0.1)


async def baselines_done(store: StateStore, tenant: str) -> bool:
    for feed in FEEDS:
        entry = await store.get(CacheKey(tenant, "watch", feed.name))
        if entry is None or not entry.value.get("baseline"):
            return False
    return True


async def events_of(store: StateStore, tenant: str, count: int) -> list[ChangeEvent]:
    """The tenant's log once it holds ``count`` events (and a cycle later: nothing more came)."""

    async def enough() -> bool:
        return await store.last_seq(tenant) >= count

    await wait_until(enough, f"{count} events of {tenant}")
    await store.wait(tenant, count, 1.5)  # three intervals for anything more to arrive
    return await store.after(tenant, 0, limit=1000)


def query(cluster: Cluster, replica: str, text: str) -> dict[str, Any]:
    response = httpx.post(
        cluster[replica].graphql,
        json={"query": text},
        headers={"x-api-key": DEMO_KEY},
        timeout=30.0,
    )
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body


async def test_outside_changes_become_events_once_across_a_killed_holder(
    cluster: Cluster,
) -> None:
    store = open_store(cluster)
    try:
        await wait_until(lambda: baselines_done(store, DEMO), "the baseline of demo")
        await wait_until(lambda: baselines_done(store, ACME), "the baseline of acme")
        assert await store.last_seq(DEMO) == 0  # what existed before is no event
        holder = holding_replica(cluster, DEMO)
        other = next(r.name for r in cluster.replicas if r.name != holder)

        # A query through the graph first caches customer 3, then it changes outside.
        before = query(cluster, other, "{ customer(number: 3) { name } }")
        assert before["data"]["customer"]["name"] != "Changed Outside"

        ks = Kickserv(cluster.sandbox.url)
        touched = outside_changes(ks)
        ks.call("PUT", "customers/3.json", {"customer": {"name": "Changed Outside"}})
        first = await events_of(store, DEMO, 7)
        assert len(first) == 7
        assert ("customer.updated", 3) in kinds(first)
        assert ("job.status_changed", touched["started"]) in kinds(first)
        after = query(cluster, other, "{ customer(number: 3) { name } }")
        assert after["data"]["customer"]["name"] == "Changed Outside"

        # Changes, then the holder dies (SIGKILL) in the middle of noticing them.
        ks.call("PUT", "customers/4.json", {"customer": {"name": "Seen After A Crash"}})
        ks.call("PUT", "customers/5.json", {"customer": {"name": "Also Seen"}})
        cluster[holder].kill()
        ks.call("PUT", "customers/6.json", {"customer": {"name": "Seen By The Other"}})
        log = await events_of(store, DEMO, 10)
        assert holding_replica(cluster, DEMO) == other  # the standby took over
        cluster[holder].start()  # back: it stands by, the lease is the other's
        ks.call("PUT", "customers/7.json", {"customer": {"name": "After The Restart"}})
        log = await events_of(store, DEMO, 11)

        assert [e.seq for e in log] == list(range(1, 12))
        assert len({e.id for e in log}) == 11  # none twice
        assert kinds(log[7:]) == [("customer.updated", n) for n in (4, 5, 6, 7)]
        assert all(e.tenant == DEMO for e in log)
        assert await store.last_seq(ACME) == 0  # nothing changed there: nothing in its log
    finally:
        await store.aclose()
