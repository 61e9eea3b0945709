"""From a mutation's ``info`` to a ``WriteScope``; write errors as GraphQL errors.

The idempotency key comes from the ``idempotencyKey`` argument or the ``Idempotency-Key`` header. A
header key covers the whole request, so it is scoped by the mutation's response key (its alias):
one request may carry several mutations under one header, and its retry maps each to its own.

The context's ``write_policy`` (a ``WritePolicy``, from the server's settings or a test) sets the
write timeouts and retries; the idempotency records live in the shared cache's ``records`` store.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from graph.schema.common import GraphInfo
from graph.schema.errors import BadUserInput, ErrorCode, GraphError
from resolvers.writes.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidInput,
    LeaseLost,
    RecordedFailure,
    TotalsMismatch,
)
from resolvers.writes.idempotency import IdempotencyLedger
from resolvers.writes.scope import WriteScope

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255


def write_scope(info: GraphInfo, idempotency_key: str | None) -> WriteScope:
    context = info.context
    header = context.headers.get(HEADER)
    for given, where in ((idempotency_key, "idempotencyKey"), (header, "Idempotency-Key")):
        if given is not None and not 0 < len(given) <= MAX_KEY_LENGTH:
            raise BadUserInput(
                f"`{where}` must be 1 to {MAX_KEY_LENGTH} characters.",
                extensions={"invalidFields": [{"path": ["idempotencyKey"], "message": "bad size"}]},
            )
    if idempotency_key is not None and header is not None and header != idempotency_key:
        raise BadUserInput(
            "The idempotencyKey argument and the Idempotency-Key header differ; send one of them.",
            extensions={"invalidFields": [{"path": ["idempotencyKey"], "message": "differs"}]},
        )
    key = idempotency_key
    if key is None and header is not None:
        key = f"{header}#{info.path.key}"
    tenant = context.data.tenant
    return WriteScope(
        tenant=tenant,
        ledger=IdempotencyLedger(tenant.cache.records),
        policy=context.write_policy,
        key=key,
        data=context.data,
    )


def map_write_error(exc: BaseException) -> GraphError | None:
    if isinstance(exc, InvalidInput):
        return BadUserInput(
            exc.message, extensions={"invalidFields": [p.as_json() for p in exc.problems]}
        )
    if isinstance(exc, IdempotencyKeyReused):
        return GraphError(exc.message, code=ErrorCode.IDEMPOTENCY_KEY_REUSED, http_status=422)
    if isinstance(exc, IdempotencyKeyInUse | LeaseLost):
        return GraphError(exc.message, code=ErrorCode.IDEMPOTENCY_KEY_IN_USE, http_status=409)
    if isinstance(exc, TotalsMismatch):
        return GraphError(exc.message, code=ErrorCode.TOTALS_MISMATCH, extensions=exc.extensions)
    if isinstance(exc, RecordedFailure):
        return GraphError(exc.message, code=ErrorCode.BAD_REQUEST, extensions=exc.extensions)
    return None


KEY_DESCRIPTION = (
    "Makes the write happen once: a retry with this key and the same input gets the recorded "
    "result (24 h). Or send an Idempotency-Key header."
)

Key = Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)]
"""The ``idempotencyKey`` argument every mutation takes."""
