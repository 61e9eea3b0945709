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
    ├── BadRequest            any other 400
    ├── Validation            422: `field_errors` says which fields to fix
    ├── RateLimited           429: `retry_after` seconds, when Kickserv said
    └── ServerError           5xx
```

Messages say what happened, where (method and path, never the host's credentials) and how to fix it.
No message, attribute or repr ever holds the API token or the Authorization header. The mapping from
status codes to classes lives in one function, `kickserv.transport.error_for_status`.
"""

from __future__ import annotations

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
    "Validation",
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
