"""A job's charges (line items) and payments; every write recomputes the job's money."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox import ledger, shapes
from sandbox.context import Api, ok
from sandbox.data import Job, JobCharge
from sandbox.envelopes import paginate
from sandbox.errors import missing
from sandbox.forms import Form
from sandbox.writes import apply_charge, record_payment, validate_charge


async def job_charges(request: Request) -> JSONResponse:
    api = Api(request)
    job = api.job(api.path_int("number"))
    if request.method == "POST":
        form = Form(await api.sent_record("job_charge"))
        validate_charge(api, form, creating=True)
        form.check()
        charge = apply_charge(api, job, form, None)
        _settle(api, job)
        return ok(shapes.job_charge(api.store, charge))
    charges = [api.store.charges[c] for c in job.charge_ids]
    return ok(
        paginate("job_charges", charges, api.page(), lambda c: shapes.job_charge(api.store, c))
    )


async def job_charge_detail(request: Request) -> JSONResponse:
    """PUT edits one charge; DELETE removes it and answers the deleted charge."""
    api = Api(request)
    api.unconfirmed_write()
    job = api.job(api.path_int("number"))
    charge = _charge_of(api, job, api.path_int("charge_id"))
    if request.method == "DELETE":
        del api.store.charges[charge.id]
        job.charge_ids.remove(charge.id)
        _settle(api, job)
        return ok(shapes.job_charge(api.store, charge))
    form = Form(await api.sent_record("job_charge"))
    validate_charge(api, form, creating=False)
    form.check()
    apply_charge(api, job, form, charge)
    _settle(api, job)
    return ok(shapes.job_charge(api.store, charge))


def _charge_of(api: Api, job: Job, charge_id: int) -> JobCharge:
    charge = api.store.charges.get(charge_id)
    if charge is None or charge.job_id != job.id:
        raise missing("job charge")
    return charge


def _settle(api: Api, job: Job) -> None:
    job.updated_at = api.now()
    ledger.recompute_job(api.store, job, api.today())


async def job_payments(request: Request) -> JSONResponse:
    api = Api(request)
    job = api.job(api.path_int("number"))
    if request.method == "POST":
        api.unconfirmed_write()
        payment = record_payment(api, job, await api.sent_record("payment"))
        return ok(shapes.payment(api.store, payment))
    payments = [api.store.payments[p] for p in job.payment_ids]
    return ok(paginate("payments", payments, api.page(), lambda p: shapes.payment(api.store, p)))


ROUTES = [
    Route("/jobs/{number:int}/job_charges.json", job_charges, methods=["GET", "POST"]),
    Route(
        "/jobs/{number:int}/job_charges/{charge_id:int}.json",
        job_charge_detail,
        methods=["PUT", "PATCH", "DELETE"],
    ),
    Route("/jobs/{number:int}/payments.json", job_payments, methods=["GET", "POST"]),
]
