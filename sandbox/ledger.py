"""Derived money and schedule state, recomputed after every write so reads always agree.

charge.total = quantity * price_per_unit - discount; job.subtotal = sum of charge totals; job.tax =
taxable charge totals * sales_tax_percentage / 100; job.total = subtotal + tax; balance_remaining =
total - payments; an invoiced job is "paid" once its balance reaches 0; a customer's balance is the
sum of its unpaid invoice balances. All Decimal, quantized to cents.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sandbox.data import ZERO, AccountStore, Customer, Job, JobCharge

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def charge_total(charge: JobCharge) -> Decimal:
    return cents(charge.quantity * charge.price_per_unit - charge.discount)


def recompute_job(
    store: AccountStore, job: Job, today: date | None = None, customer: bool = True
) -> None:
    """Totals, balance and paid/unpaid of one job, then (unless told not to) its customer's balance."""
    subtotal = taxable = ZERO
    for charge_id in job.charge_ids:
        charge = store.charges[charge_id]
        charge.total = charge_total(charge)
        subtotal += charge.total
        if charge.taxable:
            taxable += charge.total
    job.subtotal = cents(subtotal)
    job.tax = cents(taxable * job.sales_tax_percentage / 100)
    job.total = job.subtotal + job.tax
    paid = sum((store.payments[p].amount for p in job.payment_ids), ZERO)
    job.balance_remaining = cents(job.total - paid)
    settle_invoice(job, today)
    if customer:
        recompute_customer(store, store.customers[job.customer_id])


def settle_invoice(job: Job, today: date | None) -> None:
    if job.invoice_date is None:
        job.invoice_status = None
        job.invoice_paid_on = None
        return
    if job.balance_remaining <= 0:
        if job.invoice_status != "paid" and today is not None:
            job.invoice_paid_on = today
        job.invoice_status = "paid"
    else:
        job.invoice_status = "unpaid"
        job.invoice_paid_on = None


def recompute_customer(store: AccountStore, customer: Customer) -> None:
    owed = ZERO
    for job_id in customer.job_ids:
        job = store.jobs[job_id]
        if job.invoice_status == "unpaid":
            owed += job.balance_remaining
    customer.balance = cents(owed)


def with_children(own: Decimal, children: Iterable[Decimal]) -> Decimal:
    """A customer's total_balance (QuickBooks'): its own balance plus its child customers'."""
    return own + sum(children, ZERO)


def refresh_schedule(store: AccountStore, job: Job, now: datetime) -> None:
    """A job's scheduled_on is its earliest task; adding the first task schedules an unscheduled job.
    A job whose schedule or status moved was updated ``now`` (its ``updated_at``, as Rails does)."""
    before = (job.scheduled_on, job.status)
    starts = [store.tasks[t].starts_at for t in job.task_ids]
    job.scheduled_on = min(starts) if starts else None
    if starts and job.status == "unscheduled":
        job.status = "scheduled"
    if (job.scheduled_on, job.status) != before:
        job.updated_at = now
