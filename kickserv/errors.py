"""Every error the Kickserv client raises.

```
KickservError                 anything this package raises on purpose
├── TransportError            no HTTP answer (connection refused, reset, DNS, ...)
│   └── Timeout               the request timed out
├── ResponseShape             an answer that is not the JSON shape we parse (wrong type, missing key)
└── APIError                  Kickserv answered with an error status
    ├── Unauthorized          401: wrong account slug or token
    ├── Forbidden             403: the token's employee may not do this
    ├── NotFound              404, or 400 "Invalid customer." (Kickserv's v1-style missing record)
    ├── UnsupportedRoute      405, or a 404 that is no missing record on a route the reference does
    │                         not confirm: this Kickserv lacks the route (`route` names it)
    ├── BadRequest            any other 400
    ├── Validation            422: `field_errors` says which fields to fix
    ├── RateLimited           429: `retry_after` seconds, when Kickserv said
    └── ServerError           5xx
```

Messages say what happened, where (method and path, never the host's credentials) and how to fix it.
No message, attribute or repr ever holds the API token or the Authorization header. The mapping from
status codes to classes lives in one function, `_error_class`; `error_for_status`, at the end of
this module, builds the exception and its message.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

__all__ = [
    "APIError",
    "BadRequest",
    "Forbidden",
    "KickservError",
    "NotFound",
    "RateLimited",
    "ResponseShape",
    "ServerError",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "UnsupportedRoute",
    "Validation",
    "error_for_status",
]


class KickservError(Exception):
    """Base of every error raised by the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class TransportError(KickservError):
    """No HTTP answer arrived; reads were retried before this was raised."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class Timeout(TransportError):
    """The request timed out (connect, read, write or pool)."""


class ResponseShape(KickservError):
    """Kickserv answered, but the body is not the JSON we expected.

    `where` names the field (``Customer.customer_number``); `method`/`path` are filled in when the
    error crosses the request boundary.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path

    def at(self, method: str, path: str) -> ResponseShape:
        """The same error, located at the request that produced the body."""
        if self.path is not None:
            return self
        located = ResponseShape(
            f"{method} {path} answered a body we cannot read: {self.message} "
            "Kickserv may have changed this response; update kickserv/records to accept it.",
            method=method,
            path=path,
        )
        located.__cause__ = self.__cause__
        return located


class APIError(KickservError):
    """Kickserv answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int,
        request_id: str | None = None,
        messages: tuple[str, ...] = (),
        field_errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.request_id = request_id
        self.messages = messages
        self.field_errors: dict[str, list[str]] = field_errors or {}


class Unauthorized(APIError):
    """401: the account slug or API token is wrong (a password change also changes the token)."""


class Forbidden(APIError):
    """403: the employee behind the token lacks the permission in Kickserv's web UI."""


class NotFound(APIError):
    """404, or 400 with a message such as "Invalid customer." (how Kickserv reports a missing record)."""


class UnsupportedRoute(APIError):
    """This Kickserv does not serve the route: a 405, or a 404 (not "Invalid job.") on a URL the
    reference does not confirm. `route` is the route's pattern ("PUT /jobs/{n}/tags.json")."""

    route: str = ""


def unsupported(exc: APIError, route: str) -> UnsupportedRoute:
    """`exc` (a 404 or 405 of a route the reference does not confirm) as an UnsupportedRoute."""
    error = UnsupportedRoute(
        f"{exc.method} {exc.path} answered {exc.status}: this Kickserv does not serve {route} "
        "(the reference does not confirm that route).",
        method=exc.method,
        path=exc.path,
        status=exc.status,
        request_id=exc.request_id,
        messages=exc.messages,
    )
    error.route = route
    return error


def is_missing_route(exc: APIError) -> bool:
    """A 405, or a 404 that does not say a record is missing ("Invalid job." is a missing job)."""
    if exc.status == 405:
        return True
    return exc.status == 404 and not any(m.startswith("Invalid ") for m in exc.messages)


class BadRequest(APIError):
    """400 other than a missing record: a parameter Kickserv refused."""


