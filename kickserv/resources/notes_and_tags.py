"""What customers and jobs both carry, behind the same endpoints under their numbers: notes, and
a tag set that Kickserv replaces wholesale."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kickserv.errors import ResponseShape
from kickserv.pages import Paginator
from kickserv.records import Note
from kickserv.records.jobs import tag_name
from kickserv.resources.base import Keyed


class NotesAndTags(Keyed):
    """The notes and tags of records in URLs by number (`/{collection}/{number}/notes.json`):
    customers or jobs."""

    def notes(self, number: int, *, per_page: int | None = None) -> Paginator[Note]:
        """Confirmed for customers; for jobs the URL is not (UnsupportedRoute where missing)."""
        confirmed = self.collection == "customers"
        return self._listing_below(
            number, "notes.json", ("notes",), Note.from_json, per_page, confirmed=confirmed
        )

    async def create_note(self, number: int, **fields: Any) -> Note:
        """Confirmed for customers; for jobs the reference does not confirm the URL
        (UnsupportedRoute where Kickserv lacks it)."""
        endpoint = self._below(number, "notes.json")
        route = None if self.collection == "customers" else self._route_below("POST", "notes.json")
        return await self._save("POST", endpoint, "note", Note.from_json, fields, route)

    async def tags(self, number: int) -> tuple[str, ...]:
        return await self._tags(number)

    async def replace_tags(self, number: int, tags: Iterable[str]) -> tuple[str, ...]:
        """Sets the full tag set (Kickserv's tags are wipe-and-replace) and returns it."""
        return await self._tags(number, list(tags))

    async def _tags(self, number: int, tags: list[str] | None = None) -> tuple[str, ...]:
        """GET or (with `tags`) PUT the full tag set."""
        endpoint = self._below(number, "tags.json")
        method = "GET" if tags is None else "PUT"
        body = None if tags is None else {"tags": tags}
        # Tags are wipe-and-replace (confirmed), but no source shows their URL.
        data = await self._unconfirmed(
            self._route_below(method, "tags.json"),
            self._transport.request(method, endpoint, body=body),
        )
        try:
            return parse_tags(data)
        except ResponseShape as exc:
            raise exc.at(method, self._transport.prefix + endpoint) from None


def parse_tags(data: object) -> tuple[str, ...]:
    if isinstance(data, Mapping):
        data = data.get("tags", data.get("tag_list"))
    if isinstance(data, str):  # Rails' acts-as-taggable "a, b" form
        return tuple(t.strip() for t in data.split(",") if t.strip())
    if not isinstance(data, list):
        raise ResponseShape("a tag answer should be a list of tags or {'tags': [...]}.")
    return tuple(tag_name(t) for t in data)
