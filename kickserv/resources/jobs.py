"""/jobs.json and what hangs off a job number: charges, notes, payments, tags."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kickserv.pages import Paginator
from kickserv.records import Job, JobCharge, Note, Payment, Task
from kickserv.resources.base import Resource


class Jobs(Resource):
    """Jobs by `job_number` (the number in URLs, not the global id)."""

    def list(
        self,
        *,
        job_type_id: int | None = None,
        scheduled: str | None = None,
        status: str | None = None,
        per_page: int | None = None,
    ) -> Paginator[Job]:
        """Jobs, newest job_number first. `scheduled` is one of today, tomorrow, this_week,
        next_week, last_week, this_month, next_month, last_month."""
        filters = {"job_type_id": job_type_id, "scheduled": scheduled, "status": status}
        return self._paginate("jobs.json", ("jobs",), Job.from_json, filters, per_page)

    async def get(self, job_number: int) -> Job:
        """One job (or opportunity) with its customer glue, charges, payments, payment request,
        tags and notes."""
        return await self._call("GET", f"jobs/{job_number}.json", "job", Job.from_json)

    async def create(self, customer_number: int, **fields: Any) -> Job:
        """Kickserv wants `customer_number` beside the job, not in it; `job_type_id` is required.
        Charges cannot be sent here: add them with `create_charge`."""
        body = {"job": fields, "customer_number": customer_number}
        return await self._call("POST", "jobs.json", "job", Job.from_json, body)

    async def update(self, job_number: int, **fields: Any) -> Job:
        """Several changes in one PUT; `status="new"` turns a job into an opportunity."""
        return await self._save("PUT", f"jobs/{job_number}.json", "job", Job.from_json, fields)

    def charges(self, job_number: int, *, per_page: int | None = None) -> Paginator[JobCharge]:
        return self._paginate(
            f"jobs/{job_number}/job_charges.json",
            ("job_charges", "charges"),
            JobCharge.from_json,
            None,
            per_page,
        )

    async def create_charge(self, job_number: int, **fields: Any) -> JobCharge:
        return await self._save(
            "POST", f"jobs/{job_number}/job_charges.json", "job_charge", JobCharge.from_json, fields
        )

    async def update_charge(self, job_number: int, charge_id: int, **fields: Any) -> JobCharge:
        return await self._save(
            "PUT",
            f"jobs/{job_number}/job_charges/{charge_id}.json",
            "job_charge",
            JobCharge.from_json,
            fields,
        )

    async def delete_charge(self, job_number: int, charge_id: int) -> JobCharge | None:
        """Answers the deleted charge when Kickserv sends it back."""
        return await self._delete(
            f"jobs/{job_number}/job_charges/{charge_id}.json", "job_charge", JobCharge.from_json
        )

    def tasks(self, job_number: int, *, per_page: int | None = None) -> Paginator[Task]:
        """The job's tasks by starts_at (create them with `ks.tasks.create_for_job`)."""
        return self._paginate(
            f"jobs/{job_number}/tasks.json", ("tasks",), Task.from_json, None, per_page
        )

    def notes(self, job_number: int, *, per_page: int | None = None) -> Paginator[Note]:
        return self._paginate(
            f"jobs/{job_number}/notes.json", ("notes",), Note.from_json, None, per_page
        )

    async def create_note(self, job_number: int, **fields: Any) -> Note:
        return await self._save(
            "POST", f"jobs/{job_number}/notes.json", "note", Note.from_json, fields
        )

    def payments(self, job_number: int, *, per_page: int | None = None) -> Paginator[Payment]:
        return self._paginate(
            f"jobs/{job_number}/payments.json", ("payments",), Payment.from_json, None, per_page
        )

    async def create_payment(self, job_number: int, **fields: Any) -> Payment:
        """Records a payment against this job (the job is known only through this URL)."""
        return await self._save(
            "POST", f"jobs/{job_number}/payments.json", "payment", Payment.from_json, fields
        )

    async def tags(self, job_number: int) -> tuple[str, ...]:
        return await self._tags(f"jobs/{job_number}/tags.json")

    async def replace_tags(self, job_number: int, tags: Iterable[str]) -> tuple[str, ...]:
        """Sets the full tag set (Kickserv's tags are wipe-and-replace) and returns it."""
        return await self._tags(f"jobs/{job_number}/tags.json", list(tags))
