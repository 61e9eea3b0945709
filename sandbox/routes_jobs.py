"""/jobs.json and a job's notes and tags. URLs take job *numbers*; fields hold global ids."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox import choices, indexes, shapes
from sandbox.clock import scheduled_window
from sandbox.context import Api, ok
from sandbox.data import Job
from sandbox.envelopes import encoded_page
from sandbox.errors import invalid_field
from sandbox.notes_and_tags import notes_and_tags_routes
from sandbox.writes import create_job, update_job


async def list_jobs(request: Request) -> Response:
    """Newest job number first; `scheduled` words are relative to the sandbox clock's today."""
    api = Api(request)
    job_type_id = api.int_param("job_type_id")
    # `status` is not among /jobs.json's documented filters: strict ignores it, unread.
    status = api.param("status") if api.choices.jobs_status_filter else None
    if status is not None and status not in choices.JOB_STATUSES:
        raise invalid_field("status", "is not included in the list")
    window = None
    if (word := api.param("scheduled")) is not None:
        window = scheduled_window(word, api.today())
        if window is None:
            raise invalid_field("scheduled", "is not included in the list")
    visible = api.visible_job_ids()

    def wanted(job: Job) -> bool:
        if job.status not in choices.JOB_STATUSES or (
            visible is not None and job.id not in visible
        ):
            return False
        if status is not None and job.status != status:
            return False
        if job_type_id is not None and job.job_type_id != job_type_id:
            return False
        if window is not None:
            return job.scheduled_on is not None and window[0] <= job.scheduled_on.date() < window[1]
        return True

    listed = indexes.jobs(api.store)
    filtered = (status, job_type_id, window, visible) != (None, None, None, None)
    jobs = [job for job in listed if wanted(job)] if filtered else listed
    return encoded_page("jobs", jobs, api.page(), lambda j: shapes.job.encoded(api.store, j))


async def post_job(request: Request) -> Response:
    """`customer_number` sits beside the `job` object, not inside it (a documented quirk)."""
    api = Api(request)
    body = await api.payload()
    customer = api.named_customer(body.get("customer_number"))
    job = create_job(api, customer, body.get("job", {}))
    return ok(shapes.job_detail(api.store, job))


async def job_detail(request: Request) -> Response:
    api = Api(request)
    job = api.job(api.path_int("number"))
    if request.method in ("PUT", "PATCH"):
        update_job(api, job, await api.sent_record("job"))
    return ok(shapes.job_detail(api.store, job))


ROUTES = [
    Route("/jobs.json", list_jobs, methods=["GET"]),
    Route("/jobs.json", post_job, methods=["POST"]),
    Route("/jobs/{number:int}.json", job_detail, methods=["GET", "PUT", "PATCH"]),
    *notes_and_tags_routes("jobs", Api.job, "Job"),
]
