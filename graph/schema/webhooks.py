"""Webhook endpoints of the calling API key: queries and mutations over ``resolvers.webhooks``.

A key sees and changes only its own endpoints. A secret is shown once, in the answer of
``createWebhookEndpoint`` or ``rotateWebhookSecret``, never again (``webhookEndpoints`` has no
secret field).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import strawberry

from graph.schema.common import GraphInfo
from graph.schema.errors import BadUserInput, GraphError, NotFound
from graph.schema.subscriptions import ChangeType  # noqa: F401  (the enum's GraphQL name)
from resolvers.events import EventType
from resolvers.parsing import quoted
from resolvers.webhooks.addresses import TargetRefused
from resolvers.webhooks.delivery import WebhookNotFound, Webhooks
from resolvers.webhooks.push import Push
from resolvers.webhooks.store import DELIVERY_ID, ENDPOINT_ID, Doc, TooManyEndpoints

MAX_DELIVERIES = 100


@strawberry.enum(description="Where a webhook delivery is.")
class WebhookDeliveryState(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELED = "canceled"


@strawberry.type(description="A URL that receives the tenant's changes, signed.")
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="The endpoint's id.")
    url: str = strawberry.field(description="Where deliveries are POSTed.")
    event_types: list[EventType] | None = strawberry.field(
        description="The changes it receives; null: every type."
    )
    description: str | None = strawberry.field(description="The caller's note.")
    enabled: bool = strawberry.field(description="False: nothing is delivered to it.")
    disabled_reason: str | None = strawberry.field(description="Why it was disabled.")
    created_at: datetime = strawberry.field(description="When it was registered.")
    previous_secret_valid_until: datetime | None = strawberry.field(
        description="After a rotation: until when the previous secret also signs deliveries."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> WebhookEndpoint:
        rotating = [s["until"] for s in doc["secrets"] if s["until"] is not None]
        return cls(
            id=strawberry.ID(doc["id"]),
            url=doc["url"],
            event_types=[EventType(t) for t in doc["event_types"]] or None,
            description=doc["description"],
            enabled=doc["enabled"],
            disabled_reason=doc["disabled_reason"],
            created_at=datetime.fromisoformat(doc["created_at"]),
            previous_secret_valid_until=_moment(max(rotating)) if rotating else None,
        )


@strawberry.type(description="An endpoint and its signing secret, shown this once.")
class WebhookSecret:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(
        description="`whsec_` + base64 key for Standard Webhooks signatures; store it now."
    )


@strawberry.type(description="One try to deliver a webhook.")
class WebhookAttempt:
    at: datetime = strawberry.field(description="When it was sent.")
    status: int | None = strawberry.field(description="The receiver's HTTP status, if it answered.")
    outcome: str = strawberry.field(
        description="delivered, failed, timeout, gone (410: endpoint disabled) or canceled."
    )
    error: str | None = strawberry.field(description="Why it failed, when no status says it.")
    duration_ms: float | None = strawberry.field(description="How long it took.")


@strawberry.type(description="One event sent (or to be sent) to one endpoint.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The delivery's id (for redeliverWebhook).")
    endpoint_id: strawberry.ID = strawberry.field(description="Its endpoint.")
    event_id: strawberry.ID = strawberry.field(
        description="The event's id, sent as `webhook-id`: the same on every attempt."
    )
    event_type: EventType = strawberry.field(description="The event's type.")
    state: WebhookDeliveryState = strawberry.field(description="Where it is.")
    created_at: datetime = strawberry.field(description="When it was queued.")
    next_attempt_at: datetime | None = strawberry.field(description="When it is tried next.")
    attempts: list[WebhookAttempt] = strawberry.field(description="Its tries, oldest first.")
    redelivery_of: strawberry.ID | None = strawberry.field(
        description="The delivery it repeats (redeliverWebhook)."
    )

    @classmethod
    def from_doc(cls, doc: Doc) -> WebhookDelivery:
        pending = doc["state"] == "pending"
        return cls(
            id=strawberry.ID(doc["id"]),
            endpoint_id=strawberry.ID(doc["endpoint_id"]),
            event_id=strawberry.ID(doc["event_id"]),
            event_type=EventType(doc["event_type"]),
            state=WebhookDeliveryState(doc["state"]),
            created_at=datetime.fromisoformat(doc["created_at"]),
            next_attempt_at=_moment(doc["next_at"]) if pending else None,
            attempts=[
                WebhookAttempt(
                    at=datetime.fromisoformat(a["at"]),
                    status=a["status"],
                    outcome=a["outcome"],
                    error=a["error"],
                    duration_ms=a.get("duration_ms"),
                )
                for a in doc["attempts"]
            ],
            redelivery_of=_maybe_id(doc.get("redelivery_of")),
        )


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _maybe_id(value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


def _service(info: GraphInfo) -> tuple[Push, Webhooks]:
    """The caller's push context and webhooks; an answer built from them is never reused (the
    response cache and HTTP caches keep answers by what they read from Kickserv, and this is not
    that)."""
    info.context.stats.fresh_until = -math.inf
    push = info.context.push
    if push is None or push.webhooks is None:
        raise GraphError("Webhooks are not available on this server.")
    return push, push.webhooks


def _endpoint_id(value: strawberry.ID, argument: str = "id") -> str:
    return _checked_id(value, ENDPOINT_ID, argument, "an endpoint id such as ep_5f0c…")


def _delivery_id(value: strawberry.ID) -> str:
    return _checked_id(value, DELIVERY_ID, "deliveryId", "a delivery id such as dlv_9a1e…")


def _checked_id(value: strawberry.ID, shape: re.Pattern[str], argument: str, kind: str) -> str:
    """A webhook id as we mint it (a prefix and 24 hex digits), or BAD_USER_INPUT: anything else
    names no endpoint or delivery, and is refused before it becomes a store key or a message."""
    text = str(value)
    if not shape.fullmatch(text):
        raise BadUserInput(
            f"`{argument}` must be {kind} (as webhookEndpoints or webhookDeliveries answer it), "
            f"got {quoted(text)}.",
            extensions={"argument": argument},
        )
    return text


def _types(types: list[EventType] | None) -> list[EventType]:
    return list(types or ())


class _Refusals:
    """Our refusals as GraphQL errors with their codes."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, WebhookNotFound):
            raise NotFound(str(exc)) from None
        if isinstance(exc, TargetRefused):
            raise BadUserInput(str(exc), extensions={"argument": "url"}) from None
        if isinstance(exc, TooManyEndpoints | ValueError):
            raise BadUserInput(str(exc)) from None


