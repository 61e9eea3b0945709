"""/customers.json and what hangs off a customer number: notes, jobs, tags."""

from __future__ import annotations

from typing import Any

from kickserv.pages import Paginator
from kickserv.records import Customer, Job
from kickserv.resources.notes_and_tags import NotesAndTags


class Customers(NotesAndTags):
    """Customers by `customer_number` (the number in URLs, not the global id)."""

    collection = "customers"

    def list(
        self,
        *,
        customer_number: int | None = None,
        name: str | None = None,
        service_address: str | None = None,
        service_state: str | None = None,
        customer_source_id: int | None = None,
        begins_with: str | None = None,
        q: str | None = None,
        per_page: int | None = None,
    ) -> Paginator[Customer]:
        """Customers by customer_number ascending. Filters are exact matches except `q` (substring
        of the name) and `begins_with` (first letter)."""
        filters = {
            "customer_number": customer_number,
            "name": name,
            "service_address": service_address,
            "service_state": service_state,
            "customer_source_id": customer_source_id,
            "begins_with": begins_with,
            "q": q,
        }
        # The only paging example names the page `customers_page`: both names are sent.
        return self._paginate(
            "customers.json",
            ("customers",),
            Customer.from_json,
            filters,
            per_page,
            page_aliases=("customers_page",),
        )

    async def get(self, customer_number: int) -> Customer:
        return await self._call(
            "GET", f"customers/{customer_number}.json", "customer", Customer.from_json
        )

    async def create(self, **fields: Any) -> Customer:
        """Kickserv assigns the customer_number; one sent here is ignored. The reference finds this
        route "very likely" (v1 had it) without showing it: UnsupportedRoute where it is missing."""
        return await self._unconfirmed(
            "POST /customers.json",
            self._save("POST", "customers.json", "customer", Customer.from_json, fields),
        )

    async def update(self, customer_number: int, **fields: Any) -> Customer:
        return await self._save(
            "PUT", f"customers/{customer_number}.json", "customer", Customer.from_json, fields
        )

    async def delete(self, customer_number: int) -> None:
        """Kickserv answers a message, not the record."""
        await self._send("DELETE", f"customers/{customer_number}.json")

    def jobs(self, customer_number: int, *, per_page: int | None = None) -> Paginator[Job]:
        """The reference confirms POST on this URL and guesses GET (UnsupportedRoute if not)."""
        return self._paginate(
            f"customers/{customer_number}/jobs.json",
            ("jobs",),
            Job.from_json,
            None,
            per_page,
            unconfirmed="GET /customers/{n}/jobs.json",
        )

    async def create_job(self, customer_number: int, **fields: Any) -> Job:
        return await self._save(
            "POST", f"customers/{customer_number}/jobs.json", "job", Job.from_json, fields
        )
