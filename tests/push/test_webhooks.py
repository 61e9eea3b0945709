"""Signed webhooks over real HTTP: endpoints managed by mutations, deliveries to a real receiver on
127.0.0.1 verified with the ``standardwebhooks`` package, retries with one webhook-id, a restart
between a failure and its retry (the queue is in the state store), redelivery, rotation, 410, and
the address rules."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.server.settings import Settings
from resolvers.events import EventType
from tests.push.clients import GUARD, ws_session
from tests.push.conftest import ALPHA_KEY, BETA_KEY, Served, change, serving, status_change
from tests.push.receiver import HANG, receiving
from tests.state.conftest import RedisServer, private_redis, redis_binary  # noqa: F401

CREATE = """mutation($url: String!, $types: [ChangeType!]) {
  createWebhookEndpoint(url: $url, eventTypes: $types, description: "dispatch") {
    secret endpoint { id url eventTypes enabled }
  }
}"""
DELIVERIES = """query($id: ID!) {
  webhookDeliveries(endpointId: $id) {
    id eventId state redeliveryOf attempts { status outcome error }
  }
}"""


async def gql(served: Served, query: str, key: str = ALPHA_KEY, **variables: Any) -> Any:
    async with httpx.AsyncClient(base_url=served.url) as http:
        response = await http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"x-api-key": key},
            timeout=GUARD,
        )
    return response.json()


async def create(served: Served, url: str, key: str = ALPHA_KEY) -> tuple[str, str]:
    answer = await gql(served, CREATE, key, url=url, types=["JOB_STATUS_CHANGED"])
    created = answer["data"]["createWebhookEndpoint"]
    return created["endpoint"]["id"], created["secret"]


async def deliveries_when(served: Served, endpoint: str, done: Any) -> list[dict[str, Any]]:
    """The endpoint's deliveries once ``done(deliveries)`` holds (polled; GUARD bounds it)."""
    async with asyncio.timeout(GUARD):
        while True:
            answer = await gql(served, DELIVERIES, id=endpoint)
            found: list[dict[str, Any]] = answer["data"]["webhookDeliveries"]
            if done(found):
                return found
            await asyncio.sleep(0.05)


