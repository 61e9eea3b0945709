"""What a request needs to subscribe to changes or manage webhooks: the caller's tenant in the event
log, the key that owns its endpoints, and a way to read records afresh for each event."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from resolvers.data import RequestData
from resolvers.events import EventLog
from resolvers.webhooks.delivery import Webhooks


@dataclass(frozen=True, slots=True)
class Push:
    tenant: str  # the caller's tenant in the event log
    owner: str  # the API key's name: webhook endpoints belong to it
    events: EventLog
    webhooks: Webhooks | None
    # A new RequestData caught up with every process's writes: one per event a subscription
    # delivers, so its links (``job``, ``customer``) read the record as it is now.
    renew: Callable[[], Awaitable[RequestData]]
