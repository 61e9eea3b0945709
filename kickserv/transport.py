"""One HTTP exchange with Kickserv: URL, auth, the concurrency limit, retries and error mapping.

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
from datetime import UTC, date, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from kickserv.errors import (
    APIError,
    BadRequest,
    Forbidden,
    NotFound,
    RateLimited,
    ResponseShape,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    Validation,
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


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_details(body: bytes) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """Messages and field errors from Rails-style bodies: {"errors": [...]}, {"errors": {f: [...]}},
    {"error": "..."} or {"message": "..."}; anything else gives no messages."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return (), {}
    if not isinstance(data, dict):
        return (), {}
    errors = data.get("errors", data.get("error", data.get("message")))
    if isinstance(errors, str):
        return (errors,), {}
    if isinstance(errors, list):
        return tuple(str(e) for e in errors), {}
    if isinstance(errors, dict):
        fields: dict[str, list[str]] = {}
        for name, problems in errors.items():
            listed = problems if isinstance(problems, list) else [problems]
            fields[str(name)] = [str(p) for p in listed]
        messages = tuple(
            p if p.lower().startswith(name.replace("_", " ").lower()) else f"{name} {p}"
            for name, problems in fields.items()
            for p in problems
        )
        return messages, fields
    return (), {}


def error_for_status(
    method: str,
    path: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    attempts: int = 1,
) -> APIError:
    """The one place where an error status becomes an exception class and a message."""
    messages, field_errors = _error_details(body)
    request_id = headers.get("x-request-id")
    said = "; ".join(messages) if messages else "no error message"
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    where = f"{method} {path} answered {status}{tried} ({said})"
    rid = f" [X-Request-Id {request_id}]" if request_id else ""
    context: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "request_id": request_id,
        "messages": messages,
        "field_errors": field_errors,
    }
    first = messages[0] if messages else ""
    if status == 401:
        hint = (
            "Check the account slug in the URL and the API token: Kickserv wants the employee's "
            "token as both HTTP Basic user and password, and a password change issues a new token."
        )
        return Unauthorized(f"{where}. {hint}{rid}", **context)
    if status == 403:
        hint = "The token's employee lacks this permission in Kickserv; use an admin's token."
        return Forbidden(f"{where}. {hint}{rid}", **context)
    if status == 404 or (status == 400 and first.startswith("Invalid ")):
        hint = (
            "No such record for this account and token. Customer and job URLs take numbers "
            "(customer_number, job_number), not global ids; an employee limited to assignments "
            "sees only jobs with a task assigned to them."
        )
        return NotFound(f"{where}. {hint}{rid}", **context)
    if status == 400:
        hint = "Kickserv refused the parameters; check the query string and body."
        return BadRequest(f"{where}. {hint}{rid}", **context)
    if status == 422 or status < 300:
        hint = "Fix the fields named in field_errors and send again."
        return Validation(f"{where}. {hint}{rid}", **context)
    if status == 429:
        retry_after = retry_after_seconds(headers.get("retry-after"))
        wait = f"wait {retry_after:g} s" if retry_after is not None else "wait"
        hint = (
            f"Kickserv is rate limiting this token; {wait}, or lower the client's max_concurrency."
        )
        return RateLimited(f"{where}. {hint}{rid}", retry_after=retry_after, **context)
    if status >= 500:
        hint = "Kickserv failed on its side; try again later."
        return ServerError(f"{where}. {hint}{rid}", **context)
    return APIError(f"{where}. Kickserv did not expect this request.{rid}", **context)


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class Transport:
    """Sends requests for one account and token. Holds the credential; never shows it."""

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
            response: httpx.Response | None = None
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
            except httpx.TimeoutException as exc:
                failure = Timeout(
                    f"{method} {path} timed out ({type(exc).__name__}). Kickserv may be slow; "
                    "raise the client's timeout or try again later.",
                    method=method,
                    path=path,
                )
                failure.__cause__ = exc
                retryable = True
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                failure = TransportError(
                    f"{method} {path} got no answer ({type(exc).__name__}: {exc}). Check the "
                    "base URL and the network.",
                    method=method,
                    path=path,
                )
                failure.__cause__ = exc
                retryable = True
            except httpx.HTTPError as exc:
                failure = TransportError(
                    f"{method} {path} could not be sent ({type(exc).__name__}: {exc}). Check "
                    "the base URL.",
                    method=method,
                    path=path,
                )
                failure.__cause__ = exc
                retryable = False
            elapsed = time.monotonic() - started

            wait: float | None = None
            if response is not None and response.status_code < 400:
                # An answer ends the attempts whatever its body holds: report it before reading.
                self._notify(method, path, response.status_code, elapsed, attempt, False)
                decoded = self._decode(method, path, response)
                if may_retry or not _has_errors(decoded):
                    return decoded
                raise error_for_status(
                    method, path, response.status_code, response.content, response.headers
                )
            elif response is not None:
                retryable = _retryable(response.status_code)
                failure = error_for_status(
                    method,
                    path,
                    response.status_code,
                    response.content,
                    response.headers,
                    attempts=attempt,
                )
            if may_retry and retryable and attempt < self.retry.max_attempts:
                asked = failure.retry_after if isinstance(failure, RateLimited) else None
                wait = asked if asked is not None else self.retry.backoff(attempt, self._draw)
                if waited + wait > self.retry.max_total_wait:
                    wait = None
            status = response.status_code if response is not None else None
            self._notify(method, path, status, elapsed, attempt, wait is not None)
            if wait is None:
                raise failure
            await self._sleep(wait)
            waited += wait

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
