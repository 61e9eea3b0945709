"""Reading `page`/`per_page` from a request and cutting one page out of a list.

The envelope shapes themselves are choices (sandbox/choices.py); this module only feeds them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from sandbox import choices
from sandbox.fragments import encode

T = TypeVar("T")
JsonObject = dict[str, Any]
EnvelopeBuilder = Callable[[str, list[JsonObject], choices.PagePlace], JsonObject]


@dataclass(frozen=True)
class PageRequest:
    page: int
    per_page: int

    def cut(self, records: Sequence[T]) -> Sequence[T]:
        start = (self.page - 1) * self.per_page
        return records[start : start + self.per_page]


def _positive_int(raw: str | None) -> int | None:
    try:
        value = int(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and value > 0 else None


def page_request(
    request: Request, max_per_page: int, aliases: Sequence[str] = (), plain_page: bool = True
) -> PageRequest:
    """Unreadable or non-positive values fall back to the defaults; per_page above the maximum is
    clamped silently (the envelope then reports the clamped value). Without `plain_page` only the
    aliases name the page."""
    params = request.query_params
    page = _positive_int(params.get("page")) if plain_page else None
    for alias in aliases:
        page = page or _positive_int(params.get(alias))
    per_page = _positive_int(params.get("per_page")) or choices.DEFAULT_PER_PAGE
    return PageRequest(page or 1, min(per_page, max_per_page))


def paginate(
    plural: str,
    records: Sequence[T],
    paging: PageRequest,
    render: Callable[[T], JsonObject],
    envelope: EnvelopeBuilder = choices.will_paginate_envelope,
) -> JsonObject:
    entries = [render(record) for record in paging.cut(records)]
    return envelope(plural, entries, choices.page_place(paging.page, paging.per_page, len(records)))


def encoded_page(
    plural: str,
    records: Sequence[T],
    paging: PageRequest,
    entry: Callable[[T], bytes],
    envelope: EnvelopeBuilder = choices.will_paginate_envelope,
    extra: JsonObject | None = None,
) -> Response:
    """``ok(paginate(...))`` (plus ``extra`` keys after the envelope's), byte for byte, from
    entries already encoded (sandbox/fragments.py): the envelope is encoded around no entries, and
    they go into its list, the first key of every envelope."""
    at = choices.page_place(paging.page, paging.per_page, len(records))
    around = encode({**envelope(plural, [], at), **(extra or {})})
    opening = "{" + encode(plural) + ":["
    assert around.startswith(opening + "]"), around  # the entries' list comes first
    entries = b",".join([entry(record) for record in paging.cut(records)])
    body = b"".join((opening.encode(), entries, around[len(opening) :].encode()))
    return Response(body, media_type="application/json")
