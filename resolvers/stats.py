"""What one GraphQL request cost upstream: calls, pages, cache hits, time spent waiting on Kickserv.

The numbers belong to the request whose code made the call. The kickserv client reports every HTTP
attempt through its ``on_response`` hook; that hook reads the current request's ``UpstreamStats`` from a
context variable, which asyncio copies into the tasks a request starts (single-flight fetches included).

``fresh_until`` is the earliest moment (the shared cache's monotonic clock) at which something the
request read stops being fresh: a response built from those reads is valid until then, no longer.
"""

from __future__ import annotations

import contextvars
import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol


class PlannedLevel(Protocol):
    """A level's access path as ``resolvers.plan`` chose it."""

    def as_extension(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class UpstreamStats:
    calls: int = 0
    pages: int = 0
    cache_hits: int = 0
    shared: int = 0
    ms: float = 0.0
    replays: int = 0  # mutations answered from their idempotency key's recorded outcome
    fresh_until: float = math.inf
    plan: list[PlannedLevel] = field(default_factory=list)  # levels whose path was chosen
    spans: list[tuple[float, float]] = field(default_factory=list)  # each call's (start, end)
    # Filters the reference does not confirm, as this request verified them (resolvers.verify).
    verified_filters: list[dict[str, Any]] = field(default_factory=list)
    # Values served stale (Kickserv failed, or its breaker was open), and the stalest one's
    # seconds past freshness: ``extensions.stale``.
    stale_values: int = 0
    stale_seconds: float = 0.0
    # Cursor read-ahead (resolvers.read_ahead): pages this request began reading for its client's
    # next cursors (their calls are not among ``calls``: they end after the response, under the
    # read-ahead's own stats), and pages it found read ahead by an earlier request.
    read_ahead_pages: int = 0
    read_ahead_used: int = 0

    def as_extension(self) -> dict[str, Any]:
        extension: dict[str, Any] = {
            "calls": self.calls,
            "pages": self.pages,
            "cacheHits": self.cache_hits,
            "ms": round(self.ms, 1),
        }
        if self.spans:
            extension["rounds"] = rounds_of(self.spans)
        if self.plan:
            extension["plan"] = [level.as_extension() for level in self.plan]
        if self.verified_filters:
            extension["verifiedFilters"] = list(self.verified_filters)
        if self.read_ahead_pages or self.read_ahead_used:
            extension["readAhead"] = {"pages": self.read_ahead_pages, "used": self.read_ahead_used}
        return extension

    def stale_extension(self) -> dict[str, int | float] | None:
        if not self.stale_values:
            return None
        return {"values": self.stale_values, "secondsPastFresh": round(self.stale_seconds, 1)}


TOLERANCE = 0.001  # seconds: a call that started within this of another's end did not wait for it


def rounds_of(spans: list[tuple[float, float]]) -> int:
    """Dependent rounds of calls: the longest chain of calls each of which started after the
    previous one ended (calls of one round overlap). The bench's measure, from the request's own
    side (a call ends when its answer was read)."""
    chains: list[tuple[float, int]] = []  # (end, longest chain ending with that call)
    longest = 0
    for start, end in sorted(spans):
        mine = 1 + max((n for done, n in chains if done - TOLERANCE <= start), default=0)
        chains.append((end, mine))
        longest = max(longest, mine)
    return longest


current_stats: contextvars.ContextVar[UpstreamStats | None] = contextvars.ContextVar(
    "kickserv_graph_upstream_stats", default=None
)


def record_call(elapsed_seconds: float) -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.calls += 1
        stats.ms += elapsed_seconds * 1000.0
        end = time.monotonic()
        stats.spans.append((end - elapsed_seconds, end))


def record_page() -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.pages += 1


def record_cache_hit(shared: bool = False) -> None:
    stats = current_stats.get()
    if stats is not None:
        stats.cache_hits += 1
        if shared:
            stats.shared += 1


def record_plan(level: PlannedLevel) -> None:
    """The planner chose a level's access path (``extensions.upstream.plan``, development only)."""
    stats = current_stats.get()
    if stats is not None:
        stats.plan.append(level)


def record_read_ahead(*, pages: int = 0, used: int = 0) -> None:
    """The request began reading ``pages`` ahead, or found ``used`` pages read ahead."""
    stats = current_stats.get()
    if stats is not None:
        stats.read_ahead_pages += pages
        stats.read_ahead_used += used


def record_verified_filter(name: str, verdict: str, *, locally: bool) -> None:
    """An unconfirmed filter was verified (``verdict``: what Kickserv is known to do with it) and
    answered by Kickserv's filtering or, ``locally``, by ours over the unfiltered listing."""
    stats = current_stats.get()
    if stats is not None:
        note = {"filter": name, "verdict": verdict, "filteredLocally": locally}
        if note not in stats.verified_filters:
            stats.verified_filters.append(note)


def record_stale(seconds_past_fresh: float) -> None:
    """A value was served stale (``SharedCache.on_stale``)."""
    stats = current_stats.get()
    if stats is not None:
        stats.stale_values += 1
        stats.stale_seconds = max(stats.stale_seconds, seconds_past_fresh)


def record_replay() -> None:
    """A mutation was answered from its idempotency key's recorded outcome (for metrics)."""
    stats = current_stats.get()
    if stats is not None:
        stats.replays += 1


def record_fresh_until(until: float) -> None:
    """Something the request read (a cache entry, an index) is fresh only until ``until``."""
    stats = current_stats.get()
    if stats is not None and until < stats.fresh_until:
        stats.fresh_until = until
