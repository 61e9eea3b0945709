"""Notes and tags: customers and jobs both carry them, behind the same two endpoints
(`/customers/{number}/notes.json` and `/jobs/{number}/notes.json`, tags likewise)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox import shapes
from sandbox.context import Api, ok
from sandbox.data import Customer, Job, Note
from sandbox.envelopes import paginate
from sandbox.forms import Form


def notes_and_tags_routes(
    collection: str, owner_at: Callable[[Api, int], Customer | Job], kind: str
) -> list[Route]:
    """`/{collection}/{number}/notes.json` (GET, POST) and `.../tags.json` (GET, PUT) of the
    record `owner_at(api, number)` finds; `kind` is what its notes give as noteable_type."""

    async def notes(request: Request) -> JSONResponse:
        """GET lists the record's notes; POST adds one."""
        api = Api(request)
        owner = owner_at(api, api.path_int("number"))
        if request.method == "POST":
            if kind == "Job":  # customer notes' POST is confirmed; job notes' URL is not
                api.unconfirmed_write()
            note = _add_note(api, await api.sent_record("note"), kind, owner.id)
            owner.note_ids.append(note.id)
            return ok(shapes.note(api.store, note))
        notes = [api.store.notes[n] for n in owner.note_ids]
        return ok(paginate("notes", notes, api.page(), lambda n: shapes.note(api.store, n)))

    async def tags(request: Request) -> JSONResponse:
        """GET answers the record's tags; PUT replaces them."""
        api = Api(request)
        owner = owner_at(api, api.path_int("number"))
        if request.method == "PUT":
            api.unconfirmed_write()
            owner.tags = _read_tags(await api.payload())
            owner.updated_at = api.now()
        return ok({"tags": list(owner.tags)})

    return [
        Route(f"/{collection}/{{number:int}}/notes.json", notes, methods=["GET", "POST"]),
        Route(f"/{collection}/{{number:int}}/tags.json", tags, methods=["GET", "PUT"]),
    ]


def _add_note(api: Api, data: Any, kind: str, owner_id: int) -> Note:
    form = Form(data)
    text = form.text("body", required=True)
    public = form.boolean("public")
    form.check()
    note = Note(
        api.store.new_id(), kind, owner_id, text or "", bool(public), api.employee.id, api.now()
    )
    api.store.notes[note.id] = note
    return note


def _read_tags(body: dict[str, object]) -> list[str]:
    """Tags are replaced wholesale by the PUT's list (duplicates and blanks dropped)."""
    form = Form(body)
    tags = body.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        form.fail("tags", "must be a list of names")
        form.check()
    assert isinstance(tags, list)
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))
