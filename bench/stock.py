"""The reference: stock Strawberry serving the same schema shape, written the usual way.

What a developer gets with Strawberry's own ASGI view and resolvers that call Kickserv directly: one
REST call per field that needs data, no loaders, no shared cache, stdlib JSON. It covers the fields of
the dashboard and small-query scenarios (the ones compared against it) with the same names and the
same answers as our server.
"""

from __future__ import annotations

from typing import Any

import httpx
import strawberry
from strawberry.asgi import GraphQL
from strawberry.types import Info

AUTH = ("demo-token", "demo-token")


async def _get(info: Info[Any, Any], path: str, **params: Any) -> Any:
    """One Kickserv read; with a cache (``create_app(cached=True)``), each URL is read once."""
    cache: dict[str, Any] | None = info.context["cache"]
    key = f"{path}?{sorted(params.items())}"
    if cache is not None and key in cache:
        return cache[key]
    client: httpx.AsyncClient = info.context["client"]
    response = await client.get(f"{info.context['api_url']}{path}", params=params, auth=AUTH)
    response.raise_for_status()
    body = response.json()
    if cache is not None:
        cache[key] = body
    return body


@strawberry.type
class Address:
    line1: str | None
    city: str | None
    state: str | None
    zip: str | None


def _address(raw: dict[str, Any]) -> Address:
    return Address(
        line1=raw.get("service_address"),
        city=raw.get("service_city"),
        state=raw.get("service_state"),
        zip=raw.get("service_zip_code"),
    )


@strawberry.type
class Employee:
    id: strawberry.ID
    number: int | None
    name: str | None


@strawberry.type
class Task:
    id: strawberry.ID
    description: str | None
    starts_at: str | None
    ends_at: str | None
    raw: strawberry.Private[dict[str, Any]]

    @strawberry.field
    def assignees(self) -> list[Employee]:
        return [
            Employee(
                id=strawberry.ID(str(e["id"])), number=e.get("employee_number"), name=e.get("name")
            )
            for e in self.raw.get("employees") or ()
        ]


@strawberry.type
class Job:
    id: strawberry.ID
    number: int
    name: str | None
    status: str | None
    scheduled_on: str | None

    @strawberry.field
    async def tasks(self, info: Info[Any, Any]) -> list[Task]:
        body = await _get(info, "/tasks.json", job_id=self.id, per_page=100)
        return [
            Task(
                id=strawberry.ID(str(t["id"])),
                description=t.get("description"),
                starts_at=t.get("starts_at"),
                ends_at=t.get("ends_at"),
                raw=t,
            )
            for t in body["tasks"]
        ]


@strawberry.type
class JobConnection:
    total_count: int
    nodes: list[Job]


@strawberry.type
class Location:
    id: strawberry.ID
    name: str
    is_primary: bool
    address: Address


@strawberry.type
class Customer:
    id: strawberry.ID
    number: int
    name: str
    email: str | None
    phone: str | None
    balance: str | None
    raw: strawberry.Private[dict[str, Any]]

    @strawberry.field
    async def locations(self, info: Info[Any, Any]) -> list[Location]:
        found = [Location(id=self.id, name=self.name, is_primary=True, address=_address(self.raw))]
        for child in self.raw.get("children") or ():
            body = await _get(info, f"/customers/{child['customer_number']}.json")
            record = body.get("customer", body)
            found.append(
                Location(
                    id=strawberry.ID(str(record["id"])),
                    name=record["name"],
                    is_primary=False,
                    address=_address(record),
                )
            )
        return found

    @strawberry.field
    async def jobs(self, info: Info[Any, Any], first: int = 25) -> JobConnection:
        body = await _get(info, f"/customers/{self.number}/jobs.json", per_page=first)
        return JobConnection(
            total_count=body["total_entries"],
            nodes=[
                Job(
                    id=strawberry.ID(str(j["id"])),
                    number=j["job_number"],
                    name=j.get("name"),
                    status=j.get("status"),
                    scheduled_on=j.get("scheduled_on"),
                )
                for j in body["jobs"]
            ],
        )


def _customer(raw: dict[str, Any]) -> Customer:
    return Customer(
        id=strawberry.ID(str(raw["id"])),
        number=raw["customer_number"],
        name=raw["name"],
        email=raw.get("email_address"),
        phone=raw.get("phone_number"),
        balance=raw.get("balance"),
        raw=raw,
    )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type
class CustomerConnection:
    total_count: int
    page_info: PageInfo
    edges: list[CustomerEdge]
    nodes: list[Customer]


@strawberry.type
class Query:
    @strawberry.field
    async def customers(self, info: Info[Any, Any], first: int = 25) -> CustomerConnection:
        body = await _get(info, "/customers.json", per_page=first, page=1)
        nodes = [_customer(c) for c in body["customers"]]
        return CustomerConnection(
            total_count=body["total_entries"],
            page_info=PageInfo(has_next_page=body["total_entries"] > len(nodes), end_cursor=None),
            edges=[CustomerEdge(cursor=str(i), node=n) for i, n in enumerate(nodes)],
            nodes=nodes,
        )


def create_app(upstream_base_url: str, cached: bool = False) -> Any:
    """Strawberry's ASGI app; the one httpx client lives on it (created lazily, inside the loop).
    ``cached``: the usual next step, Kickserv's answers kept in a dict by URL after the first read
    (stock Strawberry with a cache); the GraphQL execution stays Strawberry's own, every request."""

    class StockApp(GraphQL[Any, Any]):
        api_url = f"{upstream_base_url}/demo/api/v2"
        _client: httpx.AsyncClient | None = None
        _cache: dict[str, Any] | None = {} if cached else None

        async def get_context(self, request: Any, response: Any) -> Any:
            if self._client is None:
                self._client = httpx.AsyncClient(
                    timeout=30.0, limits=httpx.Limits(max_connections=100)
                )
            return {
                "request": request,
                "client": self._client,
                "api_url": self.api_url,
                "cache": self._cache,
            }

    return StockApp(strawberry.Schema(query=Query), graphql_ide=None)
