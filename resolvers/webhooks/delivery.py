"""Signed webhooks: endpoints managed per API key, and the deliverer that sends the tenant's events.

``Webhooks`` is both. Management (``create``, ``update``, ``rotate``, ``delete``, ``endpoints``,
``deliveries``, ``redeliver``) acts only on the calling key's own endpoints. ``run`` (one task per
process, started by the app's lifespan) does two things in a loop:

- **queue**: for every enabled endpoint, the tenant's events past the endpoint's cursor that it
  subscribed to become deliveries (one per event and endpoint, its id derived from both, so
  replicas queuing the same event queue it once), then the cursor moves past them;
- **send**: every due delivery is claimed (compare-and-set of its ``held_until``, so one process
  sends it) and POSTed, signed (``resolvers.webhooks.signing``), to the address its URL resolved to
  and was checked against (``resolvers.webhooks.addresses``). 2xx: delivered. 410: the endpoint is
  disabled (the receiver said it is gone). Anything else (another status, a timeout, a refused
  address): retried after the next of ``delays`` with +/-20% jitter (5 s, 5 min, 30 min, 2 h, 5 h,
  10 h, 10 h by default: more than 24 hours in all), then given up as failed.

Everything is in the state store, so a restart (or another replica) picks the queue up where it
was: at least once, with the same ``webhook-id`` (the event's id) on every attempt and redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from resolvers.events import ChangeEvent, EventLog, EventType
from resolvers.parsing import quoted
from resolvers.webhooks.addresses import TargetRefused, resolve_target
from resolvers.webhooks.signing import new_secret, signed_headers
from resolvers.webhooks.store import (
    Doc,
    WebhookStore,
    delivery_id,
    new_endpoint_id,
    new_redelivery_id,
)

logger = logging.getLogger("resolvers.webhooks")

DEFAULT_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
USER_AGENT = "kickserv-graph-webhooks/0.1"
MAX_DESCRIPTION = 500
BATCH = 20  # deliveries of one tenant sent at once (the client keeps at most 50 connections)
HOLD_MARGIN = 5.0  # seconds a claim outlives its attempt's timeout


class WebhookNotFound(LookupError):
    """No endpoint or delivery with that id belongs to the calling key."""


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """The operator's choices (graph.server.settings: GRAPH_WEBHOOK_*)."""

    allow_private: bool = False
    timeout: float = 10.0
    delays: tuple[float, ...] = DEFAULT_DELAYS
    grace: float = 24 * 3600.0  # how long a rotated-out secret still signs
    poll: float = 1.0  # the longest the deliverer sleeps without a wake-up


def now_iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def event_body(event: ChangeEvent, queued_at: float) -> str:
    """The JSON a receiver gets: the Standard Webhooks envelope (type, timestamp, data); the
    timestamp is when the change happened, or when it was queued if Kickserv gave no time."""
    data = event.to_json()
    del data["tenant"]  # the receiver's own account: not news, and not to be echoed around
    timestamp = event.occurred_at or now_iso(queued_at)
    return orjson.dumps({"type": event.type.value, "timestamp": timestamp, "data": data}).decode()


