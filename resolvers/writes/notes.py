"""Notes on customers and jobs. Kickserv cannot edit a note, so no marker is written into one: a
note whose POST had an unknown outcome is found by before-image (a note that was not there before,
with the same text)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kickserv import Note
from resolvers.writes.steps import Step, raw_of
from resolvers.writes.validation import Checks, upstream_path


def checked_note_text(body_text: str) -> str:
    """The note's text, or a BAD_USER_INPUT error on `input.body` before any upstream call."""
    checks = Checks()
    text = checks.text(("input", "body"), body_text, required=True)
    checks.done()
    assert text is not None
    return text


def note_step(
    listing: Callable[[], Awaitable[list[Note]]],
    send: Callable[[], Awaitable[Note]],
    text: str,
) -> Step[Note]:
    async def snapshot() -> list[int]:
        return [n.id for n in await listing()]

    async def find(before: list[int]) -> Note | None:
        known = set(before)
        fresh = [n for n in await listing() if n.id not in known and n.body == text]
        return min(fresh, key=lambda n: n.id, default=None)

    return Step(
        "note",
        send=send,
        dump=raw_of,
        load=Note.from_json,
        find=find,
        snapshot=snapshot,
        field_path=upstream_path(("input",)),
    )
