"""One record per HTTP request, filled as the request goes, and what becomes of it at the end: one
access-log line and the request's metrics (``graph.server.metrics``).

``ObserveMiddleware`` wraps the app. It takes the request's ``X-Request-Id`` (kept when it is at
most 128 characters of ``A-Z a-z 0-9 . _ ~ : / + = @ -``, otherwise a new id is made), echoes it on
the response, and keeps a ``RequestRecord`` in a context variable for the length of the request.
The code that learns something fills it in: the caller (``note_caller``, at authentication), the
document (``note_document``), the operation (``note_operation``), the request's ``UpstreamStats``
(``note_stats``, by the context factory), the answer and its error codes (``note_response``, by the
GraphQL endpoint as it sends it). Nothing else is recorded: never a key, a token, a header, the
document's text or a variable's value.

The access line, logger ``graph.access``: INFO for every request but probes, metrics and static
files (DEBUG). ``GRAPH_LOG_FORMAT=json`` (production's default) writes every log line as one JSON
object (``JsonFormatter``; lines logged while a request is served carry its ``request_id`` and
``key``); ``text`` (development's) a readable line with the same fields as ``name=value``.
``logging_config`` is what ``serve`` hands uvicorn for every worker.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import getrandbits
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graph.server.collector import IDLE
from resolvers.stats import UpstreamStats

if TYPE_CHECKING:
    from graph.server.metrics import Metrics

access_logger = logging.getLogger("graph.access")

REQUEST_ID_HEADER = b"x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._~:/+=@-]{1,128}")
QUIET_PATHS = ("/healthz", "/readyz", "/metrics", "/static/")
MAX_ERROR_CODES = 10


@dataclass(slots=True)
class RequestRecord:
    """What one request was, as far as it got; see the module docstring for who fills what."""

    request_id: str
    method: str = ""
    path: str = ""
    key: str | None = None  # the API key's name (anonymous, pass-through), never the key
    account: str | None = None
    operations: list[str | None] = field(default_factory=list)  # None: an anonymous operation
    operation_type: str | None = None
    document_source: str | None = None  # query, apq, manifest
    document_id: str | None = None
    stats: list[UpstreamStats] = field(default_factory=list)  # one per operation executed
    response_cache_hit: bool = False
    graphql: bool = False  # the GraphQL endpoint answered
    outcome: str = "ok"  # ok, error (executed with errors), rejected (4xx), failed (5xx)
    error_codes: list[str] = field(default_factory=list)

    @property
    def replays(self) -> int:
        return sum(s.replays for s in self.stats)


_current: ContextVar[RequestRecord | None] = ContextVar("kickserv_graph_request", default=None)


def current_record() -> RequestRecord | None:
    return _current.get()


def current_key() -> str:
    """The name of the API key the current request came with, for log messages."""
    record = _current.get()
    key = None if record is None else record.key
    return "(unknown)" if key is None else repr(key)


def note_caller(name: str, account: str) -> None:
    record = _current.get()
    if record is not None:
        record.key, record.account = name, account


def note_document(source: str, document_id: str | None) -> None:
    record = _current.get()
    if record is not None:
        record.document_source, record.document_id = source, document_id


def note_operation(name: str | None, operation_type: str) -> None:
    record = _current.get()
    if record is not None:
        record.operations.append(name)
        record.operation_type = operation_type


def note_stats(stats: UpstreamStats) -> None:
    record = _current.get()
    if record is not None:
        record.stats.append(stats)


def note_response_cache_hit() -> None:
    record = _current.get()
    if record is not None:
        record.response_cache_hit = True


@dataclass(frozen=True, slots=True)
class Notes:
    """What authentication, the document resolver and the operation check noted of a request:
    what an exact repeat of it, answered without them (graph.server.replays), notes again."""

    key: str | None
    account: str | None
    operations: tuple[str | None, ...]
    operation_type: str | None
    document_source: str | None
    document_id: str | None


def current_notes() -> Notes | None:
    record = _current.get()
    if record is None:
        return None
    return Notes(
        record.key,
        record.account,
        tuple(record.operations),
        record.operation_type,
        record.document_source,
        record.document_id,
    )


def note_again(notes: Notes | None) -> None:
    """A repeat of the request ``notes`` were taken from, answered by a response cache hit."""
    record = _current.get()
    if record is None or notes is None:
        return
    replayed(record, notes)


def replayed(record: RequestRecord, notes: Notes | None) -> None:
    """``record`` is of a repeat of the request ``notes`` were taken from, answered by a hit."""
    record.response_cache_hit = True
    if notes is not None:
        record.key, record.account = notes.key, notes.account
        record.operations.extend(notes.operations)
        record.operation_type = notes.operation_type
        record.document_source, record.document_id = notes.document_source, notes.document_id


def note_response(status: int, payload: Any) -> None:
    """The GraphQL endpoint's answer (a response, its serialized bytes, or a batch's list of
    either): its outcome and the codes of its errors."""
    record = _current.get()
    if record is None:
        return
    record.graphql = True
    results = payload if isinstance(payload, list) else [payload]
    rejected = executed_with_errors = False
    for result in results:
        if not isinstance(result, Mapping):
            continue  # serialized: a response cache hit, which had no errors
        errors = result.get("errors") or ()
        for error in errors:
            _note_code(record, error)
        if errors and "data" not in result:
            rejected = True
        elif errors:
            executed_with_errors = True
    if status >= 500:
        record.outcome = "failed"
    elif status >= 400 or rejected:
        record.outcome = "rejected"
    elif executed_with_errors:
        record.outcome = "error"


def _note_code(record: RequestRecord, error: Any) -> None:
    extensions = error.get("extensions") if isinstance(error, Mapping) else None
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    if (
        isinstance(code, str)
        and code not in record.error_codes
        and len(record.error_codes) < MAX_ERROR_CODES
    ):
        record.error_codes.append(code)


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-Id`` when it is safe to log and echo, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return request_id_from(value)
    return request_id_from(None)


def request_id_from(sent: bytes | None) -> str:
    """``request_id_of`` for the value of the request's first ``X-Request-Id`` (None: none)."""
    if sent is not None:
        text = sent.decode("latin-1")
        if _REQUEST_ID.fullmatch(text):
            return text
    return f"{getrandbits(128):032x}"  # an id, not a secret: no system call per request


