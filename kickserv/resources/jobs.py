"""/jobs.json and what hangs off a job number: charges, notes, payments, tags."""

from __future__ import annotations

from typing import Any

from kickserv.pages import Paginator
from kickserv.records import Job, JobCharge, Payment, Task
from kickserv.resources.base import Editable
from kickserv.resources.notes_and_tags import NotesAndTags


class Jobs(NotesAndTags, Editable[Job]):
    """Jobs by `job_number` (the number in URLs, not the global id). One `update` PUTs several
    changes; `status="new"` turns a job into an opportunity. `get` answers a job (or opportunity)
    with its customer glue, charges, payments, payment request, tags and notes."""

    collection = "jobs"
    wrapper = "job"
    record = Job

    def list(
        self,
        *,
        job_type_id: int | None = None,
        scheduled: str | None = None,
        status: str | None = None,
        per_page: int | None = None,
    ) -> Paginator[Job]:
        """Jobs, newest job_number first. `scheduled` is one of today, tomorrow, this_week,
        next_week, last_week, this_month, next_month, last_month. `status` is not documented for
        /jobs.json: Kickserv may ignore it (the graph checks what comes back, resolvers/verify)."""
        filters = {"job_type_id": job_type_id, "scheduled": scheduled, "status": status}
        return self._paginate("jobs.json", ("jobs",), Job.from_json, filters, per_page)

    async def create(self, customer_number: int, **fields: Any) -> Job:
        """Kickserv wants `customer_number` beside the job, not in it; `job_type_id` is required.
        Charges cannot be sent here: add them with `create_charge`."""
        body = {"job": fields, "customer_number": customer_number}
        return await self._call("POST", "jobs.json", "job", Job.from_json, body)

    def charges(self, job_number: int, *, per_page: int | None = None) -> Paginator[JobCharge]:
        # The reference confirms POST on this URL, not GET (UnsupportedRoute where it is missing).
        return self._listing_below(
            job_number,
            "job_charges.json",
            ("job_charges", "charges"),
            JobCharge.from_json,
            per_page,
        )

    async def create_charge(self, job_number: int, **fields: Any) -> JobCharge:
        endpoint = self._below(job_number, "job_charges.json")
        return await self._save("POST", endpoint, "job_charge", JobCharge.from_json, fields)

    async def update_charge(self, job_number: int, charge_id: int, **fields: Any) -> JobCharge:
        """The reference does not confirm this URL: UnsupportedRoute where Kickserv lacks it."""
        endpoint = f"jobs/{job_number}/job_charges/{charge_id}.json"
        route = "PUT /jobs/{n}/job_charges/{id}.json"
        return await self._save("PUT", endpoint, "job_charge", JobCharge.from_json, fields, route)

    async def delete_charge(self, job_number: int, charge_id: int) -> JobCharge | None:
        """Answers the deleted charge when Kickserv sends it back. The reference does not confirm
        this URL: UnsupportedRoute where Kickserv lacks it."""
        return await self._unconfirmed(
            "DELETE /jobs/{n}/job_charges/{id}.json",
            self._delete(
                f"jobs/{job_number}/job_charges/{charge_id}.json", "job_charge", JobCharge.from_json
            ),
        )

    def tasks(self, job_number: int, *, per_page: int | None = None) -> Paginator[Task]:
        """The job's tasks by starts_at (create them with `ks.tasks.create_for_job`)."""
        return self._listing_below(
            job_number, "tasks.json", ("tasks",), Task.from_json, per_page, confirmed=True
        )

    def payments(self, job_number: int, *, per_page: int | None = None) -> Paginator[Payment]:
        # Named by the reference ("see /jobs/{id}/payments.json"), never shown answering.
        return self._listing_below(
            job_number, "payments.json", ("payments",), Payment.from_json, per_page
        )

    async def create_payment(self, job_number: int, **fields: Any) -> Payment:
        """Records a payment against this job (the job is known only through this URL). The
        reference does not confirm this URL: UnsupportedRoute where Kickserv lacks it."""
        endpoint = self._below(job_number, "payments.json")
        route = "POST /jobs/{n}/payments.json"
        return await self._save("POST", endpoint, "payment", Payment.from_json, fields, route)
