"""GraphQL errors with stable codes, and the one formatter every error in a response goes through.

Clients branch on ``extensions.code``, never on messages, so the codes below are part of the API::

    GraphError                      base: code + message + extra extensions (+ HTTP status when it
    ├── BadRequest                  BAD_REQUEST          fails a request before execution)
    ├── BadUserInput                BAD_USER_INPUT
    ├── Unauthenticated             UNAUTHENTICATED
    ├── Forbidden                   FORBIDDEN
    ├── NotFound                    NOT_FOUND
    ├── UpstreamRateLimited         UPSTREAM_RATE_LIMITED (extensions.retryAfter, seconds)
    ├── UpstreamUnavailable         UPSTREAM_UNAVAILABLE
    ├── (Kickserv lacks a route)    UPSTREAM_UNSUPPORTED (extensions.route): a 404/405 on a URL the
    │                               reference does not confirm; nothing was applied
    ├── QueryTooComplex             QUERY_TOO_COMPLEX
    ├── PersistedQueryNotFound      PERSISTED_QUERY_NOT_FOUND
    ├── PersistedQueryNotAllowed    PERSISTED_QUERY_NOT_ALLOWED
    ├── RequestTooLarge             REQUEST_TOO_LARGE
    ├── (batching off)              BATCHING_NOT_ENABLED: a JSON array of operations refused
    ├── (writes, graph/mutations)   IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_KEY_IN_USE, TOTALS_MISMATCH
    ├── (state store down)          STATE_UNAVAILABLE: a write refused (idempotency records unreachable)
    ├── (graph.server.subscriptions) TOO_MANY_SUBSCRIPTIONS: a key's concurrent subscriptions cap
    └── InternalServerError         INTERNAL_SERVER_ERROR

``GRAPHQL_PARSE_FAILED`` and ``GRAPHQL_VALIDATION_FAILED`` come from graphql-core and are stamped by
the HTTP layer. Exceptions of other modules (the Kickserv client's, ``resolvers``') become
GraphErrors through an ``ErrorClassifier``: an explicit, ordered tuple of mappers built where the
server is assembled (``graph.schema.error_mapping.SCHEMA_ERROR_MAPPERS`` plus the server's own).
Anything no mapper claims is masked as "Unexpected error." and logged with its traceback, server
side only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from graphql import GraphQLError

logger = logging.getLogger("graph.schema.errors")

UNEXPECTED_ERROR_MESSAGE = "Unexpected error."


class ErrorCode(StrEnum):
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_REQUEST = "BAD_REQUEST"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    UPSTREAM_RATE_LIMITED = "UPSTREAM_RATE_LIMITED"
    UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    UPSTREAM_UNSUPPORTED = "UPSTREAM_UNSUPPORTED"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    PERSISTED_QUERY_NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    BATCHING_NOT_ENABLED = "BATCHING_NOT_ENABLED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    TOTALS_MISMATCH = "TOTALS_MISMATCH"
    STATE_UNAVAILABLE = "STATE_UNAVAILABLE"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class GraphError(Exception):
    """An error meant for the client: its message and code are shown as they are.

    Raise it (or a subclass) from resolvers, the document resolver or limits. ``http_status`` only
    matters when the error stops a request before execution (then there is no ``data``).
    """

    code: ErrorCode = ErrorCode.BAD_REQUEST
    http_status: int = 400

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | None = None,
        extensions: Mapping[str, Any] | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.extensions: dict[str, Any] = dict(extensions or {})

    def to_extensions(self) -> dict[str, Any]:
        return {"code": str(self.code), **self.extensions}

    def to_dict(self) -> dict[str, Any]:
        """The error as a response entry, for errors raised outside execution."""
        return {"message": self.message, "extensions": self.to_extensions()}


class BadRequest(GraphError):
    code = ErrorCode.BAD_REQUEST


class BadUserInput(GraphError):
    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(GraphError):
    code = ErrorCode.UNAUTHENTICATED
    http_status = 401


class Forbidden(GraphError):
    code = ErrorCode.FORBIDDEN
    http_status = 403


class NotFound(GraphError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class UpstreamRateLimited(GraphError):
    code = ErrorCode.UPSTREAM_RATE_LIMITED
    http_status = 429

    def __init__(
        self, message: str = "Kickserv is rate limiting us.", *, retry_after: float
    ) -> None:
        super().__init__(message, extensions={"retryAfter": retry_after})
        self.retry_after = retry_after


class UpstreamUnavailable(GraphError):
    code = ErrorCode.UPSTREAM_UNAVAILABLE
    http_status = 503


class QueryTooComplex(GraphError):
    code = ErrorCode.QUERY_TOO_COMPLEX


class PersistedQueryNotFound(GraphError):
    """Apollo APQ clients resend the full query on this code; they read it from the body."""

    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND
    http_status = 404  # as Apollo Server 4 and Router answer

    def __init__(self, message: str = "PersistedQueryNotFound") -> None:
        super().__init__(message)


class PersistedQueryNotAllowed(GraphError):
    code = ErrorCode.PERSISTED_QUERY_NOT_ALLOWED
    http_status = 403


class RequestTooLarge(GraphError):
    code = ErrorCode.REQUEST_TOO_LARGE
    http_status = 413


class InternalServerError(GraphError):
    code = ErrorCode.INTERNAL_SERVER_ERROR
    http_status = 500


ErrorMapper = Callable[[BaseException], GraphError | None]
"""Turns a foreign exception into a GraphError, or returns None when it is not its kind."""


@dataclass(frozen=True, slots=True)
class ErrorClassifier:
    """The client-facing form of an exception: a GraphError as it is, else the first mapper's
    answer, in order; None means it must be masked."""

    mappers: tuple[ErrorMapper, ...] = ()

    def __call__(self, exc: BaseException) -> GraphError | None:
        if isinstance(exc, GraphError):
            return exc
        for mapper in self.mappers:
            mapped = mapper(exc)
            if mapped is not None:
                return mapped
        return None


def format_error(
    error: GraphQLError, default_code: ErrorCode, classify: ErrorClassifier
) -> dict[str, Any]:
    """One response entry for ``error``: known errors keep code and message, the rest are masked.

    ``default_code`` names what graphql-core itself reports at that stage (parse, validation,
    variables, field results) when the error carries no code of its own.
    """
    formatted = error.formatted
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # graphql-core's own errors and GraphQLErrors raised on purpose: their text is meant for us.
        extensions = dict(formatted.get("extensions") or {})
        extensions.setdefault("code", str(default_code))
        formatted["extensions"] = extensions
        return dict(formatted)
    known = classify(original)
    if known is None:
        logger.error(
            "Unexpected error at %s: %s",
            ".".join(map(str, error.path or ())) or "<request>",
            type(original).__name__,
            exc_info=(type(original), original, original.__traceback__),
        )
        formatted["message"] = UNEXPECTED_ERROR_MESSAGE
        formatted["extensions"] = {"code": str(ErrorCode.INTERNAL_SERVER_ERROR)}
        return dict(formatted)
    formatted["message"] = known.message
    formatted["extensions"] = known.to_extensions()
    return dict(formatted)
