"""Tags on jobs and customers. Kickserv replaces a record's whole tag set on each write, so a change
is read, merge, write, then read again to check that the additions are there and the removals gone:
another writer that replaced the set in between is merged with, not overwritten. Writers in this
process take turns per record; the check catches the others."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from kickserv import Customer, Job
from kickserv.resources.notes_and_tags import NotesAndTags
from resolvers.writes import invalidation
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, Step
from resolvers.writes.validation import Checks

ATTEMPTS = 4
# A record's lock lives only while a writer holds or awaits it (the writer keeps the reference).
_turns: weakref.WeakValueDictionary[tuple[str, str, int], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


def check_tags(add: Sequence[str], remove: Sequence[str]) -> tuple[list[str], list[str]]:
    checks = Checks()
    adding = [checks.text(("add", i), t, required=True) or "" for i, t in enumerate(add)]
    removing = [checks.text(("remove", i), t, required=True) or "" for i, t in enumerate(remove)]
    if not adding and not removing:
        checks.fail(("add",), "give at least one tag to add or remove")
    both = set(adding) & set(removing)
    if both:
        checks.fail(("remove",), f"cannot both add and remove {sorted(both)}")
    checks.done()
    return list(dict.fromkeys(adding)), list(dict.fromkeys(removing))


def tag_list(value: Any) -> list[str]:
    return [str(t) for t in value]


def merged(current: Iterable[str], add: list[str], remove: list[str]) -> list[str]:
    gone = set(remove)
    kept = [t for t in current if t not in gone]
    return kept + [t for t in add if t not in kept]


async def merge_tags(
    read: Callable[[], Awaitable[tuple[str, ...]]],
    write: Callable[[list[str]], Awaitable[tuple[str, ...]]],
    add: list[str],
    remove: list[str],
) -> tuple[str, ...]:
    for _ in range(ATTEMPTS):
        await write(merged(await read(), add, remove))
        now = await read()
        if all(t in now for t in add) and not any(t in now for t in remove):
            return now
    return now


def tags_step(
    scope: WriteScope, records: NotesAndTags, number: int, add: list[str], remove: list[str]
) -> Step[list[str]]:
    """The journaled step that changes the tags of record ``number`` of ``records`` (``ks.jobs``
    or ``ks.customers``), taking turns with this process's other writers of them."""

    async def send() -> list[str]:
        key = (scope.tenant.key, records.collection, number)
        turn = _turns.get(key)
        if turn is None:
            turn = _turns[key] = asyncio.Lock()
        async with turn:
            now = await merge_tags(
                lambda: records.tags(number), lambda t: records.replace_tags(number, t), add, remove
            )
            return list(now)

    return Step("tags", send=send, dump=tag_list, load=tag_list)


async def tag_job(
    scope: WriteScope, job_number: int, add: Sequence[str], remove: Sequence[str]
) -> Job:
    adding, removing = check_tags(add, remove)

    async def body(saga: Saga) -> Job:
        await saga.run(tags_step(scope, scope.ks.jobs, job_number, adding, removing))
        job = await scope.ks.jobs.get(job_number)
        await invalidation.job_saved(scope, job)
        return job

    payload: dict[str, Any] = {"job": job_number, "add": adding, "remove": removing}
    return await scope.run("tagJob", payload, body, lambda j: dict(j.raw), Job.from_json)


async def tag_customer(
    scope: WriteScope, number: int, add: Sequence[str], remove: Sequence[str]
) -> list[str]:
    adding, removing = check_tags(add, remove)

    async def body(saga: Saga) -> list[str]:
        step = tags_step(scope, scope.ks.customers, number, adding, removing)
        tags: list[str] = await saga.run(step)
        customer: Customer = await scope.ks.customers.get(number)
        await invalidation.customer_saved(scope, customer)
        return tags

    payload: dict[str, Any] = {"customer": number, "add": adding, "remove": removing}
    return await scope.run("tagCustomer", payload, body, tag_list, tag_list)
