"""A circuit breaker per Kickserv account: when Kickserv keeps failing, stop calling it for a moment.

- **Closed** (normal): every call goes. `failures` failed attempts in a row (5xx, timeouts, no
  answer) open it. Any other answer (2xx-4xx) resets the count; a 429 is neither (the governor's).
- **Open**: calls are refused at once with `CircuitOpen` (a `TransportError`: nothing was sent, so
  a shared cache serves what it has as stale, and the graph answers `UPSTREAM_UNAVAILABLE` with
  `retryAfter` when it has nothing), for `open_for` seconds.
- **Half-open**: then one read goes as a probe; until it answers, the others are still refused. A
  probe that answers closes the breaker; one that fails opens it again for `open_for`. A probe that
  takes longer than `open_for` (a hanging Kickserv) does not hold the breaker: another probe may go,
  so service returns within about `open_for` of Kickserv's return, whatever the deadline. Writes
  never probe.

`snapshot()` says where it stands (for readiness and metrics).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from kickserv.errors import TransportError

logger = logging.getLogger("kickserv.breaker")

State = Literal["closed", "open", "half-open"]


class CircuitOpen(TransportError):
    """Kickserv kept failing, so this call was not sent; `retry_after`: seconds until the breaker
    lets a probe through."""

    def __init__(self, message: str, *, method: str, path: str, retry_after: float) -> None:
        super().__init__(message, method=method, path=path)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failures: int = 10  # failed attempts in a row that open the breaker
    open_for: float = 1.0  # seconds refused before a probe (and between probes)

    def __post_init__(self) -> None:
        if self.failures < 1 or self.open_for <= 0:
            raise ValueError("failures should be at least 1 and open_for positive")


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    state: State
    retry_in: float  # seconds until a probe may go; 0 when closed
    consecutive_failures: int
    opened: int  # times it opened (counting reopenings after a failed probe)
    refused: int  # calls answered at once, not sent


class Breaker:
    """The circuit breaker of one Kickserv account (see the module docstring)."""

    def __init__(
        self,
        policy: BreakerPolicy | None = None,
        *,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or BreakerPolicy()
        self.name = name
        self._clock = clock
        self._state: State = "closed"
        self._failures = 0
        self._next_probe = -math.inf
        self._opened = 0
        self._refused = 0
        self._era = 0  # moves at every change of state

    def __repr__(self) -> str:
        return f"Breaker({self.name!r}, {self._state})"

    @property
    def state(self) -> State:
        return self._state

    @property
    def era(self) -> int:
        """Moves at every change of state: a call sent in an earlier era (say, hung since before
        Kickserv came back) says nothing of Kickserv now, and its failure does not count."""
        return self._era

    def retry_in(self) -> float | None:
        """Seconds until a call may go, when one would be refused now; None when it may go."""
        if self._state == "closed":
            return None
        wait = self._next_probe - self._clock()
        return wait if wait > 0 else None

    def admit(self, *, probe: bool = True) -> float | None:
        """Let a call go (None), or say how long until one may (it is refused: count it). When the
        breaker is open and a probe is due, a call that may probe (`probe`: a read) goes as one."""
        if self._state == "closed":
            return None
        now = self._clock()
        if probe and now >= self._next_probe:
            self._state = "half-open"
            self._era += 1
            self._next_probe = now + self.policy.open_for
            return None
        return self.refuse()

    def refuse(self) -> float:
        """Count a call refused at once; the seconds until a probe may go."""
        self._refused += 1
        return max(self._next_probe - self._clock(), 0.0)

    def succeeded(self) -> None:
        """An attempt got an answer from Kickserv (any status but 5xx and 429)."""
        self._failures = 0
        if self._state != "closed":
            self._state = "closed"
            self._era += 1
            logger.info("Kickserv answers again: circuit of %r closed", self.name)

    def failed(self, era: int | None = None) -> None:
        """An attempt failed: a 5xx, a timeout, or no answer (`era`: the breaker's when it was
        sent; a failure of an earlier era is ignored)."""
        if era is not None and era != self._era:
            return
        self._failures += 1
        if self._state == "closed" and self._failures >= self.policy.failures:
            logger.warning(
                "Kickserv failed %d times in a row: circuit of %r open, probing every %g s",
                self._failures,
                self.name,
                self.policy.open_for,
            )
        elif self._state != "half-open":
            return
        self._state = "open"
        self._era += 1
        self._opened += 1
        self._next_probe = self._clock() + self.policy.open_for

    def snapshot(self) -> BreakerSnapshot:
        return BreakerSnapshot(
            state=self._state,
            retry_in=round(self.retry_in() or 0.0, 3),
            consecutive_failures=self._failures,
            opened=self._opened,
            refused=self._refused,
        )
