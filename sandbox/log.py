"""The request log: every API request the sandbox answered, so tests and benchmarks can count
upstream calls exactly. Tokens appear only as a short fingerprint."""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

MAX_KEPT = 100_000  # entries kept for reading; `count` keeps counting past it


@dataclass(frozen=True)
class LoggedRequest:
    seq: int
    request_id: str
    method: str
    path: str
    query: str
    status: int
    account: str
    employee_number: int | None
    token: str | None  # fingerprint, never the token
    time: str  # when the request arrived, ISO-8601 UTC
    duration_ms: float
    concurrent: int  # requests in flight when this one arrived, itself included
    traceparent: str | None = None  # the W3C trace context the caller sent, if any


class RequestLog:
    def __init__(self) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=MAX_KEPT)
        self.count = 0  # answered since the last reset
        self.in_flight = 0
        self._arrivals = 0

    def arrive(self) -> tuple[int, int]:
        """Register an arrival; returns (sequence number, requests in flight now)."""
        self._arrivals += 1
        self.in_flight += 1
        return self._arrivals, self.in_flight

    def finish(self, entry: LoggedRequest) -> None:
        self.in_flight -= 1
        self.count += 1
        self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        return sorted(self._entries, key=lambda e: e.seq)

    def reset(self) -> None:
        self._entries.clear()
        self.count = 0

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "requests": [asdict(e) for e in self.entries()]}
