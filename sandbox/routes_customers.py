"""/customers.json and what hangs off a customer: notes, jobs, tags. URLs take customer *numbers*."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import choices, indexes, shapes
from sandbox.context import Api, ok
from sandbox.data import Customer
from sandbox.envelopes import encoded_page
from sandbox.notes_and_tags import notes_and_tags_routes
from sandbox.writes import create_job, save_customer


def _matches(c: Customer, params: dict[str, str]) -> bool:
    """Exact filters (case-insensitive), `q` a substring of the name, `begins_with` a first letter."""
    if "customer_number" in params and str(c.number) != params["customer_number"].strip():
        return False
    if "name" in params and c.name.lower() != params["name"].lower():
        return False
    if "q" in params and params["q"].lower() not in c.name.lower():
        return False
    if "begins_with" in params and not c.name.lower().startswith(params["begins_with"][:1].lower()):
        return False
    if "service_state" in params and c.service_state.lower() != params["service_state"].lower():
        return False
    if "service_address" in params and (
        c.service_address.lower() != params["service_address"].lower()
    ):
        return False
    source = params.get("customer_source_id")
    return source is None or str(c.customer_source_id) == source.strip()


FILTERS = (
    "customer_number", "name", "q", "begins_with", "service_state", "service_address",
    "customer_source_id",
)  # fmt: skip


async def list_customers(request: Request) -> Response:
    api = Api(request)
    params = {k: v for k in FILTERS if (v := api.param(k)) is not None}
    if not params:
        found: Sequence[Customer] = indexes.customers(api.store)
    elif "customer_number" in params:  # at most one: the number's own record
        number = params["customer_number"].strip()
        one = api.store.customers_by_number.get(int(number)) if number.isdigit() else None
        found = [one] if one is not None and _matches(one, params) else []
    else:
        found = [c for c in indexes.customers(api.store) if _matches(c, params)]
    paging = api.page(
        *choices.PAGE_ALIASES["customers"], plain_page=api.choices.customers_page_param
    )
    return encoded_page("customers", found, paging, lambda c: shapes.customer.encoded(api.store, c))


async def create_customer(request: Request) -> Response:
    api = Api(request)
    customer = save_customer(api, await api.sent_record("customer"), None)
    return ok(shapes.customer(api.store, customer))


async def customer_detail(request: Request) -> Response:
    api = Api(request)
    customer = api.customer(api.path_int("number"))
    if request.method == "DELETE":
        api.store.remove_customer(customer)
        return ok({"message": "Customer successfully deleted"})
    if request.method in ("PUT", "PATCH"):
        save_customer(api, await api.sent_record("customer"), customer)
    return ok(shapes.customer(api.store, customer))


async def customer_jobs(request: Request) -> Response:
    api = Api(request)
    customer = api.customer(api.path_int("number"))
    if request.method == "POST":
        job = create_job(api, customer, await api.sent_record("job"))
        return ok(shapes.job_detail(api.store, job))
    jobs = [
        job
        for j in reversed(customer.job_ids)
        if (job := api.store.jobs[j]).status in choices.JOB_STATUSES and api.can_see(job)
    ]
    return encoded_page("jobs", jobs, api.page(), lambda j: shapes.job.encoded(api.store, j))


ROUTES = [
    Route("/customers.json", list_customers, methods=["GET"]),
    Route("/customers.json", create_customer, methods=["POST"]),
    Route(
        "/customers/{number:int}.json", customer_detail, methods=["GET", "PUT", "PATCH", "DELETE"]
    ),
    Route("/customers/{number:int}/jobs.json", customer_jobs, methods=["GET", "POST"]),
    *notes_and_tags_routes("customers", Api.customer, "Customer"),
]
