"""One HTTP exchange with Kickserv: URL, auth, the credential's governor, the account's circuit
breaker, the concurrency limit, deadlines and retries. Error statuses become exceptions in
`kickserv.errors.error_for_status`.

Each attempt, in order: the breaker (`kickserv.breaker`: refused at once with `CircuitOpen` while
Kickserv keeps failing), the governor (`kickserv.governor`: waits for the credential's turn, paused
after a 429 for everyone), a concurrency slot, the HTTP exchange. Reads (GET) retry on 429, 5xx,
timeouts and connection failures with jittered exponential backoff (after a 429, the governor's pause
is the wait), within `RetryPolicy`'s attempts, wait budget and one overall `deadline`: waiting for a
turn or a slot, the exchanges and the waits between them all end by it, and a call still in flight
then is cancelled, so it never holds a slot past it. Writes are never retried: Kickserv has no
idempotency keys, so a retried POST could create a second job.

Sends before answers: over a `kickserv.pool.PooledTransport` (the server's, and the one opened here
when none is given), an answer is decoded and handed back only once every call that began its
exchange before the answer arrived has been written (`SendGate`), so the calls of a level leave
together even when the CPU is short and early answers would otherwise be handled between them.

Reads made inside `patient()` (bulk reads: an index built from a whole listing) wait for their turn
and their slot without a deadline: theirs starts when they are sent, since their caller paces them
and bounds the whole (`resolvers.indexes`). Only Kickserv's own failures count for the breaker: a
call that never went out says nothing of Kickserv, nor does one the deadline cut short after less
than `RetryPolicy.hang_after` in flight (most of its deadline spent in our own queue).

What an attempt is made of (its retry policy, its report, how a failure without an answer reads)
lives in `kickserv.attempts`; this module is the loop that makes attempts. Over a `PooledTransport`
an exchange is written straight into its pool (`kickserv.direct`), the bytes `AsyncClient.request`
would send, without its per-call work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import httpx
import orjson

from kickserv.attempts import (
    PATIENT,
    AttemptTrace,
    KickservLike,
    Observer,
    RetryPolicy,
    Sleep,
    UpstreamCall,
    encode,
    query_value,
    retryable_status,
    transport_failure,
)
from kickserv.breaker import Breaker, CircuitOpen
from kickserv.direct import DirectRoute
from kickserv.errors import (
    RateLimited,
    ResponseShape,
    Timeout,
    error_for_status,
)
from kickserv.governor import Governor, Permit, TooLong
from kickserv.pool import Answer, PooledTransport, SendGate, SendTicket, send_gate

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


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
    governor: Governor | None
    breaker: Breaker | None
    clock: Callable[[], float]
    trace: AttemptTrace | None


class Transport:
    """Sends requests for one account and token. Holds the credential; never shows it.

    `http` is shared when given (and left open), else opened here (a `PooledTransport` sized to
    `max_concurrency`); `limiter` is shared across
    clients of one credential, else a semaphore of `max_concurrency` slots; `governor` likewise (one
    per credential), else one of this transport's own; `breaker` is shared by the clients of one
    account, else one of its own; `timeout` None leaves the AsyncClient's own; `draw` gives the
    random fraction of each backoff's jitter; `clock` and `sleep` time deadlines and waits (and
    those of the governor made here); `trace` wraps each HTTP attempt (`AttemptTrace`).
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
        governor: Governor | None = None,
        breaker: Breaker | None = None,
        clock: Callable[[], float] = time.monotonic,
        trace: AttemptTrace | None = None,
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
        self.max_concurrency = max_concurrency
        if http is None:
            limits = httpx.Limits(
                max_connections=max(100, max_concurrency), max_keepalive_connections=max_concurrency
            )
            http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=PooledTransport(limits))
        self._http = http
        # Straight into our pool when `http` is one whose requests it writes (`kickserv.direct`).
        self._direct = DirectRoute.over(http, self._origin, (token, token), timeout)
        self._limiter = limiter if limiter is not None else asyncio.Semaphore(max_concurrency)
        self.retry = retry if retry is not None else RetryPolicy()
        self._on_response = on_response
        self._sleep = sleep
        # The timeout given to AsyncClient.request; none: its own (ours, or the injected one's).
        self._timeout: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
        self._draw = draw
        self._clock = clock
        self._trace = trace
        self.governor = governor if governor is not None else Governor(clock=clock, sleep=sleep)
        self.breaker = breaker if breaker is not None else Breaker(name=account, clock=clock)
        # Sends before answers (`kickserv.pool.SendGate`), when the HTTP transport tells us when a
        # request is written.
        self._gate = send_gate(self._http)

    def __repr__(self) -> str:
        return f"Transport(account={self.account!r}, base_url={self._origin!r})"

    def send_mark(self) -> int:
        """A mark for `sent_since`: how many sends have begun so far (0 without a gate)."""
        return 0 if self._gate is None else self._gate.opened

    async def sent_since(self, mark: int, count: int, within: float) -> None:
        """Wait (at most `within` seconds) until `count` calls have begun sending since `mark`
        and are written (`SendGate.sent_since`); at once when the HTTP transport tells no writes."""
        if self._gate is not None:
            await self._gate.sent_since(mark, count, within)

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
        query = {k: query_value(v) for k, v in (params or {}).items() if v is not None}
        content = None if body is None else json.dumps(body, default=encode).encode()
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        may_retry = method.upper() not in WRITE_METHODS
        began = self._clock()
        budget = self.retry.deadline
        # A patient read's deadline starts when it is first sent (`patient`).
        waits_patiently = may_retry and PATIENT.get()
        deadline = None if budget is None or waits_patiently else began + budget
        waited = 0.0
        attempt = 0
        paced = (
            0  # a patient read's 429s: the governor's pacing, not attempts spent (`waited` bounds)
        )
        while True:
            attempt += 1
            permit = await self._turn(method, path, deadline, probe=may_retry)
            era = self.breaker.era  # outcomes of calls sent before its state changed are old news
            started = time.monotonic()
            failure: KickservLike
            response: httpx.Response | Answer | None = None
            sent_at: float | None = None
            cut_short = False  # by our deadline, not answered
            ticket: SendTicket | None = None  # its place in the gate, once it goes out
            try:
                # A read's deadline covers the wait for a slot and the exchange: when it passes,
                # the exchange is cancelled and its slot freed (a patient read's, the exchange
                # only). A write, once sent, is not cut short by us (its outcome would be
                # unknown): it has its own timeout.
                queue_bound = deadline if may_retry and not waits_patiently else None
                async with self._within(queue_bound), self._limiter:
                    if self.governor.stale(permit):
                        raise _Requeue()
                    sent_at = self._clock()
                    if waits_patiently and deadline is None and budget is not None:
                        deadline = sent_at + budget
                    async with self._within(deadline if waits_patiently else None):
                        response, ticket = await self._exchange(
                            method, path, attempt, query, content, headers
                        )
            except _Requeue:  # paused while it waited for a slot: nothing sent, a new turn
                attempt -= 1
                continue
            except TimeoutError:
                failure, retryable = self._past_deadline(method, path, budget), False
                cut_short = True
            except httpx.HTTPError as exc:
                failure, retryable = transport_failure(method, path, exc)
            elapsed = time.monotonic() - started

            if response is not None and response.status_code < 400:
                self._settle(permit, response.status_code, None, era)
                # An answer ends the attempts whatever its body holds: report it before reading.
                self._notify(method, path, response.status_code, elapsed, attempt, False)
                if self._gate is not None and ticket is not None:
                    # The calls of its level go out before it is read; those sent after it is
                    # handed back may depend on it.
                    await self._gate.settled(ticket)
                    self._gate.answered()
                decoded = self._decode(method, path, response)
                if may_retry or not _has_errors(decoded):
                    return decoded
                raise error_for_status(
                    method, path, response.status_code, response.content, response.headers
                )
            if response is not None:
                retryable = retryable_status(response.status_code)
                failure = error_for_status(
                    method,
                    path,
                    response.status_code,
                    response.content,
                    response.headers,
                    attempts=attempt,
                )
            status = response.status_code if response is not None else None
            # Out of time while waiting for a slot says nothing of Kickserv, nor does a call cut
            # short soon after it went out (its deadline spent in our queue): not its failure.
            if sent_at is not None and (not cut_short or self.retry.hung(self._clock() - sent_at)):
                self._settle(permit, status, failure, era)
            if waits_patiently and status == 429:
                deadline = None  # nothing was done: the next send starts a whole deadline again
                paced += 1
            wait = (
                self._wait_before_retry(failure, max(1, attempt - paced), waited, deadline)
                if may_retry and retryable
                else None
            )
            self._notify(method, path, status, elapsed, attempt, wait is not None)
            if wait is None:
                raise failure
            if wait.sleep > 0:
                await self._sleep(wait.sleep)
            waited += wait.counted

    async def _exchange(
        self,
        method: str,
        path: str,
        attempt: int,
        query: Mapping[str, str],
        content: bytes | None,
        headers: dict[str, str],
    ) -> tuple[httpx.Response | Answer, SendTicket | None]:
        """One HTTP exchange, inside the `trace` hook when there is one, and its ticket in the
        `SendGate` (told when the request is written)."""
        url = self._origin + path
        if self._trace is None:
            trace: AttemptTrace = _untraced
        else:
            trace, headers = self._trace, dict(headers)  # the hook adds this attempt's own
        gate, ticket = self._gate, None
        extensions: dict[str, Any] = {}
        if gate is not None:
            ticket = gate.open()
            extensions["trace"] = _on_written(gate, ticket, extensions)
        direct = self._direct
        response: httpx.Response | Answer
        try:
            with trace(method, url, attempt, headers) as answered:
                if direct is not None and direct.open():
                    response = await direct.request(
                        method, path, query, content, headers, extensions
                    )
                else:
                    response = await self._http.request(
                        method,
                        url,
                        params=query,
                        content=content,
                        headers=headers,
                        auth=self._auth,
                        extensions=extensions,
                        **self._timeout,
                    )
                answered(response.status_code)
        finally:
            if gate is not None and ticket is not None:
                gate.written(ticket)
        return response, ticket

    async def _turn(self, method: str, path: str, deadline: float | None, *, probe: bool) -> Permit:
        """This attempt's turn: the breaker lets it go, then the governor (within `deadline`).
        Refused: `CircuitOpen` or `RateLimited`, and nothing was sent."""
        if self.breaker.retry_in() is None:  # closed, or a probe is due: wait for the turn
            try:
                permit = await self.governor.acquire(deadline)
            except TooLong as exc:
                raise self._too_long(method, path, exc) from None
            # Asked now: the breaker may have opened while this call waited for its turn.
            wait = self.breaker.admit(probe=probe)
            if wait is None:
                return permit
        else:
            wait = self.breaker.refuse()
        raise CircuitOpen(
            f"{method} {path} was not sent: Kickserv failed {self.breaker.policy.failures} times "
            f"in a row, so calls to account {self.account!r} pause; the next try goes in "
            f"{wait:.1f} s.",
            method=method,
            path=path,
            retry_after=_tenths(wait),
        )

    def _too_long(self, method: str, path: str, exc: TooLong) -> RateLimited:
        if exc.paused:
            why = "Kickserv asked this credential to pause (429)"
        else:
            why = "this credential's calls go out at the rate Kickserv allows"
        return RateLimited(
            f"{method} {path} was not sent: {why}, and its turn would come after the read "
            f"deadline ({exc.wait:.1f} s away).",
            method=method,
            path=path,
            retry_after=_tenths(exc.wait),
        )

    def _past_deadline(self, method: str, path: str, budget: float | None) -> Timeout:
        return Timeout(
            f"{method} {path} got no answer within the read deadline ({budget:g} s, retries "
            "included): Kickserv may be slow or hanging. Try again later.",
            method=method,
            path=path,
        )

    def _within(self, deadline: float | None) -> contextlib.AbstractAsyncContextManager[object]:
        """The scope a read's deadline bounds (it raises TimeoutError when the deadline passes)."""
        if deadline is None:
            return contextlib.nullcontext()
        return asyncio.timeout(deadline - self._clock())

    def _settle(
        self, permit: Permit, status: int | None, failure: KickservLike | None, era: int
    ) -> None:
        """Tell the governor and the breaker how an attempt went (`status` None: no answer);
        `era` is the breaker's when the attempt was sent."""
        if status == 429:
            retry_after = failure.retry_after if isinstance(failure, RateLimited) else None
            self.governor.rate_limited(permit, retry_after)
        elif status is None or status >= 500:
            self.breaker.failed(era)
        else:
            self.governor.succeeded(permit)
            self.breaker.succeeded()

    def _wait_before_retry(
        self, failure: KickservLike, attempt: int, waited: float, deadline: float | None
    ) -> _Wait | None:
        """How long to sleep before the next attempt, or None when the budget is spent. After a
        429 that paused the credential, the governor's pause is the wait: counted, not slept here
        (the next turn waits it out); after any other failure, the backoff."""
        if attempt >= self.retry.max_attempts:
            return None
        pause = self.governor.paused_for() if isinstance(failure, RateLimited) else 0.0
        if pause > 0:
            wait = _Wait(0.0, pause)
        else:
            backoff = self.retry.backoff(attempt, self._draw)
            wait = _Wait(backoff, backoff)
        if waited + wait.counted > self.retry.max_total_wait:
            return None
        if deadline is not None and self._clock() + wait.counted >= deadline:
            return None
        return wait

    def _decode(self, method: str, path: str, response: httpx.Response | Answer) -> Any:
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


