"""/customers.json and what hangs off a customer number: notes, jobs, tags."""

from __future__ import annotations

from typing import Any

from kickserv.pages import Paginator
from kickserv.records import Customer, Job
from kickserv.resources.base import Editable
from kickserv.resources.notes_and_tags import NotesAndTags


class Customers(NotesAndTags, Editable[Customer]):
    """Customers by `customer_number` (the number in URLs, not the global id)."""

    collection = "customers"
    wrapper = "customer"
    record = Customer

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

    async def create(self, **fields: Any) -> Customer:
        """Kickserv assigns the customer_number; one sent here is ignored. The reference finds this
        route "very likely" (v1 had it) without showing it: UnsupportedRoute where it is missing."""
        return await self._unconfirmed("POST /customers.json", self._create(fields))

    async def delete(self, customer_number: int) -> None:
        """Kickserv answers a message, not the record."""
        await self._send("DELETE", self._at(customer_number))

    def jobs(self, customer_number: int, *, per_page: int | None = None) -> Paginator[Job]:
        """The reference confirms POST on this URL and guesses GET (UnsupportedRoute if not)."""
        return self._listing_below(customer_number, "jobs.json", ("jobs",), Job.from_json, per_page)

    async def create_job(self, customer_number: int, **fields: Any) -> Job:
        endpoint = self._below(customer_number, "jobs.json")
        return await self._save("POST", endpoint, "job", Job.from_json, fields)
