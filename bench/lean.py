"""A lean graphql-core handler: the least a Python GraphQL server over Kickserv can do per request.

A bare ASGI app (no framework), orjson, graphql-core's own ``execute`` on a schema built from SDL
with default resolvers over plain dicts, documents parsed and validated once per distinct query,
and every Kickserv answer kept in a dict after its first read (the same upstream calls per first
read as stock Strawberry). It serves the dashboard and small queries with the same field names and
answers as our server (the bench checks), so the warm small query compares our execution path with
the leanest one over the same data, without a response cache on either side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)

AUTH = ("demo-token", "demo-token")

SDL = """
type Query { customers(first: Int = 25): CustomerConnection! }
type CustomerConnection {
  totalCount: Int!
  pageInfo: PageInfo!
  edges: [CustomerEdge!]!
  nodes: [Customer!]!
}
type PageInfo { hasNextPage: Boolean! endCursor: String }
type CustomerEdge { cursor: String! node: Customer! }
type Customer {
  id: ID!
  number: Int!
  name: String!
  email: String
  phone: String
  balance: String
  locations: [Location!]!
  jobs(first: Int = 25): JobConnection!
}
type Location { id: ID! name: String! isPrimary: Boolean! address: Address! }
type Address { line1: String city: String state: String zip: String }
type JobConnection { totalCount: Int! nodes: [Job!]! }
type Job {
  id: ID!
  number: Int!
  name: String
  status: String
  scheduledOn: String
  tasks: [Task!]!
}
type Task {
  id: ID!
  description: String
  startsAt: String
  endsAt: String
  assignees: [Employee!]!
}
type Employee { id: ID! number: Int name: String }
"""

Fetch = Callable[[str, dict[str, Any]], Awaitable[Any]]


def address(raw: dict[str, Any]) -> dict[str, Any]:
    """A Kickserv record's service address as our schema's Address."""
    return {
        "line1": raw.get("service_address"),
        "city": raw.get("service_city"),
        "state": raw.get("service_state"),
        "zip": raw.get("service_zip_code"),
    }


def task(raw: dict[str, Any]) -> dict[str, Any]:
    """A Kickserv task as our schema's Task (assignees from its glue), ids as strings."""
    return {
        "id": str(raw["id"]),
        "description": raw.get("description"),
        "startsAt": raw.get("starts_at"),
        "endsAt": raw.get("ends_at"),
        "assignees": [
            {"id": str(e["id"]), "number": e.get("employee_number"), "name": e.get("name")}
            for e in raw.get("employees") or ()
        ],
    }


def _customer(raw: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    async def locations(info: Any) -> list[dict[str, Any]]:
        found = [{"id": raw["id"], "name": raw["name"], "isPrimary": True, "address": address(raw)}]
        for child in raw.get("children") or ():
            body = await fetch(f"/customers/{child['customer_number']}.json", {})
            record = body.get("customer", body)
            found.append(
                {
                    "id": record["id"],
                    "name": record["name"],
                    "isPrimary": False,
                    "address": address(record),
                }
            )
        return found

    async def jobs(info: Any, first: int = 25) -> dict[str, Any]:
        body = await fetch(f"/customers/{raw['customer_number']}/jobs.json", {"per_page": first})
        return {
            "totalCount": body["total_entries"],
            "nodes": [_job(j, fetch) for j in body["jobs"]],
        }

    return {
        "id": raw["id"],
        "number": raw["customer_number"],
        "name": raw["name"],
        "email": raw.get("email_address"),
        "phone": raw.get("phone_number"),
        "balance": raw.get("balance"),
        "locations": locations,
        "jobs": jobs,
    }


def _job(raw: dict[str, Any], fetch: Fetch) -> dict[str, Any]:
    async def tasks(info: Any) -> list[dict[str, Any]]:
        body = await fetch("/tasks.json", {"job_id": raw["id"], "per_page": 100})
        return [task(t) for t in body["tasks"]]

    return {
        "id": raw["id"],
        "number": raw["job_number"],
        "name": raw.get("name"),
        "status": raw.get("status"),
        "scheduledOn": raw.get("scheduled_on"),
        "tasks": tasks,
    }


class LeanApp:
    """The ASGI app. Kickserv answers are kept by URL after their first read."""

    def __init__(self, upstream_base_url: str) -> None:
        self.api_url = f"{upstream_base_url}/demo/api/v2"
        self.schema: GraphQLSchema = build_schema(SDL)
        self.documents: dict[str, DocumentNode | list[GraphQLError]] = {}
        self.upstream: dict[str, Any] = {}
        self.client: httpx.AsyncClient | None = None

    async def fetch(self, path: str, params: dict[str, Any]) -> Any:
        key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items()))
        if key not in self.upstream:
            if self.client is None:
                self.client = httpx.AsyncClient(timeout=30.0)
            response = await self.client.get(self.api_url + path, params=params, auth=AUTH)
            response.raise_for_status()
            self.upstream[key] = orjson.loads(response.content)
        return self.upstream[key]

    async def customers(self, info: Any, first: int = 25) -> dict[str, Any]:
        body = await self.fetch("/customers.json", {"page": 1, "per_page": first})
        nodes = [_customer(c, self.fetch) for c in body["customers"]]
        return {
            "totalCount": body["total_entries"],
            "pageInfo": {"hasNextPage": body["total_entries"] > len(nodes), "endCursor": None},
            "edges": [{"cursor": str(i), "node": n} for i, n in enumerate(nodes)],
            "nodes": nodes,
        }

    def document(self, query: str) -> DocumentNode | list[GraphQLError]:
        found = self.documents.get(query)
        if found is None:
            try:
                document = parse(query)
            except GraphQLError as error:
                return [error]
            errors = validate(self.schema, document)
            found = self.documents[query] = errors or document
        return found

    async def answer(self, body: bytes) -> dict[str, Any]:
        request = orjson.loads(body)
        document = self.document(request["query"])
        if isinstance(document, list):
            return {"errors": [e.formatted for e in document]}
        result = execute(
            self.schema,
            document,
            root_value={"customers": self.customers},
            variable_values=request.get("variables"),
        )
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        out: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
        if result.errors:  # type: ignore[union-attr]
            out["errors"] = [e.formatted for e in result.errors]  # type: ignore[union-attr]
        return out

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        payload = orjson.dumps(await self.answer(b"".join(chunks))) if chunks[0] else b"{}"
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


def create_app(upstream_base_url: str) -> LeanApp:
    return LeanApp(upstream_base_url)
