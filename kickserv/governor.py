"""A rate governor per Kickserv credential: what a 429 teaches slows every call of the credential.

Kickserv publishes no rate limit; it answers 429, sometimes with `Retry-After`. A `Governor` is shared
by every request of one credential (the transport asks it before each HTTP attempt) and learns:

- **Unthrottled until a 429.** Calls go out as soon as the concurrency limit lets them, so a level
  of the graph still goes out as one round. Nothing is paced while Kickserv allows it.
- **A 429 pauses the credential**: nobody sends until its `Retry-After` has passed, not only the
  call that got it. A 429 that names no wait pauses nobody (the call that got it backs off).
- **AIMD pacing after it.** A 429 with `Retry-After` is Kickserv saying the credential is over its
  rate: it cuts the rate. A 429 without one cuts it only when 429s are a real share of the last
  second's answers (`min_share`, at least `min_limited` of at least `min_answers`): a stray 429 is
  not a limit, and cutting on each would starve the credential. The first cut sets a rate of
  `decrease` x the calls sent in the last second; every later one multiplies the rate by
  `decrease` (once per round of calls: the 429s of calls sent before the last cut do not cut
  again). While calls succeed at that rate, it grows by `increase` calls/s every second (each paced
  success adds `increase / rate`). Calls wait their turn on a virtual schedule (GCRA, a token
  bucket of `burst` seconds of the rate), never holding a concurrency slot while they wait; one
  that gives up while queued gives its turn back.
- **Forgetting.** After `forget_after` seconds without a 429 the credential goes back to unthrottled
  (a busy credential keeps meeting 429s and never forgets; one that was limited once, hours ago, gets
  its one-round levels back).
- **A deadline**: a call whose turn would come after its deadline is refused at once (`TooLong`,
  which the transport raises as `RateLimited` with the wait): nothing was sent.

Across replicas: given a `RateShare` (a small protocol over the server's state store), a cut is
published at once (a counter of cuts, the rate after it and the pause's end in wall-clock time), and
the shared state is read at most every `share_every` seconds, lazily, by a call that passes. Another
replica's cut cuts this one's rate too (the limit is the credential's, whoever sent) and its pause
pauses this one. The share failing never fails a call: the governor goes on from what it knows.

`snapshot()` says what it is doing (for metrics and `extensions.upstream`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeGuard

logger = logging.getLogger("kickserv.governor")

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class RateShare(Protocol):
    """Where replicas share one credential's rate state (a JSON object, or None when absent).

    ``update`` applies ``change`` atomically (it may call it more than once) and returns the new
    state. Either may raise when the store is away; the governor then goes on alone.
    """

    async def get(self, credential: str) -> Any | None: ...

    async def update(
        self, credential: str, change: Callable[[Any | None], Any], ttl: float
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class GovernorPolicy:
    """How a governor learns; see the module docstring."""

    increase: float = 2.0  # calls/s added per second of paced successes
    decrease: float = 0.7  # the rate's factor on a 429 (and on the first, of the calls sent)
    min_rate: float = 1.0  # calls/s: never slower than this, outside pauses
    min_share: float = 0.2  # without Retry-After: the share of 429s in a second's answers that cuts
    min_limited: int = 5  # ... and at least this many 429s in that second
    min_answers: int = 20  # ... of at least this many answers (fewer: each call backs off alone)
    max_pause: float = 300.0  # seconds: a longer Retry-After is taken as this
    burst: float = 0.25  # seconds of the rate that may go at once after a quiet spell
    forget_after: float = 60.0  # seconds without a 429, then unthrottled again
    share_every: float = 0.5  # seconds between reads of the shared state
    share_ttl: float = 3600.0  # seconds the shared state outlives its last cut

    def __post_init__(self) -> None:
        if not 0 < self.decrease < 1:
            raise ValueError(f"decrease should be within (0, 1), got {self.decrease}")
        if self.increase < 0 or self.min_rate <= 0 or self.burst < 0:
            raise ValueError("increase and burst should not be negative, min_rate positive")


@dataclass(frozen=True, slots=True)
class GovernorSnapshot:
    """What one credential's governor is doing now, and what it has done (counters since start)."""

    rate: float | None  # calls/s it paces to; None: unthrottled (no 429 to learn from)
    paused_for: float  # seconds until calls may go again; 0 when not paused
    queued: int  # calls waiting for their turn now
    sent: int  # calls let through
    rate_limited: int  # 429s seen by this process
    pauses: int  # pauses begun, by a 429 here or one shared by another replica
    cuts: int  # multiplicative decreases of the rate, here or shared
    refused: int  # calls refused because their turn came after their deadline
    shared: bool  # a RateShare spreads what it learns across replicas


@dataclass(frozen=True, slots=True)
class Permit:
    """One call's turn: when it went, whether it went at the learnt rate (it had to queue), and
    the pause it went after (`Governor.stale`)."""

    sent_at: float
    paced: bool
    pause_serial: int = 0


