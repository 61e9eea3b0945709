"""/customers.json and what hangs off a customer: notes, jobs, tags. URLs take customer *numbers*."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox import choices, shapes
from sandbox.context import Api, ok
from sandbox.data import Customer, Note
from sandbox.envelopes import paginate
from sandbox.forms import Form
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


async def list_customers(request: Request) -> JSONResponse:
    api = Api(request)
    params = {k: v for k in FILTERS if (v := api.param(k)) is not None}
    found = [c for c in api.store.customers_by_number.values() if not params or _matches(c, params)]
    paging = api.page(*choices.PAGE_ALIASES["customers"])
    return ok(paginate("customers", found, paging, lambda c: shapes.customer(api.store, c)))


async def create_customer(request: Request) -> JSONResponse:
    api = Api(request)
    body = await api.payload()
    customer = save_customer(api, body.get("customer", body), None)
    return ok(shapes.customer(api.store, customer))


async def customer_detail(request: Request) -> JSONResponse:
    api = Api(request)
    customer = api.customer(api.path_int("number"))
    if request.method == "DELETE":
        api.store.remove_customer(customer)
        return ok({"message": "Customer successfully deleted"})
    if request.method in ("PUT", "PATCH"):
        body = await api.payload()
        save_customer(api, body.get("customer", body), customer)
    return ok(shapes.customer(api.store, customer))


async def customer_notes(request: Request) -> JSONResponse:
    api = Api(request)
    customer = api.customer(api.path_int("number"))
    if request.method == "POST":
        note = add_note(api, await api.payload(), "Customer", customer.id)
        customer.note_ids.append(note.id)
        return ok(shapes.note(api.store, note))
    notes = [api.store.notes[n] for n in customer.note_ids]
    return ok(paginate("notes", notes, api.page(), lambda n: shapes.note(api.store, n)))


def add_note(api: Api, body: dict[str, object], kind: str, owner_id: int) -> Note:
    form = Form(body.get("note", body))
    text = form.text("body", required=True)
    public = form.boolean("public")
    form.check()
    note = Note(
        api.store.new_id(), kind, owner_id, text or "", bool(public), api.employee.id, api.now()
    )
    api.store.notes[note.id] = note
    return note


async def customer_jobs(request: Request) -> JSONResponse:
    api = Api(request)
    customer = api.customer(api.path_int("number"))
    if request.method == "POST":
        body = await api.payload()
        job = create_job(api, customer, body.get("job", body))
        return ok(shapes.job_detail(api.store, job))
    jobs = [
        job
        for j in reversed(customer.job_ids)
        if (job := api.store.jobs[j]).status in choices.JOB_STATUSES and api.can_see(job)
    ]
    return ok(paginate("jobs", jobs, api.page(), lambda j: shapes.job(api.store, j)))


async def customer_tags(request: Request) -> JSONResponse:
    api = Api(request)
    customer = api.customer(api.path_int("number"))
    if request.method == "PUT":
        customer.tags = read_tags(await api.payload())
        customer.updated_at = api.now()
    return ok({"tags": list(customer.tags)})


def read_tags(body: dict[str, object]) -> list[str]:
    """Tags are replaced wholesale by the PUT's list (duplicates and blanks dropped)."""
    form = Form(body)
    tags = body.get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        form.fail("tags", "must be a list of names")
        form.check()
    assert isinstance(tags, list)
    return list(dict.fromkeys(t.strip() for t in tags if t.strip()))


ROUTES = [
    Route("/customers.json", list_customers, methods=["GET"]),
    Route("/customers.json", create_customer, methods=["POST"]),
    Route(
        "/customers/{number:int}.json", customer_detail, methods=["GET", "PUT", "PATCH", "DELETE"]
    ),
    Route("/customers/{number:int}/notes.json", customer_notes, methods=["GET", "POST"]),
    Route("/customers/{number:int}/jobs.json", customer_jobs, methods=["GET", "POST"]),
    Route("/customers/{number:int}/tags.json", customer_tags, methods=["GET", "PUT"]),
]