MAX_PATH = 256


def loggable(path: str) -> str:
    """A request path as it may stand in a line: control characters escaped (a decoded ``%0A``
    would forge a line of its own in the text format), at most ``MAX_PATH`` characters. The query
    string, where a GET's variables travel, is never logged."""
    if not path.isprintable():
        path = path.encode("unicode_escape").decode("ascii")
    return path if len(path) <= MAX_PATH else path[:MAX_PATH] + "..."


STARTED = "observe.started"  # in a request's state: when something ahead of the app first saw it
_NO_STATE: dict[str, Any] = {}


class HttpWrapper:
    """An ASGI app around ``app`` that does its work (``serve``) for HTTP requests only: WebSocket
    and lifespan scopes go to ``app`` untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.serve(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class ObserveMiddleware(HttpWrapper):
    """Gives each HTTP request a ``RequestRecord`` and, when it ends, logs it and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = scope.get("state", _NO_STATE).get(STARTED) or time.perf_counter()
        record = RequestRecord(request_id_of(scope), scope["method"], loggable(scope["path"]))
        echoed = record.request_id.encode("latin-1")
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, echoed)]
            await send(message)

        token = _current.set(record)
        IDLE.begin()
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            status = status or 500
            raise
        finally:
            IDLE.end()
            _current.reset(token)
            finish_request(record, status, time.perf_counter() - started, self.metrics)


def finish_request(
    record: RequestRecord, status: int, duration: float, metrics: Metrics | None
) -> None:
    """What becomes of a request when it ends: its metrics and its access line."""
    if record.graphql and metrics is not None:
        metrics.observe_request(record, duration)
    quiet = not record.graphql and record.path.startswith(QUIET_PATHS)
    level = logging.DEBUG if quiet else logging.INFO
    if access_logger.isEnabledFor(level):
        shown = status or 499  # no answer: the client went away first
        # Made here, not by ``log``: it would walk the stack for a caller no line shows.
        line = access_logger.makeRecord(
            access_logger.name,
            level,
            __file__,
            0,
            "%s %s %d",
            (record.method, record.path, shown),
            None,
            extra={"access": access_fields(record, shown, duration)},
        )
        access_logger.handle(line)


def access_fields(record: RequestRecord, status: int, duration: float) -> dict[str, Any]:
    """The access line's fields (the message says method, path and status again for people)."""
    fields: dict[str, Any] = {
        "request_id": record.request_id,
        "method": record.method,
        "path": record.path,
        "status": status,
        "duration_ms": round(duration * 1000.0, 2),
    }
    if not record.graphql and record.key is None:
        return fields
    fields["key"] = record.key
    fields["account"] = record.account
    if record.operations:
        names = record.operations
        fields["operation"] = names[0] if len(names) == 1 else names
        fields["operation_type"] = record.operation_type
    if record.document_id is not None:
        fields["document_id"] = record.document_id
    if record.document_source is not None:
        fields["document"] = record.document_source
    if record.stats:
        fields["upstream_calls"] = sum(s.calls for s in record.stats)
        fields["upstream_ms"] = round(sum(s.ms for s in record.stats), 1)
        fields["cache_hits"] = sum(s.cache_hits for s in record.stats)
        if record.replays:
            fields["idempotency_replays"] = record.replays
    if record.response_cache_hit:
        fields["response_cache"] = "hit"
    if record.graphql:
        fields["outcome"] = record.outcome
    if record.error_codes:
        fields["error_codes"] = record.error_codes
    return fields


# --- formatting -------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, pid, and the access fields or the
    current request's id and key."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            entry.update(access)
        else:
            request = _current.get()
            if request is not None:
                entry["request_id"] = request.request_id
                if request.key is not None:
                    entry["key"] = request.key
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


_second: list[Any] = [None, ""]  # the last whole second formatted, and how


def _iso_time(created: float) -> str:
    """``created`` as ISO 8601 in UTC to the millisecond (``2026-12-03T12:00:00.123+00:00``); the
    date and time of day made once per second."""
    second = int(created)
    micro = round((created - second) * 1_000_000)  # as datetime rounds a timestamp
    if micro >= 1_000_000:
        second, micro = second + 1, micro - 1_000_000
    if _second[0] != second:
        _second[:] = [second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")]
    return f"{_second[1]}.{micro // 1000:03d}+00:00"


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, then an access line's fields as ``name=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        access = getattr(record, "access", None)
        if isinstance(access, dict):
            shown = (
                f"{name}={_text(value)}"
                for name, value in access.items()
                if name not in ("method", "path", "status") and value is not None
            )
            line = " ".join((line, *shown))
        return line


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def logging_config(level: str, log_format: str) -> dict[str, Any]:
    """``logging.config.dictConfig`` input for ``serve`` (uvicorn applies it in every worker): all
    lines through one handler on stderr in ``log_format``; uvicorn's own lines too (its access log
    is off: ``graph.access`` replaces it); httpx's per-call INFO lines are left out."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    quiet = logging.getLevelName(max(logging.WARNING, logging.getLevelName(level)))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"graph": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "graph",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            "httpx": {"level": quiet},
        },
    }