class TooLong(Exception):
    """The call's turn would come after its deadline; `wait` is how long it would have waited."""

    def __init__(self, wait: float, paused: bool) -> None:
        super().__init__(f"the next turn is {wait:.2f} s away")
        self.wait = wait
        self.paused = paused


_WINDOW = 1.0  # seconds of sends counted for the first cut's estimate
_MAX_KEPT = 20_000


class Governor:
    """The rate governor of one Kickserv credential (see the module docstring)."""

    def __init__(
        self,
        policy: GovernorPolicy | None = None,
        *,
        share: RateShare | None = None,
        credential: str = "",
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.policy = policy or GovernorPolicy()
        self._share = share
        self._credential = credential
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._rate: float | None = None
        self._tat = -math.inf  # GCRA: the theoretical time the next call may go at the rate
        self._pause_until = -math.inf
        self._pause_serial = 0  # moves whenever a pause begins or grows: queued calls look again
        self._cut_at = -math.inf
        self._last_429 = -math.inf
        self._sends: deque[float] = deque(maxlen=_MAX_KEPT)
        self._answers: deque[float] = deque(maxlen=_MAX_KEPT)  # when calls were answered
        self._limited: deque[float] = deque(maxlen=_MAX_KEPT)  # ... with a 429
        self._seen_cuts = 0  # the shared counter of cuts, as last seen
        self._next_share = -math.inf
        self._pulling = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued = 0
        self._sent = 0
        self._rate_limited = 0
        self._pauses = 0
        self._cuts = 0
        self._refused = 0
        self._share_failed_at = -math.inf

    def __repr__(self) -> str:
        rate = "unthrottled" if self._rate is None else f"{self._rate:.1f}/s"
        return f"Governor({rate}, paused_for={self.paused_for():.2f})"

    @property
    def rate(self) -> float | None:
        return self._rate

    def paused_for(self) -> float:
        return max(0.0, self._pause_until - self._clock())

    def snapshot(self) -> GovernorSnapshot:
        return GovernorSnapshot(
            rate=None if self._rate is None else round(self._rate, 3),
            paused_for=round(self.paused_for(), 3),
            queued=self._queued,
            sent=self._sent,
            rate_limited=self._rate_limited,
            pauses=self._pauses,
            cuts=self._cuts,
            refused=self._refused,
            shared=self._share is not None,
        )

    # -- before a call ------------------------------------------------------------------------------

    async def acquire(self, deadline: float | None = None) -> Permit:
        """Wait for this call's turn; `TooLong` (nothing waited) if it would come after `deadline`."""
        self._maybe_pull()
        while True:
            now = self._clock()
            self._maybe_forget(now)
            serial = self._pause_serial
            start = max(now, self._pause_until)
            rate = self._rate
            if rate is None:
                at, paced = start, False
            else:
                interval = 1.0 / rate
                paced = self._tat > now
                at = max(start, self._tat - self.policy.burst)
            if deadline is not None and at > deadline:
                self._refused += 1
                raise TooLong(at - now, paused=self._pause_until > now)
            if rate is not None:
                self._tat = max(self._tat, at) + interval
            if at <= now:
                return self._went(now, paced)
            self._queued += 1
            try:
                await self._sleep(at - now)
            except BaseException:
                # Given up while queued (a caller's timeout): its turn goes back, or abandoned
                # turns would pile up and starve everyone queued behind them.
                if rate is not None and self._pause_serial == serial:
                    self._tat -= interval
                raise
            finally:
                self._queued -= 1
            if self._pause_serial == serial:
                return self._went(self._clock(), paced)
            # A 429 paused the credential while this call waited: its turn is taken again.

    def _went(self, now: float, paced: bool) -> Permit:
        self._sent += 1
        self._sends.append(now)
        return Permit(now, paced, self._pause_serial)

    def stale(self, permit: Permit) -> bool:
        """A pause began after `permit` was given and still runs: the call, if not sent yet (say
        it waited for a concurrency slot meanwhile), must take a new turn after the pause. Else
        the calls queued for slots would all go out into the 429s that caused the pause."""
        return permit.pause_serial != self._pause_serial and self._pause_until > self._clock()

    # -- after a call -------------------------------------------------------------------------------

    def succeeded(self, permit: Permit) -> None:
        """A call that went at `permit` got an answer that is not a 429."""
        self._answers.append(self._clock())
        rate = self._rate
        if rate is not None and permit.paced:
            self._rate = rate + self.policy.increase / rate

    def rate_limited(self, permit: Permit, retry_after: float | None) -> None:
        """A call that went at `permit` got a 429 (`retry_after`: Kickserv's `Retry-After`)."""
        now = self._clock()
        self._rate_limited += 1
        self._answers.append(now)
        self._limited.append(now)
        if retry_after is not None:
            self._pause(now + min(max(retry_after, 0.0), self.policy.max_pause))
        elif not self._overloaded(now):
            return  # a stray 429: the call backs off, the credential goes on
        self._last_429 = now
        if permit.sent_at <= self._cut_at:
            return  # sent at the rate already cut for: one cut per round of calls
        self._cut(now)
        self._push()

    def _overloaded(self, now: float) -> bool:
        """429s are a real share of the answers of the last second."""
        for times in (self._answers, self._limited):
            while times and times[0] < now - _WINDOW:
                times.popleft()
        limited, answers = len(self._limited), len(self._answers)
        policy = self.policy
        return (
            answers >= policy.min_answers
            and limited >= policy.min_limited
            and limited >= policy.min_share * answers
        )

    def _pause(self, until: float) -> None:
        if until <= self._pause_until:
            return
        if self._pause_until <= self._clock():
            self._pauses += 1
        self._pause_until = until
        self._pause_serial += 1
        # Every queued call takes its turn again, after the pause: their old turns are void.
        self._tat = until + self.policy.burst

    def _cut(self, now: float) -> None:
        policy = self.policy
        if self._rate is None:
            while self._sends and self._sends[0] < now - _WINDOW:
                self._sends.popleft()
            self._rate = max(policy.min_rate, len(self._sends) / _WINDOW * policy.decrease)
        else:
            self._rate = max(policy.min_rate, self._rate * policy.decrease)
        self._cuts += 1
        self._cut_at = now
        # The queue starts again after the pause, at the new rate, with no burst saved up.
        self._tat = max(self._pause_until, now) + policy.burst

    def _maybe_forget(self, now: float) -> None:
        if self._rate is not None and now - self._last_429 >= self.policy.forget_after:
            self._rate = None
            self._tat = -math.inf

    # -- across replicas ----------------------------------------------------------------------------

    def _maybe_pull(self) -> None:
        if self._share is None:
            return
        now = self._clock()
        if now < self._next_share or self._pulling:
            return  # not yet, or the last read has not answered (a slow store gets one at a time)
        self._next_share = now + self.policy.share_every
        self._pulling = True
        self._spawn(self._pull())

    def _push(self) -> None:
        if self._share is None:
            return
        self._next_share = self._clock() + self.policy.share_every  # our news is the latest
        self._spawn(self._publish())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pull(self) -> None:
        assert self._share is not None
        try:
            state = await self._share.get(self._credential)
        except Exception as exc:  # the share is an optimisation: never a reason to fail a call
            self._share_failed(exc)
            return
        finally:
            self._pulling = False
        self._adopt(state)

    async def _publish(self) -> None:
        assert self._share is not None
        rate = self._rate
        pause_until = self._wall() + self.paused_for()

        def change(current: Any | None) -> dict[str, Any]:
            known = _SharedRate.read(current)
            return {
                "cuts": known.cuts + 1,
                "rate": rate,
                "pause_until": max(known.pause_until, pause_until),
            }

        try:
            state = await self._share.update(self._credential, change, self.policy.share_ttl)
        except Exception as exc:
            self._share_failed(exc)
            return
        self._seen_cuts = max(self._seen_cuts, _SharedRate.read(state).cuts)

    def _adopt(self, state: Any | None) -> None:
        """What another replica published: its pause pauses us; its cut cuts our rate once."""
        shared = _SharedRate.read(state)
        now = self._clock()
        pause_left = shared.pause_until - self._wall()
        if pause_left > 0:
            self._pause(now + min(pause_left, self.policy.max_pause))
        if shared.cuts <= self._seen_cuts:
            return
        self._seen_cuts = shared.cuts
        self._last_429 = now  # a 429 was seen for this credential, by someone
        if now - self._cut_at < max(self.policy.share_every, self.paused_for()):
            return  # our own recent cut answered the same overload
        if self._rate is None and shared.rate is not None:
            self._rate = max(self.policy.min_rate, shared.rate)
            self._cuts += 1
            self._cut_at = now
            self._tat = max(self._pause_until, now) + self.policy.burst
        else:
            self._cut(now)

    def _share_failed(self, exc: Exception) -> None:
        now = self._clock()
        if now - self._share_failed_at >= 10.0:  # one line per 10 s, not one per call
            self._share_failed_at = now
            logger.warning("Shared rate state unavailable, this process goes on alone: %s", exc)


@dataclass(frozen=True, slots=True)
class _SharedRate:
    """The shared state, read leniently: another version may have written it."""

    cuts: int = 0
    rate: float | None = None
    pause_until: float = 0.0  # wall-clock time

    @classmethod
    def read(cls, state: Any | None) -> _SharedRate:
        if not isinstance(state, dict):
            return cls()
        cuts, rate, pause = state.get("cuts"), state.get("rate"), state.get("pause_until")
        return cls(
            cuts=cuts if isinstance(cuts, int) and not isinstance(cuts, bool) else 0,
            rate=float(rate) if _number(rate) and rate > 0 else None,
            pause_until=float(pause) if _number(pause) else 0.0,
        )


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
