"""Account-level lists: employees (a bare array), vendors, items, job types, job charge types."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox import choices, shapes
from sandbox.context import Api, ok
from sandbox.data import JobType, Vendor
from sandbox.envelopes import paginate
from sandbox.errors import ApiError, missing
from sandbox.forms import Form


async def list_employees(request: Request) -> JSONResponse:
    """A bare JSON array of the active employees, by employee number (not paginated)."""
    api = Api(request)
    staff = sorted((e for e in api.store.employees.values() if e.active), key=lambda e: e.number)
    return ok([shapes.employee(api.store, e) for e in staff])


async def employee_detail(request: Request) -> JSONResponse:
    api = Api(request)
    employee = api.store.employee_by_number(api.path_int("number"))
    if employee is None:
        raise missing("employee")
    return ok(shapes.employee(api.store, employee))


async def vendors(request: Request) -> JSONResponse:
    api = Api(request)
    if request.method == "POST":
        return await _save_vendor(api, None)
    found = sorted(api.store.vendors.values(), key=lambda v: v.name.lower())
    return ok(
        paginate(
            "vendors", found, api.page(), lambda v: shapes.vendor(api.store, v, {}, listed=True)
        )
    )


async def vendor_detail(request: Request) -> JSONResponse:
    api = Api(request)
    vendor = api.store.vendors.get(api.path_int("vendor_id"))
    if vendor is None:
        raise missing("vendor")
    if request.method == "DELETE":
        del api.store.vendors[vendor.id]
        return ok(shapes.vendor(api.store, vendor, {}))
    if request.method in ("PUT", "PATCH"):
        return await _save_vendor(api, vendor)
    return ok(shapes.vendor(api.store, vendor, {}))


async def _save_vendor(api: Api, vendor: Vendor | None) -> JSONResponse:
    """Accepts `{"vendor": {"name": …}}` or `{"name": …}`; answers the vendor with an `errors` key,
    422 when the name is blank or already taken (compared case-insensitively)."""
    form = Form(await api.sent_record("vendor"))
    name = form.text("name", required=vendor is None or form.has("name"))
    active = form.boolean("active")
    taken = name is not None and any(
        v.name.lower() == name.lower() and v is not vendor for v in api.store.vendors.values()
    )
    if taken:
        form.fail("name", "has already been taken")
    if form.errors:
        raise ApiError(422, shapes.vendor(api.store, vendor, form.errors))
    now = api.now()
    if vendor is None:
        vendor = Vendor(api.store.new_id(), name or "", True, now, now)
        api.store.vendors[vendor.id] = vendor
    elif name is not None:
        vendor.name = name
    if active is not None:
        vendor.active = active
    vendor.updated_at = now
    return ok(shapes.vendor(api.store, vendor, {}))


async def items(request: Request) -> JSONResponse:
    """Full entries by name; with `name=` a case-insensitive substring match, truncated entries."""
    api = Api(request)
    everything = sorted(api.store.items.values(), key=lambda i: i.name.lower())
    wanted = api.param("name")
    if wanted is None:
        return ok(paginate("items", everything, api.page(), lambda i: shapes.item(api.store, i)))
    found = [i for i in everything if wanted.lower() in i.name.lower()]
    return ok(paginate("items", found, api.page(), shapes.item_truncated))


async def job_types(request: Request) -> JSONResponse:
    """Active job types by default; `inactive=true` only inactive ones; `all=true` both. POST
    creates one (the reference lists the verb only: the strict personality has no such route)."""
    api = Api(request)
    if request.method == "POST":
        return ok(shapes.job_type(api.store, _new_job_type(api, await api.sent_record("job_type"))))
    if (api.param("all") or "").lower() == "true":
        found = list(api.store.job_types.values())
    else:
        want_active = (api.param("inactive") or "").lower() != "true"
        found = [t for t in api.store.job_types.values() if t.active == want_active]
    found.sort(key=lambda t: (t.position, t.id))
    return ok(paginate("job_types", found, api.page(), lambda t: shapes.job_type(api.store, t)))


def _new_job_type(api: Api, data: object) -> JobType:
    if not api.choices.job_type_create_route:
        raise ApiError(
            choices.UNKNOWN_ROUTE_STATUS, choices.error_list_body(choices.UNKNOWN_ROUTE_MESSAGE)
        )
    form = Form(data)
    name = form.text("name", required=True)
    if name is not None and any(
        t.name.lower() == name.lower() for t in api.store.job_types.values()
    ):
        form.fail("name", "has already been taken")
    color = form.text("color")
    description = form.text("description")
    active = form.boolean("active")
    form.check()
    position = max((t.position for t in api.store.job_types.values()), default=0) + 1
    job_type = JobType(
        api.store.new_id(), name or "", color or "000", position,
        True if active is None else active, description or "", api.now(),
    )  # fmt: skip
    api.store.job_types[job_type.id] = job_type
    return job_type


async def job_charge_types(request: Request) -> JSONResponse:
    api = Api(request)
    found = list(api.store.job_charge_types.values())
    return ok(
        paginate(
            "job_charge_types", found, api.page(), lambda t: shapes.job_charge_type(api.store, t)
        )
    )


ROUTES = [
    Route("/employees.json", list_employees, methods=["GET"]),
    Route("/employees/{number:int}.json", employee_detail, methods=["GET"]),
    Route("/vendors.json", vendors, methods=["GET", "POST"]),
    Route(
        "/vendors/{vendor_id:int}.json", vendor_detail, methods=["GET", "PUT", "PATCH", "DELETE"]
    ),
    Route("/items.json", items, methods=["GET"]),
    Route("/job_types.json", job_types, methods=["GET", "POST"]),
    Route("/job_charge_types.json", job_charge_types, methods=["GET"]),
]
