"""Turning a job into an invoice, and checking Kickserv's totals against an exact sum.

Kickserv keeps invoices as jobs with invoice fields, so invoicing is one PUT of ``invoice_date``,
``invoice_terms``, ``invoice_notes`` (and optionally ``invoice_status`` and the tax rate): absolute
values, safe to send twice. The answer's totals are then recomputed with ``Decimal`` from the
job's charges (line = quantity x price - discount, rounded to the cent; tax on taxable lines at
the job's ``sales_tax_percentage``, rounded once) and must equal Kickserv's to the cent.

What the check relies on, and what it does not. The charges' quantity, price and discount, the job's
subtotal, tax and balance remaining, and the payments' amounts are confirmed keys. A charge's
``taxable`` is not: the reference never shows it. When every charge says whether it is taxable, the
tax is checked to the cent; when some do not, the tax is only known to lie between the tax on the
lines known to be taxable (plus any negative unknown lines) and the tax on those plus every positive
unknown line, and that range is what is checked (the subtotal, the total and the balance still to the
cent). ``sales_tax_percentage`` and ``total`` come from the v1 job (assumed in v2): without the rate
the tax is not checked, without ``total`` the balance still is.
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


@dataclass(frozen=True, slots=True)
class TaxRange:
    """What the job's tax may be: ``low == high`` when every line says whether it is taxable."""

    low: Decimal | None  # None: no tax rate known, any tax is possible
    high: Decimal | None

    def allows(self, tax: Decimal) -> bool:
        if self.low is None or self.high is None:
            return True
        return self.low <= tax <= self.high

    def as_json(self) -> str:
        if self.low is None or self.high is None:
            return "unchecked (no sales_tax_percentage)"
        return str(self.low) if self.low == self.high else f"{self.low}..{self.high}"


def tax_range(job: Job) -> TaxRange:
    """The tax the job's lines allow, with lines that do not say whether they are taxable taken
    either way (see the module's docstring)."""
    given = job.raw.get("sales_tax_percentage")
    if given in (None, ""):
        return TaxRange(None, None)
    rate = Decimal(str(given))
    known = low = high = ZERO
    for charge in job.job_charges or ():
        quantity = charge.quantity if charge.quantity is not None else Decimal(1)
        line = cents(quantity * (charge.price_per_unit or ZERO) - (charge.discount or ZERO))
        flag = charge.raw.get("taxable")
        if isinstance(flag, bool):
            known += line if flag else ZERO
        elif line < 0:
            low += line
        else:
            high += line
    return TaxRange(cents((known + low) * rate / 100), cents((known + high) * rate / 100))


def kickserv_totals(job: Job) -> Totals:
    return Totals(
        job.subtotal or ZERO, job.tax or ZERO, job.total or ZERO, job.balance_remaining or ZERO
    )


def check_totals(job: Job) -> Totals:
    """Kickserv's totals, if they equal the exact sum (the tax within what the lines allow, when
    some do not say whether they are taxable); a recorded TotalsMismatch otherwise."""
    computed, answered, tax = exact_totals(job), kickserv_totals(job), tax_range(job)
    paid = computed.total - computed.balance_remaining
    total_given = job.raw.get("total") is not None
    consistent = (
        answered.subtotal == computed.subtotal
        and tax.allows(answered.tax)
        and (not total_given or answered.total == answered.subtotal + answered.tax)
        and answered.balance_remaining == answered.subtotal + answered.tax - paid
    )
    if not consistent:
        shown = {**computed.as_json(), "tax": tax.as_json()}
        raise TotalsMismatch(
            f"Job {job.job_number} was invoiced, but Kickserv's totals differ from the sum of its "
            "line items; check its charges and tax rate in Kickserv.",
            {
                "invoiceId": str(job.id),
                "computed": shown,
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
