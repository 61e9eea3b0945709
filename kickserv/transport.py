"""One HTTP exchange with Kickserv: URL, auth, the concurrency limit and retries. Error statuses
become exceptions in `kickserv.errors.error_for_status`.

Reads (GET) retry on 429, 5xx, timeouts and connection failures with jittered exponential backoff
that honours `Retry-After`, within `RetryPolicy`'s attempt and wait budget. Writes are never retried:
Kickserv has no idempotency keys, so a retried POST could create a second job.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypedDict

import httpx
import orjson

from kickserv.errors import (
    APIError,
    RateLimited,
    ResponseShape,
    Timeout,
    TransportError,
    error_for_status,
)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard reads try. The total wait counts only sleeping between attempts."""

    max_attempts: int = 4
    max_total_wait: float = 30.0
    base_delay: float = 0.25
    max_delay: float = 8.0
    jitter: float = 0.5  # the fraction of each backoff drawn at random, so clients spread out

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
Sleep = Callable[[float], Awaitable[None]]


KickservLike = TransportError | APIError


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} to Kickserv as JSON")


def _query_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _transport_failure(method: str, path: str, exc: httpx.HTTPError) -> tuple[TransportError, bool]:
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


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class TransportOptions(TypedDict, total=False):
    """The keyword arguments of `Transport` after account and token, for those who pass them on
    (`KickservClient`); what each means and defaults to is said at `Transport`."""

    base_url: str
    http: httpx.AsyncClient | None
    max_concurrency: int
    limiter: asyncio.Semaphore | None
    retry: RetryPolicy | None
    on_response: Observer | None
    sleep: Sleep
    timeout: httpx.Timeout | float | None
    draw: Callable[[], float]


class Transport:
    """Sends requests for one account and token. Holds the credential; never shows it.

    `http` is shared when given (and left open), else opened here; `limiter` is shared across
    clients of one credential, else a semaphore of `max_concurrency` slots; `timeout` None leaves
    the AsyncClient's own; `draw` gives the random fraction of each backoff's jitter.
    """

    def __init__(
        self,
        account: str,
        token: str,
        *,
        base_url: str = "https://app.kickserv.com",
        http: httpx.AsyncClient | None = None,
        max_concurrency: int = 8,
        limiter: asyncio.Semaphore | None = None,
        retry: RetryPolicy | None = None,
        on_response: Observer | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout: httpx.Timeout | float | None = None,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if not account or "/" in account:
            raise ValueError(f"account should be a Kickserv account slug, got {account!r}")
        if not token:
            raise ValueError("token is empty: pass an employee's Kickserv API token")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency should be at least 1, got {max_concurrency}")
        self.account = account
        self.prefix = f"/{account}/api/v2/"
        self._origin = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(token, token)
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self.max_concurrency = max_concurrency
        self._limiter = limiter if limiter is not None else asyncio.Semaphore(max_concurrency)
        self.retry = retry if retry is not None else RetryPolicy()
        self._on_response = on_response
        self._sleep = sleep
        # None: the AsyncClient's own timeout applies (ours, or the injected one's).
        self._timeout = timeout
        self._draw = draw

    def __repr__(self) -> str:
        return f"Transport(account={self.account!r}, base_url={self._origin!r})"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def request(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> Any:
        """Send `method endpoint` (relative to /{account}/api/v2/) and return the decoded JSON body
        (None when empty). Raises a KickservError subclass on any failure."""
        path = self.prefix + endpoint.lstrip("/")
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        content = None if body is None else json.dumps(body, default=_encode).encode()
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        may_retry = method.upper() not in WRITE_METHODS
        extra: dict[str, Any] = {} if self._timeout is None else {"timeout": self._timeout}
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            failure: KickservLike
            try:
                async with self._limiter:
                    response = await self._http.request(
                        method,
                        self._origin + path,
                        params=query,
                        content=content,
                        headers=headers,
                        auth=self._auth,
                        **extra,
                    )
            except httpx.HTTPError as exc:
                response = None
                failure, retryable = _transport_failure(method, path, exc)
            elapsed = time.monotonic() - started

            if response is not None and response.status_code < 400:
                # An answer ends the attempts whatever its body holds: report it before reading.
                self._notify(method, path, response.status_code, elapsed, attempt, False)
                decoded = self._decode(method, path, response)
                if may_retry or not _has_errors(decoded):
                    return decoded
                raise error_for_status(
                    method, path, response.status_code, response.content, response.headers
                )
            if response is not None:
                retryable = _retryable(response.status_code)
                failure = error_for_status(
                    method,
                    path,
                    response.status_code,
                    response.content,
                    response.headers,
                    attempts=attempt,
                )
            wait = (
                self._wait_before_retry(failure, attempt, waited)
                if may_retry and retryable
                else None
            )
            status = response.status_code if response is not None else None
            self._notify(method, path, status, elapsed, attempt, wait is not None)
            if wait is None:
                raise failure
            await self._sleep(wait)
            waited += wait

    def _wait_before_retry(
        self, failure: KickservLike, attempt: int, waited: float
    ) -> float | None:
        """How long to sleep before the next attempt, or None when the budget is spent."""
        if attempt >= self.retry.max_attempts:
            return None
        asked = failure.retry_after if isinstance(failure, RateLimited) else None
        wait = asked if asked is not None else self.retry.backoff(attempt, self._draw)
        return None if waited + wait > self.retry.max_total_wait else wait

    def _decode(self, method: str, path: str, response: httpx.Response) -> Any:
        if not response.content.strip():
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            snippet = response.content[:60].decode("utf-8", "replace")
            raise ResponseShape(
                f"{method} {path} answered {response.status_code} with a body that is not JSON "
                f"({exc}; it starts {snippet!r}). The answer may be truncated or from a proxy; "
                "try again, and check the base URL.",
                method=method,
                path=path,
            ) from None

    def _notify(
        self,
        method: str,
        path: str,
        status: int | None,
        elapsed: float,
        attempt: int,
        retried: bool,
    ) -> None:
        if self._on_response is not None:
            self._on_response(UpstreamCall(method, path, status, elapsed, attempt, retried))


def _has_errors(decoded: Any) -> bool:
    """A write answered 200 but carries a non-empty `errors` key (the reference's vendor create)."""
    return isinstance(decoded, dict) and bool(decoded.get("errors"))
