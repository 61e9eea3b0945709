"""Webhook endpoints, their delivery queue and delivery log, kept in the state store.

Built only on the ``CacheStore`` operations every state store has (``get``, ``add``, ``swap``), so
the embedded SQLite store, Redis and the in-process store (``GRAPH_STATE_DIR=memory``) all hold
webhooks the same way, and every change is a compare-and-set: safe across worker processes and
replicas without a lock. What is kept, per tenant (``CacheKey(tenant, resource, key)``):

- ``webhook.endpoints`` / ``all``: ``{endpoint id: endpoint}``, each with its owner (the API key's
  name), URL, event types, secrets (the current one, and rotated-out ones until their grace ends)
  and ``cursor``: the ``seq`` of the tenant's event log up to which deliveries were queued;
- ``webhook.delivery`` / delivery id: one delivery (the event, its attempts, when it is due, who
  holds it now); a delivery of an event to an endpoint has an id derived from both, so queuing it
  twice (two replicas, a restart) is queuing it once;
- ``webhook.queue`` / ``due``: the deliveries not finished yet, each with when it is due;
- ``webhook.log`` / endpoint id: the endpoint's last deliveries, newest last.

And ``CacheKey("webhooks", "tenants", "all")``: the tenants that have endpoints. Endpoints, the
queue and the logs live ``KEEP`` seconds after their last change, a delivery ``DELIVERY_KEEP``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from resolvers.cache import CacheKey, CacheStore

KEEP = 400 * 24 * 3600.0
DELIVERY_KEEP = 30 * 24 * 3600.0  # a delivery (and its body) is kept a month after its last change
LOG_SIZE = 100
MAX_ENDPOINTS_PER_OWNER = 20
_ATTEMPTS = 64

Doc = dict[str, Any]


class StoreContention(RuntimeError):
    """A value kept changing under a compare-and-set; the caller may try again."""


# Every id minted below: a prefix and 24 lowercase hex digits. An id a caller sends is checked
# against these before it names a state-store key or appears in a message.
ENDPOINT_ID = re.compile(r"ep_[0-9a-f]{24}")
DELIVERY_ID = re.compile(r"dlv_[0-9a-f]{24}")


def delivery_id(endpoint_id: str, event_id: str) -> str:
    return "dlv_" + hashlib.sha256(f"{endpoint_id}\x1f{event_id}".encode()).hexdigest()[:24]


def new_endpoint_id() -> str:
    return "ep_" + secrets.token_hex(12)


def new_redelivery_id() -> str:
    return "dlv_" + secrets.token_hex(12)


_TENANTS = CacheKey("webhooks", "tenants", "all")


def _endpoints_key(tenant: str) -> CacheKey:
    return CacheKey(tenant, "webhook.endpoints", "all")


def _delivery_key(tenant: str, delivery: str) -> CacheKey:
    return CacheKey(tenant, "webhook.delivery", delivery)


def _queue_key(tenant: str) -> CacheKey:
    return CacheKey(tenant, "webhook.queue", "due")


def _log_key(tenant: str, endpoint: str) -> CacheKey:
    return CacheKey(tenant, "webhook.log", endpoint)


class WebhookStore:
    """Endpoints, deliveries and the queue over one ``CacheStore`` (a state store)."""

    def __init__(self, store: CacheStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    async def _get(self, key: CacheKey) -> Any | None:
        entry = await self.store.get(key)
        return None if entry is None else entry.value

    async def _update(self, key: CacheKey, change: Callable[[Any | None], Any]) -> Any:
        """``change(current or None)`` stored by compare-and-set; the stored value. ``change`` may
        run more than once, so it must not have side effects."""
        for _ in range(_ATTEMPTS):
            current = await self._get(key)
            updated = change(current)
            if updated == current:
                return updated
            if current is None:
                stored = await self.store.add(key, updated, KEEP)
            else:
                stored = await self.store.swap(key, current, updated, KEEP)
            if stored:
                return updated
        raise StoreContention(f"{key.resource} changed {_ATTEMPTS} times while being updated.")

    # Endpoints

    async def tenants(self) -> list[str]:
        return list(await self._get(_TENANTS) or [])

    async def endpoints(self, tenant: str) -> dict[str, Doc]:
        return dict(await self._get(_endpoints_key(tenant)) or {})

    async def endpoint(self, tenant: str, endpoint_id: str) -> Doc | None:
        found = (await self.endpoints(tenant)).get(endpoint_id)
        return None if found is None else dict(found)

    async def add_endpoint(self, tenant: str, endpoint: Doc) -> Doc:
        owner = endpoint["owner"]

        def change(current: Mapping[str, Doc] | None) -> dict[str, Doc]:
            endpoints = dict(current or {})
            mine = [e for e in endpoints.values() if e["owner"] == owner]
            if len(mine) >= MAX_ENDPOINTS_PER_OWNER:
                raise TooManyEndpoints(
                    f"An API key may register at most {MAX_ENDPOINTS_PER_OWNER} webhook endpoints."
                )
            endpoints[endpoint["id"]] = endpoint
            return endpoints

        await self._update(_endpoints_key(tenant), change)
        await self._update(_TENANTS, lambda t: sorted({*(t or []), tenant}))
        return endpoint

    async def change_endpoint(
        self, tenant: str, endpoint_id: str, change: Callable[[Doc], Doc | None]
    ) -> Doc | None:
        """Apply ``change`` to one endpoint (None from it deletes it); the endpoint as stored (None
        if deleted or absent)."""

        def apply(current: Mapping[str, Doc] | None) -> dict[str, Doc]:
            endpoints = dict(current or {})
            if endpoint_id in endpoints:
                changed = change(dict(endpoints[endpoint_id]))
                if changed is None:
                    del endpoints[endpoint_id]
                else:
                    endpoints[endpoint_id] = changed
            return endpoints

        stored = await self._update(_endpoints_key(tenant), apply)
        result = stored.get(endpoint_id)
        return None if result is None else dict(result)

    # Deliveries

    async def delivery(self, tenant: str, delivery: str) -> Doc | None:
        found = await self._get(_delivery_key(tenant, delivery))
        return None if found is None else dict(found)

    async def enqueue(self, tenant: str, delivery: Doc) -> bool:
        """Queue a new delivery; False if one with its id exists already (queued once). A pending
        one that exists is put back in the queue and the log if a crash kept it out of them (the
        cursor moves only after this, so the event is queued again after a restart)."""
        key = _delivery_key(tenant, delivery["id"])
        created = await self.store.add(key, delivery, DELIVERY_KEEP)
        current = delivery if created else await self._get(key)
        if current is None or current["state"] != "pending":
            return created
        due = current["next_at"]
        await self._update(_queue_key(tenant), lambda q: {delivery["id"]: due, **_queue(q)})
        await self._update(
            _log_key(tenant, delivery["endpoint_id"]),
            lambda log: _with(log, delivery["id"])[-LOG_SIZE:],
        )
        return created

    async def queued(self, tenant: str) -> dict[str, float]:
        """The tenant's unfinished deliveries: id -> when each is due."""
        return _queue(await self._get(_queue_key(tenant)))

    async def log(self, tenant: str, endpoint_id: str) -> list[Doc]:
        """The endpoint's last deliveries, newest first."""
        ids = list(await self._get(_log_key(tenant, endpoint_id)) or [])
        found = [await self.delivery(tenant, d) for d in reversed(ids)]
        return [d for d in found if d is not None]

    async def claim(self, tenant: str, delivery: str, hold: float) -> Doc | None:
        """Take a due delivery for ``hold`` seconds (no other process sends it meanwhile); the
        delivery, or None if it is not due, finished or held by someone else."""
        key = _delivery_key(tenant, delivery)
        current = await self._get(key)
        now = self.clock()
        if current is None or current["state"] != "pending":  # expired or finished elsewhere
            await self._dequeue(tenant, delivery)
            return None
        if current["next_at"] > now or current.get("held_until", 0) > now:
            return None
        claimed = {**current, "held_until": now + hold}
        if not await self.store.swap(key, current, claimed, DELIVERY_KEEP):
            return None
        return dict(claimed)

    async def release(self, tenant: str, held: Doc) -> None:
        """Let a claimed delivery go untried (if it is still as claimed)."""
        key = _delivery_key(tenant, held["id"])
        await self.store.swap(key, held, {**held, "held_until": 0}, DELIVERY_KEEP)

    async def settle(self, tenant: str, held: Doc, updated: Doc) -> None:
        """Record what an attempt did (``updated``, from the claimed ``held``); a finished
        delivery leaves the queue."""
        key = _delivery_key(tenant, held["id"])
        if not await self.store.swap(key, held, updated, DELIVERY_KEEP):
            current = await self._get(key)
            if current is not None:  # changed meanwhile (held past its hold): ours is newer
                await self.store.swap(key, current, updated, DELIVERY_KEEP)
        if updated["state"] != "pending":
            await self._dequeue(tenant, held["id"])
        else:
            due = updated["next_at"]
            await self._update(_queue_key(tenant), lambda q: {**_queue(q), held["id"]: due})

    async def _dequeue(self, tenant: str, delivery: str) -> None:
        await self._update(
            _queue_key(tenant), lambda q: {k: v for k, v in _queue(q).items() if k != delivery}
        )


class TooManyEndpoints(ValueError):
    """The API key has as many endpoints as it may."""


def _queue(value: Any) -> dict[str, float]:
    """The queue document: id -> when due."""
    return dict(value) if isinstance(value, dict) else {}


def _with(items: list[str] | None, item: str) -> list[str]:
    items = list(items or [])
    if item not in items:
        items.append(item)
    return items