class Webhooks:
    """Webhook endpoints of every tenant over one ``WebhookStore`` and the tenants' event log."""

    def __init__(
        self,
        store: WebhookStore,
        events: EventLog,
        policy: WebhookPolicy | None = None,
        on_outcome: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.events = events
        self.policy = policy or WebhookPolicy()
        self.on_outcome = on_outcome
        self._wake = asyncio.Event()

    # Management, always for one key (``owner``) of one tenant

    async def create(
        self,
        tenant: str,
        owner: str,
        url: str,
        event_types: Sequence[EventType],
        description: str | None,
    ) -> tuple[Doc, str]:
        """A new endpoint and its secret (shown this once)."""
        await resolve_target(url, self.policy.allow_private)
        secret = new_secret()
        now = self.store.clock()
        endpoint: Doc = {
            "id": new_endpoint_id(),
            "owner": owner,
            "url": url,
            "event_types": sorted({t.value for t in event_types}),
            "description": _description(description),
            "enabled": True,
            "disabled_reason": None,
            "secrets": [{"secret": secret, "until": None}],
            "created_at": now_iso(now),
            "cursor": await self.events.last_seq(tenant),
        }
        await self.store.add_endpoint(tenant, endpoint)
        self._wake.set()
        return endpoint, secret

    async def endpoints(self, tenant: str, owner: str) -> list[Doc]:
        endpoints = (await self.store.endpoints(tenant)).values()
        return sorted((e for e in endpoints if e["owner"] == owner), key=lambda e: e["created_at"])

    async def _own(self, tenant: str, owner: str, endpoint_id: str) -> Doc:
        endpoint = await self.store.endpoint(tenant, endpoint_id)
        if endpoint is None or endpoint["owner"] != owner:
            raise WebhookNotFound(f"No webhook endpoint {quoted(endpoint_id)} of this API key.")
        return endpoint

    async def update(
        self,
        tenant: str,
        owner: str,
        endpoint_id: str,
        *,
        url: str | None = None,
        event_types: Sequence[EventType] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> Doc:
        endpoint = await self._own(tenant, owner, endpoint_id)
        if url is not None:
            await resolve_target(url, self.policy.allow_private)
        resume = await self.events.last_seq(tenant)

        def change(current: Doc) -> Doc:
            updated = dict(current)
            if url is not None:
                updated["url"] = url
            if event_types is not None:
                updated["event_types"] = sorted({t.value for t in event_types})
            if description is not None:
                updated["description"] = _description(description)
            if enabled is not None:
                if enabled and not current["enabled"]:  # from now on, not what it missed
                    updated["cursor"] = max(current["cursor"], resume)
                    updated["disabled_reason"] = None
                elif not enabled:
                    updated["disabled_reason"] = "Disabled through updateWebhookEndpoint."
                updated["enabled"] = enabled
            return updated

        stored = await self.store.change_endpoint(tenant, endpoint["id"], change)
        if stored is None:
            raise WebhookNotFound(f"No webhook endpoint {quoted(endpoint_id)} of this API key.")
        return stored

    async def rotate(self, tenant: str, owner: str, endpoint_id: str) -> tuple[Doc, str]:
        """A new secret (shown this once); the older ones sign along for ``policy.grace``."""
        await self._own(tenant, owner, endpoint_id)
        secret = new_secret()
        until = self.store.clock() + self.policy.grace

        def change(current: Doc) -> Doc:
            kept = [
                {"secret": s["secret"], "until": until if s["until"] is None else s["until"]}
                for s in _live_secrets(current, self.store.clock())
            ]
            return {**current, "secrets": [{"secret": secret, "until": None}, *kept]}

        stored = await self.store.change_endpoint(tenant, endpoint_id, change)
        if stored is None:
            raise WebhookNotFound(f"No webhook endpoint {quoted(endpoint_id)} of this API key.")
        return stored, secret

    async def delete(self, tenant: str, owner: str, endpoint_id: str) -> bool:
        await self._own(tenant, owner, endpoint_id)
        await self.store.change_endpoint(tenant, endpoint_id, lambda _: None)
        return True

    async def deliveries(
        self, tenant: str, owner: str, endpoint_id: str, limit: int = 50
    ) -> list[Doc]:
        await self._own(tenant, owner, endpoint_id)
        return (await self.store.log(tenant, endpoint_id))[:limit]

    async def redeliver(self, tenant: str, owner: str, delivery: str) -> Doc:
        """Send a delivery's event again, now, as a new delivery with the same ``webhook-id``."""
        original = await self.store.delivery(tenant, delivery)
        if original is None:
            raise WebhookNotFound(f"No webhook delivery {quoted(delivery)} of this API key.")
        await self._own(tenant, owner, original["endpoint_id"])
        again = _new_delivery(
            new_redelivery_id(),
            original["endpoint_id"],
            original["event_id"],
            original["event_type"],
            original["body"],
            self.store.clock(),
        )
        again["redelivery_of"] = original["id"]
        await self.store.enqueue(tenant, again)
        self._wake.set()
        return again

    # The deliverer

    async def run(self) -> None:
        """Queue and send, until cancelled (the app's lifespan runs it as a task)."""
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=10)
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=self.policy.timeout, limits=limits
        ) as http:
            while True:
                due = self.policy.poll
                cursors: dict[str, int] = {}
                try:
                    for tenant in await self.store.tenants():
                        cursors[tenant] = await self.queue(tenant)
                        due = min(due, await self.send_due(tenant, http))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("The webhook deliverer failed a round; it goes on")
                await self._sleep(cursors, max(due, 0.01))

    async def _sleep(self, cursors: dict[str, int], within: float) -> None:
        """Until an event past a cursor, a wake-up (a new endpoint, a redelivery), or ``within``."""
        self._wake.clear()
        waits = [
            asyncio.ensure_future(self.events.wait(tenant, seq, within))
            for tenant, seq in cursors.items()
        ]
        waits.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def queue(self, tenant: str) -> int:
        """Queue the tenant's new events for its endpoints; the lowest cursor of an enabled
        endpoint after that (what the deliverer waits past)."""
        lowest: int | None = None
        for endpoint in (await self.store.endpoints(tenant)).values():
            if not endpoint["enabled"]:
                continue
            cursor = endpoint["cursor"]
            wanted = set(endpoint["event_types"])
            while events := await self.events.after(tenant, cursor, 100):
                for event in events:
                    if wanted and event.type.value not in wanted:
                        continue
                    now = self.store.clock()
                    delivery = _new_delivery(
                        delivery_id(endpoint["id"], event.id),
                        endpoint["id"],
                        event.id,
                        event.type.value,
                        event_body(event, now),
                        now,
                    )
                    await self.store.enqueue(tenant, delivery)
                cursor = events[-1].seq
                await self.store.change_endpoint(tenant, endpoint["id"], _cursor_at_least(cursor))
            lowest = cursor if lowest is None else min(lowest, cursor)
        return await self.events.last_seq(tenant) if lowest is None else lowest

    async def send_due(self, tenant: str, http: httpx.AsyncClient) -> float:
        """Send the tenant's due deliveries; seconds until the next one is due."""
        # Long enough for one attempt (bounded by the timeout) and recording it; a process killed
        # while holding a claim delays that delivery by this much, no more (it was 30 s more).
        hold = self.policy.timeout + HOLD_MARGIN
        claimed: list[Doc] = []
        now = self.store.clock()
        next_due = float("inf")
        for queued, due in (await self.store.queued(tenant)).items():
            if due > now:
                next_due = min(next_due, due)
                continue
            if len(claimed) >= BATCH:  # the rest next round (the pool's connections are bounded)
                break
            held = await self.store.claim(tenant, queued, hold)
            if held is not None:  # else another process holds it, or it is done
                claimed.append(held)
        if claimed:
            await asyncio.gather(*(self._released(tenant, held, http) for held in claimed))
            next_due = 0.0  # what they scheduled is looked at next round
        return next_due - self.store.clock()

    async def _released(self, tenant: str, held: Doc, http: httpx.AsyncClient) -> None:
        """One attempt; if the process stops in the middle (the lifespan cancels the deliverer),
        the delivery is let go at once, for the next process to try without waiting the hold out."""
        try:
            await self._attempt(tenant, held, http)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.release(tenant, held))
            raise

    async def _attempt(self, tenant: str, held: Doc, http: httpx.AsyncClient) -> None:
        endpoint = await self.store.endpoint(tenant, held["endpoint_id"])
        started = self.store.clock()
        attempt: Doc = {"at": now_iso(started), "status": None, "error": None}
        if endpoint is None or not endpoint["enabled"]:
            attempt["outcome"] = "canceled"
            attempt["error"] = "The endpoint was deleted or disabled."
            await self._settle(tenant, held, attempt, "canceled")
            return
        body = held["body"].encode()
        headers = signed_headers(
            [s["secret"] for s in _live_secrets(endpoint, started)],
            held["event_id"],
            int(started),
            body,
        )
        try:
            target = await resolve_target(endpoint["url"], self.policy.allow_private)
            default_port = 443 if target.scheme == "https" else 80
            host = target.host if target.port == default_port else f"{target.host}:{target.port}"
            async with http.stream(
                "POST",
                target.pinned_url,
                content=body,
                headers={
                    **headers,
                    "host": host,
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                },
                extensions={"sni_hostname": target.host} if target.scheme == "https" else {},
            ) as response:
                attempt["status"] = response.status_code
        except TargetRefused as exc:
            attempt["error"] = str(exc)
        except httpx.TimeoutException:
            attempt["error"] = f"No answer within {self.policy.timeout:g} s."
            attempt["outcome"] = "timeout"
        except httpx.HTTPError as exc:
            attempt["error"] = f"{type(exc).__name__}: could not deliver."
        attempt["duration_ms"] = round((self.store.clock() - started) * 1000, 1)
        status = attempt["status"]
        if status is not None and 200 <= status < 300:
            attempt["outcome"] = "delivered"
            await self._settle(tenant, held, attempt, "delivered")
        elif status == 410:
            attempt["outcome"] = "gone"
            await self._settle(tenant, held, attempt, "failed")
            await self.store.change_endpoint(
                tenant,
                endpoint["id"],
                lambda e: {
                    **e,
                    "enabled": False,
                    "disabled_reason": "The receiver answered 410 Gone.",
                },
            )
        else:
            attempt.setdefault("outcome", "failed")
            await self._settle(tenant, held, attempt, "pending")

    async def _settle(self, tenant: str, held: Doc, attempt: Doc, state: str) -> None:
        attempts = [*held["attempts"], attempt]
        updated = {**held, "attempts": attempts, "held_until": 0, "state": state}
        if state == "pending":
            retry = len(attempts) - 1
            if retry < len(self.policy.delays):
                delay = self.policy.delays[retry] * random.uniform(0.8, 1.2)
                updated["next_at"] = self.store.clock() + delay
            else:
                updated["state"] = "failed"
        await self.store.settle(tenant, held, updated)
        if self.on_outcome is not None:
            self.on_outcome(attempt["outcome"])


def _new_delivery(
    id_: str, endpoint_id: str, event_id: str, event_type: str, body: str, now: float
) -> Doc:
    return {
        "id": id_,
        "endpoint_id": endpoint_id,
        "event_id": event_id,
        "event_type": event_type,
        "body": body,
        "created_at": now_iso(now),
        "state": "pending",
        "next_at": now,
        "held_until": 0,
        "attempts": [],
    }


def _cursor_at_least(seq: int) -> Callable[[Doc], Doc]:
    return lambda endpoint: {**endpoint, "cursor": max(endpoint["cursor"], seq)}


def _live_secrets(endpoint: Doc, now: float) -> list[dict[str, Any]]:
    return [s for s in endpoint["secrets"] if s["until"] is None or s["until"] > now]


def _description(text: str | None) -> str | None:
    if text is not None and len(text) > MAX_DESCRIPTION:
        raise ValueError(f"A description has at most {MAX_DESCRIPTION} characters.")
    return text
