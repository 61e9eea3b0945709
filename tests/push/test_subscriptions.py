"""Subscriptions over real WebSockets (graphql-transport-ws) and SSE against the real server:
events appended to the tenant's log reach its subscribers, filtered; another tenant's subscribers
get none of them; keys, persisted-query policy, limits and the per-key cap apply."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import replace

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from graph.server.settings import Settings
from resolvers.events import EventType
from tests.push.clients import sse_session, ws_session
from tests.push.conftest import (
    ALPHA_KEY,
    BETA_KEY,
    BETA_TOKEN,
    JOB_DONE,
    LOCKED_KEY,
    change,
    serving,
    sha256,
    status_change,
)

JOBS = """subscription($after: String) {
  jobChanged(status: COMPLETE, after: $after) {
    id cursor type occurredAt jobNumber customerNumber status previousStatus
    changes { field from to }
  }
}"""
ALL = "subscription($after: String) { changes(after: $after) { id cursor type } }"


async def test_a_websocket_subscriber_gets_its_tenants_events_filtered(settings: Settings) -> None:
    async with serving(settings) as served:
        alpha = served.tenant()
        async with ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws:
            await ws.subscribe("jobs", query=JOBS, variables={"after": "0"})
            await ws.subscribe("all", query=ALL, variables={"after": "0"})
            appended = await served.append(
                alpha,
                status_change(alpha, 7, "in_progress", "on_hold"),
                status_change(alpha, 7, "on_hold", "complete"),
                change(alpha, EventType.CUSTOMER_UPDATED, {"customerNumber": 3}, {"name": "X"}),
            )
            done = await ws.next_of("jobs")
            assert done["type"] == "next", done
            job = done["payload"]["data"]["jobChanged"]
            assert job == {
                "id": appended[1].id,
                "cursor": str(appended[1].seq),
                "type": "JOB_STATUS_CHANGED",
                "occurredAt": "2026-12-03T07:00:00+00:00",
                "jobNumber": 7,
                "customerNumber": 1,
                "status": "complete",
                "previousStatus": "on_hold",
                "changes": [{"field": "status", "from": "on_hold", "to": "complete"}],
            }
            seen = [(await ws.next_of("all"))["payload"]["data"]["changes"] for _ in appended]
            assert [c["id"] for c in seen] == [e.id for e in appended]
            assert [c["type"] for c in seen] == [
                "JOB_STATUS_CHANGED",
                "JOB_STATUS_CHANGED",
                "CUSTOMER_UPDATED",
            ]
            # the filtered subscription skipped the on_hold change and the customer: its next
            # is a later completion, not one of those
            later = await served.append(alpha, status_change(alpha, 8, "open", "complete"))
            assert (await ws.next_of("jobs"))["payload"]["data"]["jobChanged"]["id"] == later[0].id
            await ws.send({"type": "complete", "id": "jobs"})


BY_CUSTOMER = {
    "invoicePaid": EventType.INVOICE_PAID,
    "customerChanged": EventType.CUSTOMER_UPDATED,
    "paymentRecorded": EventType.PAYMENT_RECORDED,
    "opportunityChanged": EventType.OPPORTUNITY_LOST,
}


async def test_the_customer_subscriptions_get_their_types_of_that_customer(
    settings: Settings,
) -> None:
    async with serving(settings) as served:
        alpha = served.tenant()
        async with ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws:
            for field in BY_CUSTOMER:
                query = f'subscription {{ {field}(customerNumber: 3, after: "0") {{ id }} }}'
                await ws.subscribe(field, query=query)
            # Each type of change for customer 4 first, then for customer 3: every subscription
            # has skipped the other customer's changes and the other types of change.
            appended = await served.append(
                alpha,
                *(
                    change(alpha, t, {"customerNumber": number, "jobNumber": 10 * number})
                    for number in (4, 3)
                    for t in BY_CUSTOMER.values()
                ),
            )
            for field, event in zip(BY_CUSTOMER, appended[len(BY_CUSTOMER) :], strict=True):
                message = await ws.next_of(field)
                assert message["payload"]["data"][field]["id"] == event.id, message


async def test_another_tenants_subscriber_gets_none_of_them(settings: Settings) -> None:
    async with serving(settings) as served:
        alpha = served.tenant()
        beta = served.tenant(BETA_TOKEN)
        assert alpha != beta
        async with (
            httpx.AsyncClient(base_url=served.url) as http,
            sse_session(
                http, {"query": ALL, "variables": {"after": "0"}}, {"x-api-key": BETA_KEY}
            ) as beta_stream,
            ws_session(served.ws_url, headers={"authorization": f"Bearer {BETA_KEY}"}) as beta_ws,
        ):
            await beta_ws.subscribe("all", query=ALL, variables={"after": "0"})
            await served.append(alpha, status_change(alpha, 7, "open", "complete"))
            await served.append(alpha, change(alpha, EventType.INVOICE_PAID, {"jobNumber": 9}))
            own = await served.append(beta, status_change(beta, 5, "open", "complete"))
            # each of beta's subscribers gets beta's event first: alpha's never came
            name, data = await beta_stream.event()
            assert name == "next" and data["data"]["changes"]["id"] == own[0].id, data
            message = await beta_ws.next_of("all")
            assert message["payload"]["data"]["changes"]["id"] == own[0].id, message


async def test_sse_streams_the_filtered_events_and_resumes_after_a_cursor(
    settings: Settings,
) -> None:
    async with serving(settings) as served:
        alpha = served.tenant()
        events = await served.append(
            alpha,
            status_change(alpha, 1, "open", "complete"),
            status_change(alpha, 2, "open", "complete"),
            status_change(alpha, 3, "open", "on_hold"),
            status_change(alpha, 4, "open", "complete"),
        )
        async with (
            httpx.AsyncClient(base_url=served.url) as http,
            sse_session(
                http,
                {"query": JOBS, "variables": {"after": str(events[0].seq)}},
                {"x-api-key": ALPHA_KEY},
            ) as stream,
        ):
            assert stream.response.status_code == 200
            assert stream.response.headers["content-type"].startswith("text/event-stream")
            received = [(await stream.event())[1]["data"]["jobChanged"]["jobNumber"] for _ in "ab"]
            assert received == [2, 4]
        # an event id works as a cursor too
        async with ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws:
            await ws.subscribe("j", query=JOBS, variables={"after": events[1].id})
            message = await ws.next_of("j")
            assert message["payload"]["data"]["jobChanged"]["jobNumber"] == 4


async def test_a_persisted_only_key_subscribes_by_id_only(settings: Settings) -> None:
    async with serving(settings) as served:
        alpha = served.tenant()
        async with ws_session(served.ws_url, {"X-API-Key": LOCKED_KEY}) as ws:
            await ws.subscribe("free", query=JOBS)
            refused = await ws.next_of("free")
            assert refused["type"] == "error", refused
            assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
            await ws.subscribe("by-id", documentId=sha256(JOB_DONE), variables={"after": "0"})
            appended = await served.append(alpha, status_change(alpha, 3, "open", "complete"))
            message = await ws.next_of("by-id")
            assert message["payload"]["data"]["jobChanged"]["id"] == appended[0].id
        async with httpx.AsyncClient(base_url=served.url) as http:
            response = await http.post(
                "/graphql",
                json={"query": JOBS},
                headers={"accept": "text/event-stream", "x-api-key": LOCKED_KEY},
            )
            assert response.status_code >= 400
            assert response.json()["errors"][0]["extensions"]["code"] == (
                "PERSISTED_QUERY_NOT_ALLOWED"
            )


async def test_keys_limits_and_the_cap_apply(settings: Settings) -> None:
    settings = replace(settings, max_subscriptions=1, max_depth=3)
    async with serving(settings) as served:
        # no key: the connection is refused (4403)
        async with connect(
            served.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as bare:
            await bare.send('{"type": "connection_init"}')
            try:
                await bare.recv()
                raise AssertionError("a connection without a key was acknowledged")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4403
        async with ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws:
            deep = "subscription { jobChanged { job { customer { jobs { nodes { id } } } } } }"
            await ws.subscribe("deep", query=deep)
            refused = await ws.next_of("deep")
            assert refused["type"] == "error"
            assert refused["payload"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
            await ws.subscribe("one", query=ALL)
            await ws.subscribe("two", query=ALL)
            second = await ws.next_of("two")
            assert second["type"] == "error"
            assert second["payload"][0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
        async with httpx.AsyncClient(base_url=served.url) as http:
            plain = await http.post(
                "/graphql", json={"query": ALL}, headers={"x-api-key": ALPHA_KEY}
            )
            assert plain.status_code == 400  # a subscription needs a streaming transport


async def test_a_payload_links_the_record_as_it_is_now(settings: Settings) -> None:
    async with serving(settings) as served:
        async with httpx.AsyncClient(base_url=served.url) as http:
            listed = await http.post(
                "/graphql",
                json={"query": "{ jobs(first: 1) { nodes { number name } } }"},
                headers={"x-api-key": ALPHA_KEY},
            )
        (job,) = listed.json()["data"]["jobs"]["nodes"]
        alpha = served.tenant()
        async with ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws:
            await ws.subscribe(
                "j",
                query='subscription { jobChanged(after: "0") { jobNumber job { number name } } }',
            )
            await served.append(alpha, status_change(alpha, job["number"], "open", "complete"))
            message = await ws.next_of("j")
            assert message["payload"]["data"]["jobChanged"] == {
                "jobNumber": job["number"],
                "job": job,
            }


async def close_code(ws_url: str, *messages: Mapping[str, object]) -> int | None:
    """Send ``messages`` on a fresh connection; the close code the server answered with."""
    async with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as raw:
        for message in messages:
            await raw.send(json.dumps(message))
        try:
            while True:
                await asyncio.wait_for(raw.recv(), 30)
        except ConnectionClosed as closed:
            return None if closed.rcvd is None else closed.rcvd.code


async def test_the_protocol_rules_of_graphql_transport_ws(settings: Settings) -> None:
    async with serving(settings) as served:
        init = {"type": "connection_init", "payload": {"X-API-Key": ALPHA_KEY}}
        subscribe = {"type": "subscribe", "id": "1", "payload": {"query": ALL}}
        assert await close_code(served.ws_url, subscribe) == 4401  # before the init
        assert await close_code(served.ws_url, init, init) == 4429  # a second init
        assert await close_code(served.ws_url, init, subscribe, subscribe) == 4409  # a reused id
        assert await close_code(served.ws_url, init, {"type": "nonsense"}) == 4400
        with pytest.raises(InvalidStatus) as refused:  # the legacy protocol: not at the handshake
            async with connect(served.ws_url, subprotocols=[Subprotocol("graphql-ws")]):
                pass
        assert refused.value.response.status_code == 403
        async with ws_session(served.ws_url, {"X-API-Key": ALPHA_KEY}) as ws:
            await ws.send({"type": "ping"})
            assert (await ws.connection_message())["type"] == "pong"
            # APQ with no query text: unknown hash first, then registered, then by hash alone
            digest = sha256(ALL)
            apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
            await ws.subscribe("a", extensions=apq, variables={"after": "0"})
            missing = await ws.next_of("a")
            assert missing["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
            await ws.subscribe("b", query=ALL, extensions=apq, variables={"after": "0"})
            await ws.subscribe("c", extensions=apq, variables={"after": "0"})
            alpha = served.tenant()
            (event,) = await served.append(alpha, status_change(alpha, 2, "open", "complete"))
            for id_ in ("b", "c"):
                assert (await ws.next_of(id_))["payload"]["data"]["changes"]["id"] == event.id
            # complete stops one subscription: the other still gets the next event
            await ws.send({"type": "complete", "id": "b"})
            (later,) = await served.append(alpha, status_change(alpha, 2, "complete", "open"))
            assert (await ws.next_of("c"))["payload"]["data"]["changes"]["id"] == later.id
