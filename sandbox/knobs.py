"""Run-time knobs for tests and benchmarks: latency, injected faults, rate limit, page-size maximum.

Faults are a rule list matched by method and path, each firing `before` the handler (nothing is
written) or `after` it (the write is committed, then the client gets the failure). A rule's `action`:

- "error": answer `status` with Kickserv's error body;
- "drop": start the answer, then close the connection without its body (uvicorn logs "returned
  without completing response"; over `httpx.ASGITransport` the client sees an empty body instead);
- "timeout": hang until the client gives up (disconnects) or `hang_s` passes. Before the handler,
  a client that gave up leaves nothing written; one that waited gets a slow but normal answer.
  After it, the write is committed either way and a client that waited gets the answer late.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from fnmatch import fnmatchcase
from typing import Any

from sandbox import choices

FAULT_WHEN = ("before", "after")
FAULT_ACTIONS = ("error", "drop", "timeout")


@dataclass
class FaultRule:
    """Fail requests whose method and path match (`*` globs; path is the full URL path)."""

    method: str = "*"
    path: str = "*"
    when: str = "before"
    action: str = "error"
    status: int = 500
    probability: float = 1.0
    times: int | None = None  # fire this many times, then retire; None = forever
    hang_s: float = 30.0  # how long "timeout" waits for the client to give up

    def matches(self, method: str, path: str, when: str) -> bool:
        return (
            self.when == when
            and (self.times is None or self.times > 0)
            and fnmatchcase(method.upper(), self.method.upper())
            and fnmatchcase(path, self.path)
        )

    @classmethod
    def parse(cls, raw: Any) -> FaultRule:
        if not isinstance(raw, dict):
            raise ValueError("each fault must be an object")
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        rule = cls(**raw)
        if rule.when not in FAULT_WHEN:
            raise ValueError(f"fault 'when' must be one of {FAULT_WHEN}")
        if rule.action not in FAULT_ACTIONS:
            raise ValueError(f"fault 'action' must be one of {FAULT_ACTIONS}")
        if not isinstance(rule.status, int) or not 400 <= rule.status <= 599:
            raise ValueError("fault 'status' must be an HTTP error status")
        if not 0 <= float(rule.probability) <= 1:
            raise ValueError("fault 'probability' must be within [0, 1]")
        if not isinstance(rule.hang_s, int | float) or not 0 <= rule.hang_s <= 3600:
            raise ValueError("fault 'hang_s' must be seconds within [0, 3600]")
        return rule


@dataclass
class Knobs:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit: int = 0  # requests per window per token; 0 = no limit
    rate_limit_window_s: float = 1.0
    max_per_page: int = choices.DEFAULT_MAX_PER_PAGE
    faults: list[FaultRule] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def update(self, changes: dict[str, Any]) -> dict[str, list[str]]:
        """Apply a partial change; on any invalid value nothing changes and the errors come back."""
        errors: dict[str, list[str]] = {}
        staged: dict[str, Any] = {}
        checks = {
            "latency_ms": (float, 0.0, None),
            "jitter_ms": (float, 0.0, None),
            "error_rate": (float, 0.0, 1.0),
            "rate_limit": (int, 0, None),
            "rate_limit_window_s": (float, 0.001, None),
            "max_per_page": (int, 1, None),
        }
        for key, value in changes.items():
            if key == "faults":
                try:
                    staged[key] = [FaultRule.parse(rule) for rule in value]
                except (TypeError, ValueError) as exc:
                    errors[key] = [str(exc)]
            elif key in checks:
                kind, low, high = checks[key]
                ok = isinstance(value, int | float) and not isinstance(value, bool)
                ok = ok and (kind is float or float(value).is_integer())
                if not ok or value < low or (high is not None and value > high):
                    bound = f"at least {low}" + (f" and at most {high}" if high is not None else "")
                    errors[key] = [f"must be a {kind.__name__} {bound}"]
                else:
                    staged[key] = kind(value)
            else:
                errors[key] = ["is not a knob"]
        if not errors:
            for key, value in staged.items():
                setattr(self, key, value)
        return errors

    def fault_for(self, method: str, path: str, when: str, roll: float) -> FaultRule | None:
        """The first matching rule that fires on this roll (a retiring rule counts down)."""
        for rule in self.faults:
            if rule.matches(method, path, when) and roll < rule.probability:
                if rule.times is not None:
                    rule.times -= 1
                return rule
        return None


class RateLimiter:
    """Fixed windows per token fingerprint: at most `limit` requests per window."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}

    def retry_after(self, key: str, limit: int, window_s: float) -> int | None:
        """Count this request; None if allowed, else whole seconds until the window reopens."""
        now = time.monotonic()
        window = int(now // window_s)
        current, count = self._windows.get(key, (window, 0))
        if current != window:
            count = 0
        if count >= limit:
            self._windows[key] = (window, count)
            return max(1, math.ceil((window + 1) * window_s - now))
        self._windows[key] = (window, count + 1)
        return None