def _on_written(
    gate: SendGate, ticket: SendTicket, extensions: dict[str, Any]
) -> Callable[[str, Any], Awaitable[None]]:
    """httpcore's trace hook for one request: tells `gate` once the request is written, or once
    it starts a TLS handshake (round trips to Kickserv: answers do not wait on the network), then
    leaves the request's `extensions` (those httpcore reads, when they are not httpx's copy): the
    steps after it are not traced."""

    async def event(name: str, info: Any) -> None:
        if name.endswith("send_request_body.complete") or name == "connection.start_tls.started":
            gate.written(ticket)
            extensions.pop("trace", None)

    return event


def _untraced(
    method: str, url: str, attempt: int, headers: dict[str, str]
) -> contextlib.AbstractContextManager[Callable[[int], None]]:
    return contextlib.nullcontext(_ignore_status)


def _ignore_status(status: int) -> None:
    pass


class _Requeue(Exception):
    """A call's turn went stale before it was sent (`Governor.stale`)."""


@dataclass(frozen=True, slots=True)
class _Wait:
    """A wait between attempts: `sleep` here, `counted` against the retry budget."""

    sleep: float
    counted: float


def _tenths(seconds: float) -> float:
    """A wait as told to callers: rounded up to a tenth of a second, at least one tenth."""
    return max(0.1, math.ceil(seconds * 10) / 10)


def _has_errors(decoded: Any) -> bool:
    """A write answered 200 but carries a non-empty `errors` key (the reference's vendor create)."""
    return isinstance(decoded, dict) and bool(decoded.get("errors"))
