"""Changes made on Kickserv (the sandbox, through its own REST API) reach a graph subscriber and a
webhook receiver, over real processes: a sandbox and two ``kickserv-graph serve`` replicas sharing
one state store (an SQLite directory, or a redis-server), the watcher polling every half second.

The subscriber (graphql-transport-ws, on one replica) and the receiver (signed webhooks, queued by
whichever replica) get exactly the events of the tenant's log, each once, in the log's order for
the subscriber, even across its replica killed and restarted in the middle (it resumes after the
last cursor it got); the other tenant's subscriber (SSE, on the other replica) gets none of them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from resolvers.cache import CacheKey
from resolvers.state import StateStore, open_state_store
from resolvers.watch import FEEDS
from tests.push.clients import GUARD, sse_session, ws_session
from tests.push.receiver import receiving
from tests.replicas.harness import Cluster, running_cluster
from tests.state.conftest import RedisServer, private_redis, redis_binary  # noqa: F401
from tests.watch.conftest import Kickserv, outside_changes
from tests.watch.test_end_to_end import ACME, DEMO, DEMO_KEY, KEYS_FILE

ACME_KEY = "acme-watch-key-0123456789"  # the acme key of KEYS_FILE
CHANGES = 'subscription { changes(after: "0") { id cursor type } }'
CHANGES_WITH_SUBJECTS = """subscription($after: String!) {
  changes(after: $after) {
    id cursor type
    ... on JobChange { jobNumber }
    ... on CustomerChange { customerNumber }
    ... on InvoiceChange { invoiceNumber }
    ... on PaymentRecorded { paymentId }
    ... on OpportunityChange { opportunityNumber }
  }
}"""


@pytest.fixture(params=["sqlite", "redis"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    redis: RedisServer | None = None
    if request.param == "redis":  # a server of its own: the replicas use the default key prefix
        redis = request.getfixturevalue("private_redis")
    keys = tmp_path / "keys.toml"
    keys.write_text(KEYS_FILE)
    with running_cluster(
        tmp_path,
        request.param,
        redis=redis,
        GRAPH_API_KEYS_FILE=str(keys),
        GRAPH_WATCH_INTERVAL_S="0.5",
        GRAPH_WEBHOOK_ALLOW_PRIVATE="on",  # the receiver is on 127.0.0.1
        GRAPH_WEBHOOK_RETRY_S="0.5,0.5,0.5",
    ) as started:
        yield started


def open_store(cluster: Cluster) -> StateStore:
    if cluster.redis is not None:
        return open_state_store(cluster.redis.url)
    return open_state_store(cluster.directory / "state")


async def baselines(cluster: Cluster) -> None:
    """Until the watcher has read what exists (its baseline: no events) for both tenants."""
    store = open_store(cluster)
    try:
        async with asyncio.timeout(GUARD * 2):
            for tenant in (DEMO, ACME):
                for feed in FEEDS:
                    while True:
                        entry = await store.get(CacheKey(tenant, "watch", feed.name))
                        if entry is not None and entry.value.get("baseline"):
                            break
                        await asyncio.sleep(0.1)
    finally:
        await store.aclose()


async def test_outside_changes_reach_a_subscriber_and_a_webhook_receiver_once(
    cluster: Cluster,
) -> None:
    await baselines(cluster)
    a, b = (cluster[name] for name in ("A", "B"))
    ks = Kickserv(cluster.sandbox.url)
    acme = Kickserv(cluster.sandbox.url, "acme", "acme-token")
    init = {"X-API-Key": DEMO_KEY}
    async with (
        receiving() as receiver,
        ws_session(b.url.replace("http", "ws") + "/graphql", init) as ws,
    ):
        async with httpx.AsyncClient(base_url=a.url) as http:
            created = await http.post(
                "/graphql",
                json={
                    "query": "mutation($url: String!) { createWebhookEndpoint(url: $url) "
                    "{ secret endpoint { id } } }",
                    "variables": {"url": receiver.url},
                },
                headers={"x-api-key": DEMO_KEY},
            )
            secret = created.json()["data"]["createWebhookEndpoint"]["secret"]
            await ws.subscribe("all", query=CHANGES_WITH_SUBJECTS, variables={"after": "0"})
            async with sse_session(http, {"query": CHANGES}, {"x-api-key": ACME_KEY}) as other:
                touched = await asyncio.to_thread(outside_changes, ks)
                # six changes: a customer created, one renamed, a job started, an opportunity
                # won, an invoice paid by a payment
                seen = [(await ws.next_of("all"))["payload"]["data"]["changes"] for _ in range(3)]
                # the subscriber's replica dies (SIGKILL) and comes back; the subscriber resumes
                # after the last cursor it got, and misses nothing
                b.kill()
                b.start()
                async with ws_session(b.url.replace("http", "ws") + "/graphql", init) as ws:
                    after = {"after": seen[-1]["cursor"]}
                    await ws.subscribe("all", query=CHANGES_WITH_SUBJECTS, variables=after)
                    for _ in range(3):
                        seen.append((await ws.next_of("all"))["payload"]["data"]["changes"])
                    # then one more: the next event is that one, so nothing else came between
                    await asyncio.to_thread(
                        ks.call, "PUT", "customers/3.json", {"customer": {"name": "Sentinel"}}
                    )
                    sentinel = (await ws.next_of("all"))["payload"]["data"]["changes"]
                assert sentinel["type"] == "CUSTOMER_UPDATED"
                assert sentinel["customerNumber"] == 3

                # acme's subscriber: its first event is acme's own change, none of demo's came
                await asyncio.to_thread(
                    acme.call, "PUT", "customers/1.json", {"customer": {"name": "Acme's"}}
                )
                name, data = await other.event()
                assert name == "next"
                theirs = data["data"]["changes"]
                assert theirs["type"] == "CUSTOMER_UPDATED"
                assert theirs["id"] not in {e["id"] for e in [*seen, sentinel]}

        ids = [e["id"] for e in [*seen, sentinel]]
        assert len(set(ids)) == 7  # none twice
        subjects = {
            (e["type"], e.get("jobNumber") or e.get("invoiceNumber") or e.get("paymentId"))
            for e in seen
        }
        assert ("JOB_STATUS_CHANGED", touched["started"]) in subjects
        assert ("INVOICE_PAID", touched["paid"]) in subjects
        assert ("PAYMENT_RECORDED", str(touched["payment"])) in subjects
        assert {e["type"] for e in seen} >= {"CUSTOMER_CREATED", "OPPORTUNITY_WON"}

        # the receiver: the same seven, each once, each signed
        delivered: list[str] = []
        while len(delivered) < 7:
            got = await receiver.next()
            got.verified(secret)
            delivered.append(got.webhook_id)
        assert sorted(delivered) == sorted(ids)
