"""Turning a job into an invoice, and checking Kickserv's totals against an exact sum.

Kickserv keeps invoices as jobs with invoice fields, so invoicing is one PUT of ``invoice_date``,
``invoice_terms``, ``invoice_notes`` (and optionally ``invoice_status`` and the tax rate): absolute
values, safe to send twice. The answer's totals are then recomputed with ``Decimal`` from the
job's charges (line = quantity x price - discount, rounded to the cent; tax on taxable lines at
the job's ``sales_tax_percentage``, rounded once) and must equal Kickserv's to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kickserv import Job
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.errors import TotalsMismatch
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, raw_of, record_step
from resolvers.writes.validation import Checks, upstream_path

CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class InvoiceSpec:
    invoice_date: date | None = None  # None: today (UTC), pinned on the first attempt
    terms: str | None = None
    notes: str | None = None
    status: str | None = None  # "paid" | "unpaid"; None lets Kickserv derive it from the balance
    tax_rate: Decimal | None = None  # percent, e.g. 8.25


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    balance_remaining: Decimal

    def as_json(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in self.__slots__}


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def exact_totals(job: Job) -> Totals:
    """What the job's charges and payments add up to, exactly."""
    rate = Decimal(str(job.raw.get("sales_tax_percentage") or "0"))
    subtotal = taxable = ZERO
    for charge in job.job_charges or ():
        quantity = charge.quantity if charge.quantity is not None else Decimal(1)
        line = cents(quantity * (charge.price_per_unit or ZERO) - (charge.discount or ZERO))
        subtotal += line
        if charge.raw.get("taxable"):
            taxable += line
    tax = cents(taxable * rate / 100)
    total = subtotal + tax
    paid = sum((p.amount for p in job.payments or ()), ZERO)
    return Totals(subtotal, tax, total, total - paid)


def kickserv_totals(job: Job) -> Totals:
    return Totals(
        job.subtotal or ZERO, job.tax or ZERO, job.total or ZERO, job.balance_remaining or ZERO
    )


def check_totals(job: Job) -> Totals:
    """Kickserv's totals, if they equal the exact sum; a recorded TotalsMismatch otherwise."""
    computed, answered = exact_totals(job), kickserv_totals(job)
    if computed != answered:
        raise TotalsMismatch(
            f"Job {job.job_number} was invoiced, but Kickserv's totals differ from the sum of its "
            "line items; check its charges and tax rate in Kickserv.",
            {
                "invoiceId": str(job.id),
                "computed": computed.as_json(),
                "kickserv": answered.as_json(),
            },
        )
    return answered


async def invoice_job(scope: WriteScope, job_number: int, spec: InvoiceSpec) -> Job:
    checks = Checks()
    terms = checks.text(("input", "terms"), spec.terms)
    notes = checks.text(("input", "notes"), spec.notes)
    if spec.status is not None and spec.status not in ("paid", "unpaid"):
        checks.fail(("input", "status"), "must be paid or unpaid")
    checks.amount(("input", "taxRate"), spec.tax_rate)
    if spec.tax_rate is not None and spec.tax_rate.is_finite() and spec.tax_rate > 100:
        checks.fail(("input", "taxRate"), "must be a percentage, at most 100")
    checks.done()

    async def body(saga: Saga) -> Job:
        async def today() -> str:
            return datetime.now(UTC).date().isoformat()

        day = (
            spec.invoice_date.isoformat()
            if spec.invoice_date
            else await saga.remember("invoice_date", today)
        )
        fields: dict[str, Any] = {"invoice_date": day}
        if terms is not None:
            fields["invoice_terms"] = terms
        if notes is not None:
            fields["invoice_notes"] = notes
        if spec.status is not None:
            fields["invoice_status"] = spec.status
        if spec.tax_rate is not None:
            fields["sales_tax_percentage"] = spec.tax_rate
        renames = {"invoice_terms": "terms", "invoice_notes": "notes", "invoice_status": "status",
                   "sales_tax_percentage": "tax_rate"}  # fmt: skip
        job = await saga.run(
            record_step(
                "invoice",
                lambda: scope.ks.jobs.update(job_number, **fields),
                Job.from_json,
                field_path=upstream_path(("input",), renames),
            )
        )
        if job.job_charges is None:  # a Kickserv that answers the PUT without its charges
            job = await scope.ks.jobs.get(job_number)
        await invalidation.job_saved(scope, job, Change.JOB_MONEY)
        check_totals(job)
        return job

    payload = {
        "job": job_number, "date": spec.invoice_date, "terms": terms, "notes": notes,
        "status": spec.status, "tax_rate": spec.tax_rate,
    }  # fmt: skip
    return await scope.run("invoiceJob", payload, body, raw_of, Job.from_json)
