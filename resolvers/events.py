"""Changes seen in Kickserv, as typed events in one durable log per tenant.

The contract between the part that finds changes (the watcher, which polls Kickserv's listings and
appends what changed) and the parts that push them (GraphQL subscriptions, signed webhooks):

- A ``ChangeEvent`` has a stable ``id`` derived from what changed (tenant, type, subject and the
  record's version, see ``event_id``), so the same change found twice (a watcher restarted before it
  saved its watermark, two replicas racing for the lease) is the same id and is appended once.
- ``EventLog.append`` assigns each new event the next ``seq`` of its tenant (1, 2, ...) and skips ids
  already in the log; ``after`` reads in ``seq`` order from a position a consumer stored, so a
  subscriber or a webhook endpoint resumes where it was, across restarts and replicas.
- Events hold numbers (Kickserv's URL numbers) and the changed values a consumer filters on, never
  a credential, and only the tenant's own data: a log is per tenant, and readers name the tenant.

A log's tenant is ``Tenant.key`` (``resolvers.tenant.tenant_key``: the account and its credential's
fingerprint): the watcher reads Kickserv through one credential and sees what that Kickserv user
sees, so a caller reads the log of the credential it is served with. Both state store backends are
``EventLog``s (``resolvers.state``); without a store, ``resolvers.state.memory_events.MemoryEvents``
(one process). The server's log is ``Server.events`` (``graph.server.assembly``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol


class EventType(StrEnum):
    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    JOB_CREATED = "job.created"
    JOB_STATUS_CHANGED = "job.status_changed"
    JOB_RESCHEDULED = "job.rescheduled"
    TASK_SCHEDULED = "task.scheduled"
    TASK_MOVED = "task.moved"
    TASK_REASSIGNED = "task.reassigned"
    INVOICE_CREATED = "invoice.created"
    INVOICE_PAID = "invoice.paid"
    PAYMENT_RECORDED = "payment.recorded"
    OPPORTUNITY_WON = "opportunity.won"
    OPPORTUNITY_LOST = "opportunity.lost"


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change of one record of one tenant.

    ``subject`` names the record and its parents by number (``{"customerNumber": 12, "jobNumber":
    340}``); ``data`` says what changed (``{"status": {"from": "open", "to": "completed"}}``) and
    carries the values subscribers filter on. ``seq`` is 0 until the log has appended the event.
    """

    id: str
    tenant: str
    type: EventType
    occurred_at: str  # ISO 8601 UTC: Kickserv's updated_at/created_at where it gave one
    subject: Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    seq: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant": self.tenant,
            "type": self.type.value,
            "occurred_at": self.occurred_at,
            "subject": dict(self.subject),
            "data": dict(self.data),
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ChangeEvent:
        return cls(
            id=str(value["id"]),
            tenant=str(value["tenant"]),
            type=EventType(value["type"]),
            occurred_at=str(value["occurred_at"]),
            subject=dict(value["subject"]),
            data=dict(value.get("data") or {}),
            seq=int(value.get("seq") or 0),
        )

    def at(self, seq: int) -> ChangeEvent:
        return replace(self, seq=seq)


def event_id(tenant: str, type_: EventType, subject: Mapping[str, Any], version: str) -> str:
    """The stable id of a change: the same change (same record version) always has the same id.

    ``version`` is what identifies the record's state after the change (its ``updated_at``, and the
    changed value for changes Kickserv does not timestamp)."""
    text = "\x1f".join(
        [tenant, type_.value, *(f"{k}={subject[k]}" for k in sorted(subject)), version]
    )
    return "evt_" + hashlib.sha256(text.encode()).hexdigest()[:32]


class EventLog(Protocol):
    """The per-tenant durable log of change events (both state store backends provide one)."""

    async def append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        """Append the events whose ids are not in the tenant's log yet, in order; returns those
        appended, with their ``seq``. Atomic per call."""
        ...

    async def after(self, tenant: str, seq: int, limit: int = 100) -> list[ChangeEvent]:
        """The tenant's events with ``seq`` greater than ``seq``, oldest first, at most ``limit``."""
        ...

    async def last_seq(self, tenant: str) -> int:
        """The tenant's highest ``seq`` (0 for an empty log)."""
        ...

    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        """Return True as soon as the tenant's log may hold events past ``seq`` (in any process or
        replica), False after ``within`` seconds without."""
        ...