ID = strawberry.ID
EndpointId = Annotated[ID, strawberry.argument(description="The endpoint's id.")]


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="The calling API key's webhook endpoints (never their secrets).")
    async def webhook_endpoints(self, info: GraphInfo) -> list[WebhookEndpoint]:
        push, webhooks = _service(info)
        found = await webhooks.endpoints(push.tenant, push.owner)
        return [WebhookEndpoint.from_doc(doc) for doc in found]

    @strawberry.field(description="An endpoint's last deliveries, newest first.")
    async def webhook_deliveries(
        self, info: GraphInfo, endpoint_id: EndpointId, first: int = 50
    ) -> list[WebhookDelivery]:
        push, webhooks = _service(info)
        if not 1 <= first <= MAX_DELIVERIES:
            raise BadUserInput(
                f"`first` must be between 1 and {MAX_DELIVERIES}.", extensions={"argument": "first"}
            )
        with _Refusals():
            found = await webhooks.deliveries(
                push.tenant, push.owner, _endpoint_id(endpoint_id, "endpointId"), first
            )
        return [WebhookDelivery.from_doc(doc) for doc in found]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a URL for the tenant's changes; its secret is in this answer only."
    )
    async def create_webhook_endpoint(
        self,
        info: GraphInfo,
        url: str,
        event_types: Annotated[
            list[EventType] | None,
            strawberry.argument(description="The changes to receive; omitted or null: all."),
        ] = None,
        description: str | None = None,
    ) -> WebhookSecret:
        push, webhooks = _service(info)
        with _Refusals():
            doc, secret = await webhooks.create(
                push.tenant, push.owner, url, _types(event_types), description
            )
        return WebhookSecret(endpoint=WebhookEndpoint.from_doc(doc), secret=secret)

    @strawberry.mutation(description="Change an endpoint's URL, event types, note, or enable it.")
    async def update_webhook_endpoint(
        self,
        info: GraphInfo,
        id: EndpointId,
        url: str | None = None,
        event_types: list[EventType] | None = None,
        enabled: bool | None = None,
        description: str | None = None,
    ) -> WebhookEndpoint:
        push, webhooks = _service(info)
        with _Refusals():
            doc = await webhooks.update(
                push.tenant,
                push.owner,
                _endpoint_id(id),
                url=url,
                event_types=None if event_types is None else _types(event_types),
                enabled=enabled,
                description=description,
            )
        return WebhookEndpoint.from_doc(doc)

    @strawberry.mutation(
        description="A new secret (in this answer only); the previous one signs along for a while."
    )
    async def rotate_webhook_secret(self, info: GraphInfo, id: EndpointId) -> WebhookSecret:
        push, webhooks = _service(info)
        with _Refusals():
            doc, secret = await webhooks.rotate(push.tenant, push.owner, _endpoint_id(id))
        return WebhookSecret(endpoint=WebhookEndpoint.from_doc(doc), secret=secret)

    @strawberry.mutation(description="Remove an endpoint; its pending deliveries are canceled.")
    async def delete_webhook_endpoint(self, info: GraphInfo, id: EndpointId) -> bool:
        push, webhooks = _service(info)
        with _Refusals():
            return await webhooks.delete(push.tenant, push.owner, _endpoint_id(id))

    @strawberry.mutation(description="Send a delivery's event again now (same `webhook-id`).")
    async def redeliver_webhook(self, info: GraphInfo, delivery_id: ID) -> WebhookDelivery:
        push, webhooks = _service(info)
        with _Refusals():
            doc = await webhooks.redeliver(push.tenant, push.owner, _delivery_id(delivery_id))
        return WebhookDelivery.from_doc(doc)
