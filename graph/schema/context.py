"""The per-request context every resolver sees as ``info.context``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from resolvers.data import RequestData
from resolvers.stats import UpstreamStats

if TYPE_CHECKING:
    from strawberry.types import Info as StrawberryInfo


@dataclass
class GraphContext:
    data: RequestData
    stats: UpstreamStats = field(default_factory=UpstreamStats)
    request: Any = None
    caller: Any = None  # the authenticated API key's policy, when keys are configured
    # graph.schema.selection's memo: field nodes -> names selected under them, for this request only
    selections: dict[tuple[int, ...], frozenset[str]] = field(default_factory=dict)


def data_of(info: StrawberryInfo[GraphContext, Any]) -> RequestData:
    return info.context.data