class Validation(APIError):
    """422: the record was refused; `field_errors` maps each field to its messages."""


class RateLimited(APIError):
    """429: too many requests; `retry_after` is the wait Kickserv asked for, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int = 429,
        request_id: str | None = None,
        messages: tuple[str, ...] = (),
        field_errors: dict[str, list[str]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            method=method,
            path=path,
            status=status,
            request_id=request_id,
            messages=messages,
            field_errors=field_errors,
        )
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: Kickserv failed; reads were retried before this was raised."""


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_details(body: bytes) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """Messages and field errors from Rails-style bodies: {"errors": [...]}, {"errors": {f: [...]}},
    {"error": "..."} or {"message": "..."}; anything else gives no messages."""
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return (), {}
    if not isinstance(data, dict):
        return (), {}
    errors = data.get("errors", data.get("error", data.get("message")))
    if isinstance(errors, str):
        return (errors,), {}
    if isinstance(errors, list):
        return tuple(str(e) for e in errors), {}
    if isinstance(errors, dict):
        fields: dict[str, list[str]] = {}
        for name, problems in errors.items():
            listed = problems if isinstance(problems, list) else [problems]
            fields[str(name)] = [str(p) for p in listed]
        messages = tuple(
            p if p.lower().startswith(name.replace("_", " ").lower()) else f"{name} {p}"
            for name, problems in fields.items()
            for p in problems
        )
        return messages, fields
    return (), {}


# What to do about each kind of error, said after what happened. RateLimited's depends on the wait.
_HINTS: dict[type[APIError], str] = {
    Unauthorized: (
        "Check the account slug in the URL and the API token: Kickserv wants the employee's "
        "token as both HTTP Basic user and password, and a password change issues a new token."
    ),
    Forbidden: "The token's employee lacks this permission in Kickserv; use an admin's token.",
    NotFound: (
        "No such record for this account and token. Customer and job URLs take numbers "
        "(customer_number, job_number), not global ids; an employee limited to assignments "
        "sees only jobs with a task assigned to them."
    ),
    BadRequest: "Kickserv refused the parameters; check the query string and body.",
    UnsupportedRoute: "This Kickserv does not serve that verb on that URL.",
    Validation: "Fix the fields named in field_errors and send again.",
    ServerError: "Kickserv failed on its side; try again later.",
    APIError: "Kickserv did not expect this request.",
}


def _error_class(status: int, first_message: str) -> type[APIError]:
    """The class of an error status. A 400 whose first message starts "Invalid " is Kickserv's
    way of saying a record is missing; a 2xx reaches here only when a write carried `errors`."""
    if status == 401:
        return Unauthorized
    if status == 405:
        return UnsupportedRoute
    if status == 403:
        return Forbidden
    if status == 404 or (status == 400 and first_message.startswith("Invalid ")):
        return NotFound
    if status == 400:
        return BadRequest
    if status == 422 or status < 300:
        return Validation
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return APIError


def error_for_status(
    method: str,
    path: str,
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    attempts: int = 1,
) -> APIError:
    """The one place where an error status becomes an exception and a message."""
    messages, field_errors = _error_details(body)
    request_id = headers.get("x-request-id")
    said = "; ".join(messages) if messages else "no error message"
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    where = f"{method} {path} answered {status}{tried} ({said})"
    rid = f" [X-Request-Id {request_id}]" if request_id else ""
    context: dict[str, Any] = {
        "method": method,
        "path": path,
        "status": status,
        "request_id": request_id,
        "messages": messages,
        "field_errors": field_errors,
    }
    kind = _error_class(status, messages[0] if messages else "")
    if kind is RateLimited:
        retry_after = retry_after_seconds(headers.get("retry-after"))
        wait = f"wait {retry_after:g} s" if retry_after is not None else "wait"
        hint = (
            f"Kickserv is rate limiting this token; {wait}, or lower the client's max_concurrency."
        )
        return RateLimited(f"{where}. {hint}{rid}", retry_after=retry_after, **context)
    return kind(f"{where}. {_HINTS[kind]}{rid}", **context)
