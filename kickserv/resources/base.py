"""What every resource shares: turning an endpoint and a record parser into calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from kickserv.errors import APIError, ResponseShape, is_missing_route, unsupported
from kickserv.pages import Page, Paginator, parse_page
from kickserv.records.record import Record
from kickserv.transport import Transport

T = TypeVar("T")
R = TypeVar("R", bound=Record)


def unwrap(data: object, wrapper: str) -> object:
    """A single record may come bare (``{"id": ...}``) or wrapped (``{"customer": {...}}``)."""
    if isinstance(data, Mapping) and "id" not in data and isinstance(data.get(wrapper), Mapping):
        return data[wrapper]
    return data


class Resource:
    """A group of endpoints; subclasses add one method per Kickserv endpoint and verb."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _paginate(
        self,
        endpoint: str,
        keys: tuple[str, ...],
        parse: Callable[[object], T],
        params: Mapping[str, object] | None = None,
        per_page: int | None = None,
        page_aliases: tuple[str, ...] = (),
        unconfirmed: str | None = None,
    ) -> Paginator[T]:
        """`page_aliases` name the page too (customers' `customers_page`): every name is sent, and
        an envelope that says it served another page than the one asked is refused, never read as
        the page asked for. `unconfirmed` is the route's pattern when the reference does not
        confirm it (see ``_unconfirmed``)."""
        transport = self._transport
        filters = dict(params or {})

        async def fetch(number: int, size: int | None) -> Page[T]:
            names = dict.fromkeys(("page", *page_aliases), number)
            query = {**filters, **names, "per_page": size}
            call = transport.request("GET", endpoint, params=query)
            body = await (call if unconfirmed is None else self._unconfirmed(unconfirmed, call))
            try:
                page = parse_page(body, keys, parse, asked_page=number, asked_per_page=size)
            except ResponseShape as exc:
                raise exc.at("GET", transport.prefix + endpoint) from None
            if isinstance(body, Mapping) and page.number != number:
                raise ResponseShape(
                    f"GET {transport.prefix}{endpoint} served page {page.number} when asked for "
                    f"page {number}: Kickserv ignored the page parameter.",
                    method="GET",
                    path=transport.prefix + endpoint,
                )
            return page

        return Paginator(fetch, per_page=per_page, lookahead=2 * transport.max_concurrency)

    async def _call(
        self,
        method: str,
        endpoint: str,
        wrapper: str,
        parse: Callable[[object], T],
        body: Mapping[str, object] | None = None,
        params: Mapping[str, object] | None = None,
    ) -> T:
        data = await self._transport.request(method, endpoint, params=params, body=body)
        return self._read(method, endpoint, data, wrapper, parse)

    async def _save(
        self,
        method: str,
        endpoint: str,
        wrapper: str,
        parse: Callable[[object], T],
        fields: Mapping[str, object],
        unconfirmed: str | None = None,
    ) -> T:
        """A create or update: `fields` go wrapped as Kickserv wants them (``{"vendor": {...}}``),
        and the answer (wrapped or bare) is parsed. `unconfirmed` as for ``_paginate``."""
        call = self._call(method, endpoint, wrapper, parse, {wrapper: fields})
        return await (call if unconfirmed is None else self._unconfirmed(unconfirmed, call))

    def _read(
        self, method: str, endpoint: str, data: object, wrapper: str, parse: Callable[[object], T]
    ) -> T:
        try:
            return parse(unwrap(data, wrapper))
        except ResponseShape as exc:
            raise exc.at(method, self._transport.prefix + endpoint) from None

    async def _unconfirmed(self, route: str, call: Awaitable[T]) -> T:
        """A call to a route the reference does not confirm (`route`, its pattern: "PUT
        /jobs/{n}/tags.json"): a 405, or a 404 that names no missing record, is UnsupportedRoute."""
        try:
            return await call
        except APIError as exc:
            if is_missing_route(exc):
                raise unsupported(exc, route) from None
            raise

    async def _send(
        self, method: str, endpoint: str, body: Mapping[str, object] | None = None
    ) -> Any:
        """A write whose answer we do not parse into a record (DELETE messages)."""
        return await self._transport.request(method, endpoint, body=body)

    async def _delete(self, endpoint: str, wrapper: str, parse: Callable[[object], T]) -> T | None:
        """DELETE answering the deleted record (or nothing, which gives None)."""
        data = await self._transport.request("DELETE", endpoint)
        if not data:
            return None
        return self._read("DELETE", endpoint, data, wrapper, parse)


class Keyed(Resource):
    """Records in URLs by a key, their number or (for records without one) their global id:
    ``{collection}/{key}.json``, and what hangs below one (``{collection}/{key}/notes.json``)."""

    collection: str  # the URL segment before the key: "customers"

    def _at(self, key: int) -> str:
        return f"{self.collection}/{key}.json"

    def _below(self, key: int, leaf: str) -> str:
        return f"{self.collection}/{key}/{leaf}"

    def _route_below(self, method: str, leaf: str) -> str:
        """The route's pattern as UnsupportedRoute names it: "GET /jobs/{n}/payments.json"."""
        return f"{method} /{self.collection}/{{n}}/{leaf}"

    def _listing_below(
        self,
        key: int,
        leaf: str,
        keys: tuple[str, ...],
        parse: Callable[[object], T],
        per_page: int | None,
        *,
        confirmed: bool = False,
    ) -> Paginator[T]:
        """A listing below one record; where the reference does not confirm it (not `confirmed`),
        UnsupportedRoute where Kickserv lacks it."""
        unconfirmed = None if confirmed else self._route_below("GET", leaf)
        endpoint = self._below(key, leaf)
        return self._paginate(endpoint, keys, parse, None, per_page, unconfirmed=unconfirmed)


class Records(Keyed, Generic[R]):
    """One kind of record, read one at a time at ``{collection}/{key}.json``, where Kickserv may
    answer it wrapped (``{"customer": {...}}``)."""

    wrapper: str  # the wrapping key: "customer"
    record: type[R]

    async def get(self, key: int, /) -> R:
        return await self._call("GET", self._at(key), self.wrapper, self.record.from_json)

    async def _create(self, fields: Mapping[str, object]) -> R:
        """POST ``{collection}.json``."""
        endpoint = f"{self.collection}.json"
        return await self._save("POST", endpoint, self.wrapper, self.record.from_json, fields)

    async def _remove(self, key: int) -> R | None:
        """DELETE answering the deleted record (None when Kickserv answered nothing)."""
        return await self._delete(self._at(key), self.wrapper, self.record.from_json)


class Editable(Records[R]):
    """Records changed by a PUT of their changed fields (several in one call)."""

    async def update(self, key: int, /, **fields: Any) -> R:
        return await self._save("PUT", self._at(key), self.wrapper, self.record.from_json, fields)
