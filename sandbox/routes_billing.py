"""Invoices (listed only: there is no invoice-by-id), payments and opportunities.

Invoices and opportunities are jobs: an invoice is a job with an invoice_date, an opportunity a job
in status new/sent/viewed/won/lost.
"""

from __future__ import annotations

from decimal import Decimal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import choices, indexes, shapes
from sandbox.context import Api, ok
from sandbox.data import Job
from sandbox.envelopes import encoded_page
from sandbox.errors import invalid_field, missing
from sandbox.writes import create_job, move_status, record_customer_payment


async def list_invoices(request: Request) -> Response:
    """Newest invoice first; `total_balance_remaining` sums every matching invoice, not the page."""
    api = Api(request)
    status = api.param("invoice_status")
    if status is not None and status not in choices.INVOICE_STATUSES:
        raise invalid_field("invoice_status", "is not included in the list")
    visible = api.visible_job_ids()
    found, owed = indexes.invoices(api.store, status)
    if visible is not None:
        found = [j for j in found if j.id in visible]
        owed = sum((j.balance_remaining for j in found), Decimal(0))
    return encoded_page(
        "invoices",
        found,
        api.page(),
        lambda j: shapes.invoice.encoded(api.store, j),
        extra={"total_balance_remaining": shapes.money(owed)},
    )


async def list_payments(request: Request) -> Response:
    """`customer_id` takes a customer NUMBER (a documented quirk); meta.pagination envelope. POST
    records a payment of a customer, applied to no job (`sandbox.writes.record_customer_payment`)."""
    api = Api(request)
    if request.method == "POST":
        payment = record_customer_payment(api, await api.sent_record("payment"))
        return ok(shapes.payment(api.store, payment))
    sort_by = api.param("sort_by") or choices.PAYMENT_DEFAULT_SORT[0]
    if sort_by not in choices.PAYMENT_SORT_KEYS:
        raise invalid_field("sort_by", "is not included in the list")
    order = (api.param("sort_order") or choices.PAYMENT_DEFAULT_SORT[1]).upper()
    if order not in ("ASC", "DESC"):
        raise invalid_field("sort_order", "is not included in the list")
    customer_id = None
    if (number := api.int_param("customer_id")) is not None:
        customer = api.store.customers_by_number.get(number)
        customer_id = customer.id if customer else -1
    visible = api.visible_job_ids()
    found = indexes.payments(api.store, customer_id, sort_by, order)
    if visible is not None:
        found = [p for p in found if p.job_id in visible]
    return encoded_page(
        "payments",
        found,
        api.page(),
        lambda p: shapes.payment.encoded(api.store, p),
        choices.meta_pagination_envelope,
    )


async def opportunities(request: Request) -> Response:
    api = Api(request)
    if request.method == "POST":
        return await _create_opportunity(api)
    status = api.param("status")
    if status is not None and status not in choices.OPPORTUNITY_STATUSES:
        raise invalid_field("status", "is not included in the list")
    job_type_id = api.int_param("job_type_id")
    # `customer_number` is accepted and ignored, as the reference found on real Kickserv.
    visible = api.visible_job_ids()

    def wanted(job: Job) -> bool:
        return (
            job.status in choices.OPPORTUNITY_STATUSES
            and (status is None or job.status == status)
            and (job_type_id is None or job.job_type_id == job_type_id)
            and (visible is None or job.id in visible)
        )

    listed = indexes.opportunities(api.store)
    filtered = (status, job_type_id, visible) != (None, None, None)
    found = [j for j in listed if wanted(j)] if filtered else listed
    return encoded_page(
        "opportunities",
        found,
        api.page(),
        lambda j: shapes.job_with_customer.encoded(api.store, j),
    )


async def _create_opportunity(api: Api) -> Response:
    body = await api.payload()
    data = body.get("opportunity", body.get("job", {}))
    number = body.get(
        "customer_number", data.get("customer_number") if isinstance(data, dict) else None
    )
    customer = api.named_customer(number)
    status = data.get("status", "new") if isinstance(data, dict) else "new"
    if status not in ("new", "sent", "viewed"):
        raise invalid_field("status", "is not included in the list")
    job = create_job(api, customer, data, status=status)
    return ok(shapes.job_with_customer(api.store, job))


async def mark_as_won(request: Request) -> Response:
    return _mark(Api(request), "won")


async def mark_as_lost(request: Request) -> Response:
    return _mark(Api(request), "lost")


def _mark(api: Api, outcome: str) -> Response:
    job = api.store.jobs_by_number.get(api.path_int("number"))
    if job is None or job.status not in choices.OPPORTUNITY_STATUSES or not api.can_see(job):
        raise missing("opportunity")
    move_status(job, outcome, api)
    job.updated_at = api.now()
    return ok(shapes.job_with_customer(api.store, job))


ROUTES = [
    Route("/invoices.json", list_invoices, methods=["GET"]),
    Route("/payments.json", list_payments, methods=["GET", "POST"]),
    Route("/opportunities.json", opportunities, methods=["GET", "POST"]),
    Route("/opportunities/{number:int}/mark_as_won.json", mark_as_won, methods=["PUT", "PATCH"]),
    Route("/opportunities/{number:int}/mark_as_lost.json", mark_as_lost, methods=["PUT", "PATCH"]),
]
