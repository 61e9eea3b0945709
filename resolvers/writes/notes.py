"""Notes on customers and jobs. Kickserv cannot edit a note, so no marker is written into one: a
note whose POST had an unknown outcome is found by before-image (a note that was not there before,
with the same text)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kickserv import Note
from resolvers.writes.steps import Step, created_step
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
    return created_step(
        "note",
        send,
        Note.from_json,
        listing,
        lambda n: n.body == text,
        field_path=upstream_path(("input",)),
    )
