"""The Kickserv client: one account and API token, its resources as attributes."""

from __future__ import annotations

import hashlib
from types import TracebackType
from typing import Unpack

from kickserv.attempts import RetryPolicy
from kickserv.breaker import Breaker
from kickserv.governor import Governor
from kickserv.resources import (
    Customers,
    Employees,
    Invoices,
    Items,
    JobChargeTypes,
    Jobs,
    JobTypes,
    Opportunities,
    Payments,
    Schedule,
    Tasks,
    Vendors,
)
from kickserv.transport import Transport, TransportOptions


def credential_fingerprint(account: str, token: str) -> str:
    """A stable short hash of account + token for cache keys and logs; the token cannot be
    recovered from it."""
    digest = hashlib.sha256(f"kickserv\0{account}\0{token}".encode()).hexdigest()
    return digest[:16]


# How long a caller that started calls in tasks of their own (a read-ahead, an index build's other
# pages, a prefetch) waits for them to be written before it goes on with its own CPU work, which
# would otherwise hold them back. Written within ~1-3 ms on a connection at hand or to a nearby
# Kickserv; a new connection far away waits for its TCP handshake, so the wait is bounded short:
# past it, the caller goes on.
SEND_WAIT = 0.005


class KickservClient:
    """An async client of Kickserv's REST API v2 for one account and one employee's API token.

    ```
    async with KickservClient("demo", token) as ks:
        async for job in ks.jobs.list(status="scheduled"):
            ...
    ```

    `options` go to its `Transport`. Pass `http` to share an `httpx.AsyncClient` (the server's
    lifespan owns one); otherwise the client opens its own and closes it on exit. Every request of
    this client shares one semaphore of `max_concurrency` slots (pass `limiter` to share one across
    clients of the same credential), one rate governor (`governor`, likewise) and one circuit
    breaker (`breaker`, shared by the clients of one account).
    """

    def __init__(self, account: str, token: str, **options: Unpack[TransportOptions]) -> None:
        self._transport = Transport(account, token, **options)
        self.account = account
        self.credential_fingerprint = credential_fingerprint(account, token)
        self.customers = Customers(self._transport)
        self.jobs = Jobs(self._transport)
        self.opportunities = Opportunities(self._transport)
        self.tasks = Tasks(self._transport)
        self.schedule = Schedule(self._transport)
        self.invoices = Invoices(self._transport)
        self.payments = Payments(self._transport)
        self.employees = Employees(self._transport)
        self.vendors = Vendors(self._transport)
        self.items = Items(self._transport)
        self.job_types = JobTypes(self._transport)
        self.job_charge_types = JobChargeTypes(self._transport)

    @property
    def max_concurrency(self) -> int:
        return self._transport.max_concurrency

    @property
    def retry(self) -> RetryPolicy:
        return self._transport.retry

    @property
    def governor(self) -> Governor:
        """The credential's rate governor (what a 429 taught it: `governor.snapshot()`)."""
        return self._transport.governor

    @property
    def breaker(self) -> Breaker:
        """The account's circuit breaker (`breaker.snapshot()`)."""
        return self._transport.breaker

    def send_mark(self) -> int:
        """A mark for `sent_since`: how many calls have begun sending so far."""
        return self._transport.send_mark()

    async def sent_since(self, mark: int, count: int, within: float) -> None:
        """Return once `count` calls have begun sending since `mark` (a `send_mark`) and every
        one begun since is written, or after `within` seconds: calls started in tasks of their own
        (a read-ahead) go out before the caller's own CPU work instead of after it."""
        await self._transport.sent_since(mark, count, within)

    def __repr__(self) -> str:
        return f"KickservClient(account={self.account!r}, credential={self.credential_fingerprint})"

    async def aclose(self) -> None:
        """Closes the HTTP client if this client opened it; an injected one is left open."""
        await self._transport.aclose()

    async def __aenter__(self) -> KickservClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
