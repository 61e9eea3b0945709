"""The per-request context every resolver sees as ``info.context``: built by the server for each
request, typed, and the only way the schema learns anything about the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from resolvers.data import RequestData
from resolvers.stats import UpstreamStats
from resolvers.webhooks.push import Push
from resolvers.writes.steps import WritePolicy


@dataclass
class GraphContext:
    data: RequestData
    stats: UpstreamStats = field(default_factory=UpstreamStats)
    # The request's headers (lower-case names); mutations read Idempotency-Key from them.
    headers: Mapping[str, str] = field(default_factory=dict)
    write_policy: WritePolicy = field(default_factory=WritePolicy)
    # graph.schema.selection's memo: a field's place in the query -> names selected under it
    selections: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict)
    # Subscriptions and webhooks (the server sets it): the caller's tenant, key and event log
    push: Push | None = None
