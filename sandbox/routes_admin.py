"""The sandbox's own admin API under /__sandbox/ (no auth): knobs, request log, tokens."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sandbox import choices
from sandbox.state import SandboxState


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def config(request: Request) -> JSONResponse:
    """GET the knobs; PUT a partial object of knobs to change them at run time (422 if invalid)."""
    state = _state(request)
    if request.method == "PUT":
        try:
            changes = json.loads(await request.body() or b"{}")
        except ValueError:
            changes = None
        if not isinstance(changes, dict):
            return JSONResponse(choices.validation_body({"base": ["must be a JSON object"]}), 422)
        errors = state.knobs.update(changes)
        if errors:
            return JSONResponse(choices.validation_body(errors), 422)
    return JSONResponse(_config_json(state))


def _config_json(state: SandboxState) -> dict[str, object]:
    cfg = state.config
    return {
        **state.knobs.as_json(),
        "seed": cfg.seed,
        "today": {slug: state.today(slug).isoformat() for slug in state.stores},
        "accounts": {slug: len(store.customers) for slug, store in state.stores.items()},
    }


async def requests(request: Request) -> JSONResponse:
    """GET the request log (`count` and entries in arrival order); DELETE resets it."""
    log = _state(request).log
    if request.method == "DELETE":
        log.reset()
    return JSONResponse(log.as_json())


async def tokens(request: Request) -> JSONResponse:
    state = _state(request)
    return JSONResponse(
        {
            slug: [
                {
                    "employee_number": e.number,
                    "employee_id": e.id,
                    "name": e.name,
                    "token": e.token,
                    "admin": e.admin,
                    "active": e.active,
                    "limit_access_to_assignments": e.limit_access_to_assignments,
                }
                for e in sorted(store.employees.values(), key=lambda e: e.number)
            ]
            for slug, store in state.stores.items()
        }
    )


ROUTES = [
    Route("/config", config, methods=["GET", "PUT"]),
    Route("/requests", requests, methods=["GET", "DELETE"]),
    Route("/tokens", tokens, methods=["GET"]),
]