async def test_a_failing_receiver_gets_the_same_signed_webhook_until_it_succeeds(
    settings: Settings,
) -> None:
    async with receiving(500, 503, 502) as receiver, serving(settings) as served:
        endpoint, secret = await create(served, receiver.url)
        assert secret.startswith("whsec_")
        alpha = served.tenant()
        customer = change(alpha, EventType.CUSTOMER_UPDATED, {"customerNumber": 2})
        await served.append(alpha, customer)  # a type the endpoint did not ask for
        job = status_change(alpha, 9, "on_hold", "complete")
        (event,) = await served.append(alpha, job)
        attempts = [await receiver.next() for _ in range(4)]
        assert [a.answered for a in attempts] == [500, 503, 502, 200]
        assert {a.webhook_id for a in attempts} == {event.id}
        for attempt in attempts:
            payload: Any = attempt.verified(secret)
            assert payload["type"] == "job.status_changed"
            assert payload["data"]["id"] == event.id
            assert payload["data"]["data"]["status"] == {"from": "on_hold", "to": "complete"}
            assert "tenant" not in payload["data"]
        (delivery,) = await deliveries_when(
            served, endpoint, lambda d: d and d[0]["state"] == "DELIVERED"
        )
        assert delivery["eventId"] == event.id
        assert [a["status"] for a in delivery["attempts"]] == [500, 503, 502, 200]
        assert [a["outcome"] for a in delivery["attempts"]][-1] == "delivered"
        # the list never shows a secret, and another key sees none of these endpoints
        listed = await gql(served, "{ webhookEndpoints { id url enabled } }")
        assert listed["data"]["webhookEndpoints"] == [
            {"id": endpoint, "url": receiver.url, "enabled": True}
        ]
        assert secret not in json.dumps(listed)
        other = await gql(served, "{ webhookEndpoints { id } }", BETA_KEY)
        assert other["data"]["webhookEndpoints"] == []
        stolen = await gql(
            served, "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }", BETA_KEY, id=endpoint
        )
        assert stolen["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
async def test_a_restart_between_a_failure_and_its_retry_still_delivers(
    settings: Settings, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    durable = replace(settings, state_dir=str(tmp_path / "state"), webhook_retry=(0.5,) * 20)
    if backend == "redis":  # a server of its own: the default key prefix is the server's
        redis: RedisServer = request.getfixturevalue("private_redis")
        durable = replace(durable, redis_url=redis.url)
    async with receiving(*[500] * 100) as receiver:
        async with serving(durable) as served:
            endpoint, secret = await create(served, receiver.url)
            alpha = served.tenant()
            (event,) = await served.append(alpha, status_change(alpha, 4, "open", "complete"))
            failed = await receiver.next()
            assert failed.answered == 500 and failed.webhook_id == event.id
            await deliveries_when(served, endpoint, lambda d: d and d[0]["attempts"])
        receiver.script.clear()  # from now on the receiver takes it
        async with serving(durable):
            while (got := await receiver.next()).answered != 200:
                pass
        assert got.webhook_id == event.id
        got.verified(secret)


async def test_redelivery_sends_the_same_webhook_again(settings: Settings) -> None:
    async with receiving() as receiver, serving(settings) as served:
        endpoint, secret = await create(served, receiver.url)
        alpha = served.tenant()
        (event,) = await served.append(alpha, status_change(alpha, 5, "open", "complete"))
        first = await receiver.next()
        (delivery,) = await deliveries_when(
            served, endpoint, lambda d: d and d[0]["state"] == "DELIVERED"
        )
        again = await gql(
            served,
            "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id redeliveryOf state } }",
            id=delivery["id"],
        )
        redelivery = again["data"]["redeliverWebhook"]
        assert redelivery["redeliveryOf"] == delivery["id"] and redelivery["id"] != delivery["id"]
        second = await receiver.next()
        assert first.webhook_id == second.webhook_id == event.id
        second.verified(secret)


async def test_after_a_rotation_both_secrets_verify_during_the_grace(settings: Settings) -> None:
    async with receiving() as receiver, serving(settings) as served:
        endpoint, old = await create(served, receiver.url)
        rotated = await gql(
            served,
            "mutation($id: ID!) { rotateWebhookSecret(id: $id) "
            "{ secret endpoint { previousSecretValidUntil } } }",
            id=endpoint,
        )
        new = rotated["data"]["rotateWebhookSecret"]["secret"]
        assert new != old and new.startswith("whsec_")
        assert rotated["data"]["rotateWebhookSecret"]["endpoint"]["previousSecretValidUntil"]
        alpha = served.tenant()
        await served.append(alpha, status_change(alpha, 6, "open", "complete"))
        got = await receiver.next()
        assert len(got.headers["webhook-signature"].split(" ")) == 2
        got.verified(old)
        got.verified(new)


async def test_410_disables_the_endpoint(settings: Settings) -> None:
    async with receiving(410) as receiver, serving(settings) as served:
        endpoint, _ = await create(served, receiver.url)
        alpha = served.tenant()
        await served.append(alpha, status_change(alpha, 7, "open", "complete"))
        assert (await receiver.next()).answered == 410
        (delivery,) = await deliveries_when(
            served, endpoint, lambda d: d and d[0]["state"] == "FAILED"
        )
        assert delivery["attempts"][0]["outcome"] == "gone"
        listed = await gql(served, "{ webhookEndpoints { enabled disabledReason } }")
        (state,) = listed["data"]["webhookEndpoints"]
        assert state["enabled"] is False and "410" in state["disabledReason"]


async def test_private_addresses_and_other_schemes_are_refused(
    settings: Settings, tmp_path: Path
) -> None:
    strict = replace(settings, webhook_allow_private=False, state_dir=str(tmp_path / "state"))
    async with serving(strict) as served:
        for url in (
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://224.0.0.1/hook",
            "ftp://example.com/hook",
            "file:///etc/passwd",
        ):
            answer = await gql(served, CREATE, url=url)
            assert answer["data"] is None, url
            assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (url, answer)
    # registered while allowed, then delivered by a server that does not allow it: refused at
    # delivery time too (nothing reaches the receiver)
    async with receiving() as receiver:
        async with serving(replace(strict, webhook_allow_private=True)) as served:
            endpoint, _ = await create(served, receiver.url)
        async with serving(replace(strict, webhooks_enabled=True)) as served:
            alpha = served.tenant()
            await served.append(alpha, status_change(alpha, 8, "open", "complete"))
            (delivery,) = await deliveries_when(served, endpoint, lambda d: d and d[0]["attempts"])
            assert "private" in delivery["attempts"][0]["error"]
        assert receiver.received == []


async def test_metrics_count_deliveries_by_outcome_and_open_subscriptions(
    settings: Settings,
) -> None:
    async with (
        receiving(500) as receiver,
        serving(replace(settings, metrics_enabled=True)) as served,
        ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws,
    ):
        endpoint, _ = await create(served, receiver.url)
        await ws.subscribe("all", query='subscription { changes(after: "0") { id } }')
        alpha = served.tenant()
        await served.append(alpha, status_change(alpha, 3, "open", "complete"))
        await ws.next_of("all")
        await deliveries_when(served, endpoint, lambda d: d and d[0]["state"] == "DELIVERED")
        async with httpx.AsyncClient(base_url=served.url) as http:
            text = (await http.get("/metrics")).text
        assert 'kickserv_graph_webhook_deliveries_total{outcome="failed"} 1.0' in text
        assert 'kickserv_graph_webhook_deliveries_total{outcome="delivered"} 1.0' in text
        assert "kickserv_graph_subscriptions 1.0" in text


async def test_a_receiver_that_does_not_answer_in_time_is_tried_again(settings: Settings) -> None:
    async with (
        receiving(HANG) as receiver,
        serving(replace(settings, webhook_timeout=0.5)) as served,
    ):
        endpoint, _ = await create(served, receiver.url)
        alpha = served.tenant()
        (event,) = await served.append(alpha, status_change(alpha, 2, "open", "complete"))
        first, second = await receiver.next(), await receiver.next()
        assert first.webhook_id == second.webhook_id == event.id
        (delivery,) = await deliveries_when(
            served, endpoint, lambda d: d and d[0]["state"] == "DELIVERED"
        )
        assert [a["outcome"] for a in delivery["attempts"]] == ["timeout", "delivered"]
        assert delivery["attempts"][0]["status"] is None


async def test_a_delivery_in_flight_when_its_server_stops_is_let_go_for_the_next(
    settings: Settings, tmp_path: Path
) -> None:
    # the receiver hangs on the first attempt; the server stops meanwhile: its claim (held for
    # the timeout and more) is released, so the next server sends at once, not a minute later
    durable = replace(settings, state_dir=str(tmp_path / "state"), webhook_timeout=20.0)
    async with receiving(HANG) as receiver:
        async with serving(durable) as served:
            await create(served, receiver.url)
            alpha = served.tenant()
            (event,) = await served.append(alpha, status_change(alpha, 5, "open", "complete"))
            first = await receiver.arrival()
        async with serving(durable):
            second = await receiver.arrival()
        assert json.loads(first)["data"]["id"] == json.loads(second)["data"]["id"] == event.id
