"""Exceptions of the layers below as GraphQL errors with stable codes: the Kickserv client's, the
writes' and ``resolvers.relations.RecordMissing``. ``SCHEMA_ERROR_MAPPERS`` is what the server's
``ErrorClassifier`` asks, after any mapper of its own."""

from __future__ import annotations

import kickserv
from graph.schema.errors import (
    BadUserInput,
    ErrorCode,
    ErrorMapper,
    Forbidden,
    GraphError,
    NotFound,
    UpstreamRateLimited,
    UpstreamUnavailable,
)
from graph.schema.mutations.scope import map_write_error
from kickserv.breaker import CircuitOpen
from resolvers.relations import RecordMissing
from resolvers.state import StateUnavailable


def map_kickserv_error(exc: BaseException) -> GraphError | None:
    """Messages name what failed upstream; they never carry the credential (the client's do not)."""
    if not isinstance(exc, kickserv.KickservError):
        return None
    if isinstance(exc, kickserv.UnsupportedRoute):
        return GraphError(
            f"This Kickserv does not serve {exc.route or 'that route'} (the reference does not "
            "confirm it), so nothing was done.",
            code=ErrorCode.UPSTREAM_UNSUPPORTED,
            http_status=501,
            extensions={"route": exc.route},
        )
    if isinstance(exc, kickserv.NotFound):
        return NotFound("Kickserv has no such record, or this credential may not see it.")
    if isinstance(exc, kickserv.RateLimited):
        retry_after = exc.retry_after if exc.retry_after is not None else 1.0
        return UpstreamRateLimited(
            f"Kickserv is rate limiting this account; retry after {retry_after:g} s.",
            retry_after=retry_after,
        )
    if isinstance(exc, kickserv.Unauthorized):
        return UpstreamUnavailable(
            "Kickserv refused the configured credential (401): check the account and API token."
        )
    if isinstance(exc, kickserv.Forbidden):
        return Forbidden("Kickserv does not allow this credential to do that.")
    if isinstance(exc, kickserv.Validation):
        return BadUserInput(
            "Kickserv rejected the input.", extensions={"fieldErrors": dict(exc.field_errors)}
        )
    if isinstance(exc, CircuitOpen):
        return UpstreamUnavailable(
            "Kickserv kept failing, so this server is not calling it for a moment (nothing was "
            f"sent); retry after {exc.retry_after:g} s.",
            extensions={"retryAfter": exc.retry_after},
        )
    if isinstance(exc, kickserv.Timeout | kickserv.TransportError | kickserv.ServerError):
        return UpstreamUnavailable("Kickserv did not answer in time or failed; try again shortly.")
    if isinstance(exc, kickserv.ResponseShape):
        return UpstreamUnavailable("Kickserv sent a response this server could not read.")
    return UpstreamUnavailable("Kickserv request failed.")


def map_state_unavailable(exc: BaseException) -> GraphError | None:
    """The state store (idempotency records) is down: a write cannot be made safely."""
    if not isinstance(exc, StateUnavailable):
        return None
    return GraphError(
        "The state store is unavailable, so this write could not be made safely. Retry with the "
        "same idempotency key once it is back: it then happens exactly once. Reads go on.",
        code=ErrorCode.STATE_UNAVAILABLE,
        http_status=503,
        extensions={"retryAfter": 1.0},
    )


def map_record_missing(exc: BaseException) -> GraphError | None:
    return NotFound(str(exc)) if isinstance(exc, RecordMissing) else None


SCHEMA_ERROR_MAPPERS: tuple[ErrorMapper, ...] = (
    map_record_missing,
    map_state_unavailable,
    map_write_error,
    map_kickserv_error,
)
