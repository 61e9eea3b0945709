"""The sandbox application: `create_app(SandboxConfig(...))` gives a Starlette app serving
/{account}/api/v2/*.json plus the admin API under /__sandbox/. Works over a real port (uvicorn) and
in-process (`httpx.ASGITransport(app=create_app(...))`)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from sandbox import (
    choices,
    routes_admin,
    routes_billing,
    routes_catalog,
    routes_customers,
    routes_job_money,
    routes_jobs,
    routes_tasks,
)
from sandbox.config import SandboxConfig
from sandbox.errors import ApiError, error_response
from sandbox.gate import Gate
from sandbox.state import SandboxState

__all__ = ["SandboxConfig", "SandboxState", "create_app", "sandbox_state"]

API_ROUTES = [
    *routes_customers.ROUTES,
    *routes_jobs.ROUTES,
    *routes_job_money.ROUTES,
    *routes_tasks.ROUTES,
    *routes_billing.ROUTES,
    *routes_catalog.ROUTES,
]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    state: SandboxState = request.app.state.sandbox
    status = state.choices.missing_record_status if exc.missing_record else exc.status
    return error_response(status, exc.body)


async def _unknown_route(request: Request, exc: Exception) -> Response:
    """Unknown paths and unknown verbs alike (e.g. /invoices/{id}.json, DELETE /jobs/{n}.json)."""
    body = choices.error_list_body(choices.UNKNOWN_ROUTE_MESSAGE)
    return JSONResponse(body, choices.UNKNOWN_ROUTE_STATUS)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    state = SandboxState(config or SandboxConfig())
    app = Starlette(
        routes=[
            Mount("/__sandbox", routes=routes_admin.ROUTES),
            Mount("/{account}/api/v2", routes=API_ROUTES),
        ],
        middleware=[Middleware(Gate, state=state)],
        exception_handlers={ApiError: _api_error, 404: _unknown_route, 405: _unknown_route},
    )
    app.state.sandbox = state
    return app


def sandbox_state(app: Starlette) -> SandboxState:
    """The records, knobs and log behind an app made by create_app (for tests and benchmarks)."""
    state: SandboxState = app.state.sandbox
    return state
