"""/opportunities.json: jobs in new/sent/viewed/won/lost, and marking them won or lost."""

from __future__ import annotations

from typing import Any

from kickserv.pages import Paginator
from kickserv.records import Opportunity
from kickserv.resources.base import Resource


class Opportunities(Resource):
    """Opportunities by number (an opportunity's number is its job_number)."""

    def list(
        self,
        *,
        status: str | None = None,
        job_type_id: int | None = None,
        per_page: int | None = None,
    ) -> Paginator[Opportunity]:
        """Newest first. Kickserv ignores a `customer_number` filter here, so none is offered."""
        filters = {"status": status, "job_type_id": job_type_id}
        return self._paginate(
            "opportunities.json",
            ("opportunities", "jobs"),
            Opportunity.from_json,
            filters,
            per_page,
        )

    async def create(self, customer_number: int, **fields: Any) -> Opportunity:
        """POST /opportunities.json, `customer_number` beside the opportunity like jobs. (Kickserv
        also suggests creating a job and PUTting status "new": `ks.jobs.update`.)"""
        body = {"opportunity": fields, "customer_number": customer_number}
        return await self._call(
            "POST", "opportunities.json", "opportunity", Opportunity.from_json, body
        )

    async def mark_as_won(self, number: int) -> Opportunity:
        return await self._call(
            "PUT", f"opportunities/{number}/mark_as_won.json", "opportunity", Opportunity.from_json
        )

    async def mark_as_lost(self, number: int) -> Opportunity:
        return await self._call(
            "PUT", f"opportunities/{number}/mark_as_lost.json", "opportunity", Opportunity.from_json
        )
