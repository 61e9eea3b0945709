"""One write as a sequence of journaled steps that a retry resumes instead of repeating.

A ``Step`` is one Kickserv write. ``Saga.run(step)``:

1. answers from the journal when the step is done already (a resumed write skips it);
2. when an earlier attempt sent it without learning the outcome, first asks Kickserv whether it was
   applied (``find``, with the before-image saved at that time) and only re-sends if not;
3. otherwise saves the before-image (``snapshot``) and a "pending" mark, then sends.

Outcomes of a send: an answer (done); a refusal, any 4xx (Kickserv applied nothing: a 429 is waited
out when short, the rest are raised); or an unknown outcome (5xx, a dropped connection, no answer
within ``write_timeout``), after which Kickserv is asked (``find``) before anything is sent again.
A step without ``find`` is an absolute update (a PUT of values) that is safe to send twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from kickserv import APIError, RateLimited, ResponseShape, ServerError, Timeout, TransportError
from kickserv import Validation as KickservValidation
from kickserv.errors import NotFound
from resolvers.writes.errors import FieldProblem, InvalidInput, Path
from resolvers.writes.idempotency import Claim

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WritePolicy:
    write_timeout: float = 20.0  # a write unanswered by then has an unknown outcome
    attempts: int = 3  # sends of one step within one request
    max_rate_wait: float = 2.0  # a 429's Retry-After up to this is slept through in the request
    settle: float = 0.5  # after an unknown outcome, look again this much later before re-sending


@dataclass(frozen=True, slots=True)
class Step(Generic[T]):
    name: str  # unique within its write; the journal's key
    send: Callable[[], Awaitable[T]]
    dump: Callable[[T], Any]  # to a JSON value for the journal
    load: Callable[[Any], T]
    find: Callable[[Any], Awaitable[T | None]] | None = None  # given the before-image
    snapshot: Callable[[], Awaitable[Any]] | None = None  # the before-image, read before sending
    field_path: Callable[[str], Path] | None = None  # Kickserv's field name -> our input path


UNKNOWN_OUTCOME = (ServerError, TransportError, ResponseShape, TimeoutError)


class Saga:
    """Runs the steps of one write under a ``Claim``; the journal is the claim's."""

    def __init__(self, claim: Claim, policy: WritePolicy) -> None:
        self.claim = claim
        self.policy = policy
        self.done: dict[str, Any] = claim.journal.setdefault("done", {})
        self.pending: dict[str, Any] = claim.journal.setdefault("pending", {})
        self.reads: dict[str, Any] = claim.journal.setdefault("reads", {})

    async def remember(self, name: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """A read whose answer must stay what it was on the first attempt (a before-image shared
        by several steps): computed once, then answered from the journal."""
        if name in self.reads:
            return self.reads[name]
        value = await compute()
        self.reads[name] = value
        await self.claim.save()
        return value

    async def run(self, step: Step[T]) -> T:
        if step.name in self.done:
            return step.load(self.done[step.name])
        if step.name in self.pending:
            found = await self._look(step)
            if found is not None:
                return await self._done(step, found)
        else:
            before = await step.snapshot() if step.snapshot is not None else None
            self.pending[step.name] = {"before": before}
            await self.claim.save()
        failure: BaseException | None = None
        for attempt in range(1, self.policy.attempts + 1):
            try:
                result = await asyncio.wait_for(step.send(), self.policy.write_timeout)
            except RateLimited as exc:
                wait = exc.retry_after if exc.retry_after is not None else 1.0
                if attempt < self.policy.attempts and wait <= self.policy.max_rate_wait:
                    await asyncio.sleep(wait)
                    continue
                await self._refused(step)
                raise
            except KickservValidation as exc:
                await self._refused(step)
                raise _invalid(exc, step) from None
            except APIError as exc:
                if isinstance(exc, ServerError):
                    failure = exc
                else:
                    await self._refused(step)
                    raise
            except UNKNOWN_OUTCOME as exc:
                failure = exc
            else:
                return await self._done(step, result)
            found = await self._look(step)
            if found is not None:
                return await self._done(step, found)
        assert failure is not None
        if isinstance(failure, TimeoutError):
            raise Timeout(
                f"Kickserv did not answer step {step.name!r} within "
                f"{self.policy.write_timeout:g} s, and has not applied it.",
                method="WRITE",
                path=step.name,
            ) from failure
        raise failure

    async def _look(self, step: Step[T]) -> T | None:
        """Did Kickserv apply the step? None for steps that are safe to send again."""
        if step.find is None:
            return None
        before = self.pending[step.name]["before"]
        found = await step.find(before)
        if found is None and self.policy.settle > 0:
            await asyncio.sleep(self.policy.settle)  # a slow Kickserv may still apply it
            found = await step.find(before)
        return found

    async def _done(self, step: Step[T], result: T) -> T:
        self.done[step.name] = step.dump(result)
        self.pending.pop(step.name, None)
        await self.claim.save()
        return result

    async def _refused(self, step: Step[Any]) -> None:
        """Kickserv applied nothing: the next attempt need not look before sending."""
        self.pending.pop(step.name, None)
        await self.claim.save()


def _invalid(exc: KickservValidation, step: Step[Any]) -> InvalidInput:
    """Kickserv's 422 field errors, named by the input paths they came from."""
    problems: list[FieldProblem] = []
    for name, messages in exc.field_errors.items():
        path = step.field_path(name) if step.field_path is not None else (name,)
        problems.extend(FieldProblem(path, message) for message in messages)
    if not problems:
        problems = [FieldProblem(("input",), "; ".join(exc.messages) or "was refused")]
    return InvalidInput(problems, upstream=True)


class HasRaw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


class Record(HasRaw, Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Record)


def raw_of(record: HasRaw) -> dict[str, Any]:
    """A record as the journal keeps it: the JSON Kickserv sent (``Record.from_json`` reads it)."""
    return dict(record.raw)


def record_step(
    name: str,
    send: Callable[[], Awaitable[R]],
    load: Callable[[Any], R],
    *,
    find: Callable[[Any], Awaitable[R | None]] | None = None,
    snapshot: Callable[[], Awaitable[Any]] | None = None,
    field_path: Callable[[str], Path] | None = None,
) -> Step[R]:
    """A step that answers one Kickserv record, journaled as the JSON Kickserv sent (``load`` is
    the record's ``from_json``). Without ``find`` it is an absolute update, safe to send twice."""
    return Step(
        name, send=send, dump=raw_of, load=load, find=find, snapshot=snapshot, field_path=field_path
    )


def _by_id(record: Record) -> int:
    return record.id


def created_step(
    name: str,
    send: Callable[[], Awaitable[R]],
    load: Callable[[Any], R],
    listing: Callable[[], Awaitable[Iterable[R]]],
    matches: Callable[[R], bool] | None = None,
    *,
    known: Callable[[], Iterable[int]] | None = None,
    first: Callable[[R], int] = _by_id,
    field_path: Callable[[str], Path] | None = None,
) -> Step[R]:
    """A create found again after an unknown outcome by before-image: of the records ``listing()``
    answers, those that were not there before and that ``matches`` what was sent (all, without
    it), the ``first`` (by default the lowest id). ``known()``, when given, are the ids that are
    not this step's (there before, or created by an earlier step of the same write): they serve as
    the before-image, without a listing read, and are left out again when looking."""

    async def snapshot() -> list[int]:
        return list(known()) if known is not None else [r.id for r in await listing()]

    async def find(before: list[int]) -> R | None:
        claimed = set(before).union(known() if known is not None else ())
        fresh = [
            r for r in await listing() if r.id not in claimed and (matches is None or matches(r))
        ]
        return min(fresh, key=first, default=None)

    return record_step(name, send, load, find=find, snapshot=snapshot, field_path=field_path)


R_co = TypeVar("R_co", covariant=True)


class Deletable(Protocol[R_co]):
    """A Kickserv resource whose records are read and deleted by one key (``ks.customers``)."""

    async def get(self, key: int, /) -> R_co: ...

    async def delete(self, key: int, /) -> object: ...


def delete_step(before: R, load: Callable[[Any], R], records: Deletable[R], key: int) -> Step[R]:
    """The DELETE of record ``key``, confirmed after an unknown outcome by reading it (NotFound);
    answers the record as it was, ``before``."""

    async def send() -> R:
        await records.delete(key)
        return before

    async def find(_: Any) -> R | None:
        try:
            await records.get(key)
        except NotFound:
            return before
        return None

    return record_step("delete", send, load, find=find)
