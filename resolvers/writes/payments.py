"""Recording a payment against a job (and so its invoice): ``POST /jobs/{n}/payments.json``.

A payment whose POST had an unknown outcome is found by before-image: the job's payments that were
not there before, with the amount, type, reference and notes that were sent. The job is read again
afterwards so the answer (and every cached view: invoice, job, customer) carries the new balance.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from kickserv import Job, Payment
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.errors import RecordedFailure
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, Step, created_step, raw_of
from resolvers.writes.validation import Checks, GivenFields, upstream_path


@dataclass(frozen=True, slots=True)
class PaymentSpec(GivenFields):
    amount: Decimal
    date: date | None = None
    payment_type: str | None = None
    notes: str | None = None
    ref_number: str | None = None

    def matches(self, payment: Payment) -> bool:
        return (
            payment.amount == self.amount
            and (self.date is None or payment.date == self.date)
            and (self.payment_type is None or payment.payment_type == self.payment_type)
            and (self.notes is None or payment.notes == self.notes)
            and (self.ref_number is None or payment.ref_number == self.ref_number)
        )


@dataclass(frozen=True, slots=True)
class RecordedPayment:
    payment: Payment
    job: Job  # read after the payment: its balance, and its invoice's, include it


def _dump(result: RecordedPayment) -> dict[str, Any]:
    return {"payment": raw_of(result.payment), "job": raw_of(result.job)}


def _load(data: dict[str, Any]) -> RecordedPayment:
    return RecordedPayment(Payment.from_json(data["payment"]), Job.from_json(data["job"]))


def _checked(spec: PaymentSpec) -> PaymentSpec:
    checks = Checks()
    checks.amount(("input", "amount"), spec.amount, positive=True, cents=True)
    cleaned = PaymentSpec(
        spec.amount,
        spec.date,
        checks.text(("input", "paymentType"), spec.payment_type),
        checks.text(("input", "notes"), spec.notes),
        checks.text(("input", "refNumber"), spec.ref_number),
    )
    checks.done()
    return cleaned


def _payment_step(
    sent: PaymentSpec,
    send: Callable[[], Awaitable[Payment]],
    listing: Callable[[], Awaitable[list[Payment]]],
) -> Step[Payment]:
    """The POST of a payment, found again after an unknown outcome among the payments ``listing``
    answers that were not there before and match what was ``sent``."""
    return created_step(
        "payment", send, Payment.from_json, listing, sent.matches,
        field_path=upstream_path(("input",)),
    )  # fmt: skip


async def record_payment(scope: WriteScope, job_number: int, spec: PaymentSpec) -> RecordedPayment:
    cleaned = _checked(spec)

    async def body(saga: Saga) -> RecordedPayment:
        payment = await saga.run(
            _payment_step(
                cleaned,
                lambda: scope.ks.jobs.create_payment(job_number, **cleaned.fields()),
                lambda: scope.ks.jobs.payments(job_number).all(),
            )
        )
        job = await scope.ks.jobs.get(job_number)
        scope.tenant.job_of_payment[payment.id] = job_number
        await invalidation.job_saved(scope, job, Change.JOB_MONEY)
        return RecordedPayment(payment, job)

    payload = {"job": job_number, "payment": cleaned.fields()}
    return await scope.run("recordPayment", payload, body, _dump, _load)


async def record_customer_payment(
    scope: WriteScope, customer_number: int, spec: PaymentSpec
) -> Payment:
    """``POST /payments.json``: a payment of a customer, applied to no job (Kickserv ties a payment
    to a job only through the job's URL). Found again after an unknown outcome among the customer's
    payments that were not there before."""
    cleaned = _checked(spec)

    async def body(saga: Saga) -> Payment:
        payment = await saga.run(
            _payment_step(
                cleaned,
                lambda: scope.ks.payments.create(customer_number, **cleaned.fields()),
                lambda: scope.ks.payments.list(customer_number=customer_number).all(),
            )
        )
        payer = payment.customer.customer_number if payment.customer is not None else None
        if payer not in (None, customer_number):
            raise RecordedFailure(
                f"Kickserv recorded the payment for customer {payer}, not {customer_number}: "
                "it read the customer key differently. Check the payment in Kickserv.",
                {"payment": payment.id, "customer": payer},
            )
        customer = await scope.ks.customers.get(customer_number)
        await invalidation.customer_payment_recorded(scope, payment, customer)
        return payment

    payload = {"customer": customer_number, "payment": cleaned.fields()}
    return await scope.run("recordCustomerPayment", payload, body, raw_of, Payment.from_json)
