"""What one attempt to reach Kickserv is made of, apart from the loop that makes it
(``kickserv.transport``): how hard reads try (``RetryPolicy``), what an attempt reports
(``UpstreamCall``) and to whom, the patience of bulk reads, how a request's values are written, and
how an exchange that got no answer reads as an error.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import httpx

from kickserv.errors import APIError, Timeout, TransportError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard reads try. The total wait counts only sleeping between attempts; `deadline` bounds
    a read from its start to its end, everything included (None: no deadline)."""

    max_attempts: int = 4
    max_total_wait: float = 30.0
    deadline: float | None = 5.0
    base_delay: float = 0.25
    max_delay: float = 8.0
    jitter: float = 0.5  # the fraction of each backoff drawn at random, so clients spread out
    # An attempt the deadline cut short counts as Kickserv failing (for the breaker) only when it
    # was in flight at least this long; None: half the deadline.
    hang_after: float | None = None

    def hung(self, in_flight: float) -> bool:
        """An attempt cut short by the deadline after `in_flight` seconds on the wire: long enough
        to say Kickserv is slow or hanging (and not that our own queue ate the deadline)?"""
        if self.hang_after is not None:
            return in_flight >= self.hang_after
        return self.deadline is None or in_flight >= self.deadline / 2

    def backoff(self, attempt: int, draw: Callable[[], float]) -> float:
        """The wait after failed attempt number `attempt` (1-based) when Kickserv named none."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return delay * (1.0 - self.jitter * draw())


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One HTTP attempt, reported to the `on_response` observer.

    `status` is None when no answer arrived; `retried` is True when the client will try again.
    """

    method: str
    path: str
    status: int | None
    elapsed: float
    attempt: int
    retried: bool


Observer = Callable[[UpstreamCall], None]
AttemptTrace = Callable[
    [str, str, int, dict[str, str]], contextlib.AbstractContextManager[Callable[[int], None]]
]
"""Wraps each HTTP attempt, for tracing (kickserv knows nothing of how): called with the method, the
URL without its query string, the attempt's number (1 first) and its headers, which it may add to
(a W3C `traceparent`); yields a callable told the answer's status. An attempt that gets no answer
leaves the block with its exception (a cancellation when the read's deadline passed)."""
Sleep = Callable[[float], Awaitable[None]]


KickservLike = TransportError | APIError

PATIENT: contextvars.ContextVar[bool] = contextvars.ContextVar("kickserv_patient", default=False)


@contextlib.contextmanager
def patient() -> Iterator[None]:
    """Reads made within (in this task and the tasks it starts) wait for their turn and their
    concurrency slot without a deadline; the read deadline starts when each is sent. For bulk reads
    whose caller paces them and bounds the whole: queued behind each other, they would otherwise
    spend their deadlines in our own queue."""
    token = PATIENT.set(True)
    try:
        yield
    finally:
        PATIENT.reset(token)


def encode(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} to Kickserv as JSON")


def query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def transport_failure(method: str, path: str, exc: httpx.HTTPError) -> tuple[TransportError, bool]:
    """The error for an attempt that got no answer, and whether a read may try again."""
    if isinstance(exc, httpx.TimeoutException):
        message = (
            f"{method} {path} timed out ({type(exc).__name__}). Kickserv may be slow; raise the "
            "client's timeout or try again later."
        )
        failure: TransportError = Timeout(message, method=method, path=path)
        retryable = True
    elif isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        message = (
            f"{method} {path} got no answer ({type(exc).__name__}: {exc}). Check the base URL "
            "and the network."
        )
        failure, retryable = TransportError(message, method=method, path=path), True
    else:
        message = (
            f"{method} {path} could not be sent ({type(exc).__name__}: {exc}). Check the base URL."
        )
        failure, retryable = TransportError(message, method=method, path=path), False
    failure.__cause__ = exc
    return failure, retryable


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500
