"""From an HTTP request to GraphQL parameters: headers read once, media type negotiated, the body
read within its limit, and ``query``, ``variables``, ``operationName``, ``extensions`` and
``documentId`` type-checked (GraphQL over HTTP, https://graphql.github.io/graphql-over-http/draft/).
Everything wrong here is the client's: a ``GraphError`` with its HTTP status.

A POST body may also be a JSON array of such objects (operation batching, as Apollo Client's
BatchHttpLink and Apollo Router's subgraph batching send it): a ``Batch``, at most ``max_batch``
operations (more: 400 ``QUERY_TOO_COMPLEX``, rule ``batchSize``; ``max_batch`` 0: 400
``BATCHING_NOT_ENABLED``, as Apollo Router answers with batching off). An item that is not a valid
operation is refused alone, in its own place of the answer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, Source
from graphql.language import Lexer, Token, TokenKind
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import Receive, Scope

from graph.schema.errors import BadRequest, BadUserInput, ErrorCode, GraphError, RequestTooLarge
from graph.server.limits import limit_exceeded
from graph.server.tracing import TRACE_HEADER
from resolvers.parsing import quoted

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    """The request's parameters, type-checked; ``query`` may be absent when a document resolver
    finds the text elsewhere (``extensions.persistedQuery``, ``documentId``)."""

    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    document_id: str | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """A JSON array of operations: each item its parameters, or the error refusing that item."""

    items: tuple[GraphQLParams | GraphError, ...]


class BatchingNotEnabled(GraphError):
    code = ErrorCode.BATCHING_NOT_ENABLED

    def __init__(self) -> None:
        super().__init__(
            "Batched requests (a JSON array of operations) are not enabled on this server "
            "(GRAPH_MAX_BATCH is 0): send one JSON object per request."
        )


def state_of(connection: HTTPConnection) -> dict[str, Any]:
    """The dict behind ``connection.state``: Starlette keeps it in the scope, where the server also
    puts the lifespan's state. Read and written here directly: each attribute ``State`` does not
    hold raises (and catches) an ``AttributeError`` inside the lookup, ~2 us, several times a
    request."""
    state: dict[str, Any] = connection.scope.setdefault("state", {})
    return state


_OWN_HEADERS = frozenset({b"accept", b"content-type", b"content-length", TRACE_HEADER.encode()})


def own_headers(scope: Scope) -> dict[str, str]:
    """The headers the endpoint itself reads, in one pass (the first of each name, as Starlette's
    ``Headers.get``): cheaper than a scan of every header per lookup."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in _OWN_HEADERS:
            found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found


def content_type_of(media_type: str) -> bytes:
    """The Content-Type of a GraphQL answer in ``media_type``."""
    return f"{media_type}; charset=utf-8".encode()


_MEDIA_TYPES: dict[str, str] = {}  # clients send few distinct Accept headers: negotiate each once


def negotiate_media_type(accept: str) -> str:
    media_type = _MEDIA_TYPES.get(accept)
    if media_type is None:
        if len(_MEDIA_TYPES) >= 256:
            _MEDIA_TYPES.clear()
        media_type = _MEDIA_TYPES[accept] = _negotiate_media_type(accept)
    return media_type


def _negotiate_media_type(accept: str) -> str:
    """``application/graphql-response+json`` when the client accepts it at least as much as JSON.

    Wildcards count for ``application/json`` only (as graphql-http does), so legacy clients sending
    ``*/*`` keep getting 200 for request errors. Nothing acceptable: we answer JSON anyway.
    """
    if not accept:
        return APPLICATION_JSON
    q_graphql, q_json = 0.0, 0.0
    for part in accept.lower().split(","):
        media, _, parameters = part.partition(";")
        media = media.strip()
        if media not in (GRAPHQL_RESPONSE_JSON, APPLICATION_JSON, "application/*", "*/*"):
            continue
        q = _quality(parameters)
        if media == GRAPHQL_RESPONSE_JSON:
            q_graphql = max(q_graphql, q)
        else:
            q_json = max(q_json, q)
    return GRAPHQL_RESPONSE_JSON if q_graphql > 0 and q_graphql >= q_json else APPLICATION_JSON


def _quality(parameters: str) -> float:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def wants_graphiql(enabled: bool, pairs: Mapping[str, str], accept: str) -> bool:
    """A browser navigating to the endpoint: HTML accepted, and no query or extensions sent."""
    if not enabled or "query" in pairs or "extensions" in pairs or "documentId" in pairs:
        return False
    return accepts_html(accept)


def accepts_html(accept: str) -> bool:
    """``text/html`` named in Accept with a quality above 0 (what browsers send on navigation)."""
    return any(
        part.partition(";")[0].strip() == "text/html" and _quality(part.partition(";")[2]) > 0
        for part in accept.lower().split(",")
    )


def params_from_query_string(pairs: Mapping[str, str]) -> GraphQLParams:
    """GET parameters: ``variables`` and ``extensions`` arrive JSON-encoded."""
    return _checked_params(
        pairs.get("query"),
        _json_param(pairs, "variables"),
        pairs.get("operationName") or None,
        _json_param(pairs, "extensions"),
        pairs.get("documentId") or None,
    )


def params_from_body(body: bytes, max_batch: int = 0) -> GraphQLParams | Batch:
    """One operation (a JSON object), or a batch of at most ``max_batch`` (a JSON array)."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.") from None
    if isinstance(payload, list):
        return _batch(payload, max_batch)
    if not isinstance(payload, dict):
        raise BadRequest(
            "The request body must be a JSON object with a 'query' (or a JSON array of them, "
            "a batch)."
        )
    return _params_of(payload)


def _params_of(payload: dict[str, Any]) -> GraphQLParams:
    return _checked_params(
        payload.get("query"),
        payload.get("variables"),
        payload.get("operationName"),
        payload.get("extensions"),
        payload.get("documentId"),
    )


def _batch(payload: list[Any], max_batch: int) -> Batch:
    if max_batch == 0:
        raise BatchingNotEnabled()
    if not payload:
        raise BadRequest("The batch is empty: send at least one operation in the JSON array.")
    if len(payload) > max_batch:
        raise limit_exceeded(
            "batchSize",
            len(payload),
            max_batch,
            f"The batch has {len(payload)} operations; at most {max_batch} per request.",
        )
    items: list[GraphQLParams | GraphError] = []
    for item in payload:
        if not isinstance(item, dict):
            items.append(BadRequest("Each operation of a batch must be a JSON object."))
            continue
        try:
            items.append(_params_of(item))
        except GraphError as error:
            items.append(error)
    return Batch(tuple(items))


def _json_param(pairs: Mapping[str, str], name: str) -> Any:
    raw = pairs.get(name)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(f"The '{name}' parameter is not valid JSON.") from None


def _checked_params(
    query: Any, variables: Any, operation_name: Any, extensions: Any, document_id: Any
) -> GraphQLParams:
    if query is not None and not isinstance(query, str):
        raise BadRequest("The 'query' parameter must be a string holding a GraphQL document.")
    if query is not None and _LONG_DIGITS.search(query):
        _check_number_literals(query)
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("The 'variables' parameter must be a JSON object (or null).")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest("The 'operationName' parameter must be a string (or null).")
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequest("The 'extensions' parameter must be a JSON object (or null).")
    if document_id is not None and not isinstance(document_id, str):
        raise BadRequest("The 'documentId' parameter must be a string (or null).")
    if document_id is not None and len(document_id) > MAX_DOCUMENT_ID:
        # a trusted document's id is its sha256 (``sha256:`` and 64 hex digits): longer is no id
        raise BadRequest(
            f"The 'documentId' parameter may be at most {MAX_DOCUMENT_ID} characters "
            f"(a trusted document's id is sha256:<64 hex digits>), got {len(document_id)}."
        )
    return GraphQLParams(query, variables, operation_name, extensions, document_id)


MAX_DOCUMENT_ID = 128

# Python refuses to read integers of more than 4,300 digits (sys.get_int_max_str_digits), and
# graphql-core reads every Int literal of a document with int() while validating it: such a literal
# would fail as an unexpected error (and a long Float in an Int's place is quoted whole in its
# message). A GraphQL Int holds 10 digits; number literals far longer are refused here, before
# parsing. The cheap scan finds a long run of digits; only then is the document lexed, so digits
# inside strings, comments and names are not mistaken for a literal.
MAX_NUMBER_LITERAL_DIGITS = 100
_LONG_DIGITS = re.compile(rf"[0-9]{{{MAX_NUMBER_LITERAL_DIGITS + 1}}}")
_NUMBERS = (TokenKind.INT, TokenKind.FLOAT)


def _check_number_literals(query: str) -> None:
    try:
        for token in _tokens(query):
            if token.kind in _NUMBERS and len(token.value or "") > MAX_NUMBER_LITERAL_DIGITS:
                raise BadUserInput(
                    f"The document has a number literal of {len(token.value or '')} characters "
                    f"(line {token.line}); GraphQL's Int holds at most 10 digits.",
                    extensions={"line": token.line, "column": token.column},
                )
    except GraphQLError:
        return  # not a document at all: parsing says so, with its own error


def _tokens(query: str) -> Iterator[Token]:
    lexer = Lexer(Source(query))
    token = lexer.advance()
    while token.kind is not TokenKind.EOF:
        yield token
        token = lexer.advance()


_JSON_CONTENT_TYPES: set[str] = set()  # the accepted Content-Type values seen, parsed once each


def check_content_type(content_type: str | None) -> None:
    if content_type in _JSON_CONTENT_TYPES:
        return
    media, _, parameters = (content_type or "").partition(";")
    media = media.strip().lower()
    charset = next(
        (
            v.strip().strip('"').lower()
            for n, _, v in (p.partition("=") for p in parameters.split(";"))
            if n.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if media != APPLICATION_JSON or charset not in ("utf-8", "utf8"):
        shown = content_type or "no Content-Type"
        raise GraphError(
            f"Unsupported content type ({shown}); POST a JSON body with "
            "'Content-Type: application/json'.",
            http_status=415,
        )
    if content_type is not None and len(_JSON_CONTENT_TYPES) < 64:
        _JSON_CONTENT_TYPES.add(content_type)


def declared_length(content_length: str, limit: int) -> int | None:
    """The length a Content-Length header's value says, ``limit + 1`` for any beyond ``limit``
    (however many digits); None when it is not a number."""
    digits = content_length.strip()
    if not (digits.isascii() and digits.isdigit()):
        return None
    significant = digits.lstrip("0") or "0"  # int() refuses past 4,300 digits: length first
    if len(significant) > len(str(limit)):
        return limit + 1
    return min(int(significant), limit + 1)


async def read_body(
    receive: Receive, content_length: str | None, limit: int, time_limit: float | None = None
) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` (header first, then stream),
    or when it has not all arrived within ``time_limit`` seconds (408: a client that sends half a body
    and waits holds no task of ours longer than that)."""
    if content_length is not None:
        length = declared_length(content_length, limit)
        if length is None:
            raise BadRequest("The Content-Length header is not a number.")
        if length > limit:
            raise _too_large(limit)
    reading = _receive_body(receive, limit)
    if not time_limit:
        return await reading
    # Usually the whole body came with the headers and is read without waiting: then no timer (an
    # asyncio.timeout costs a warm request more than the rest of its reading). Only a read that has
    # to wait goes on under the time limit.
    try:
        waiting_for = reading.send(None)
    except StopIteration as read:
        body: bytes = read.value
        return body
    try:
        async with asyncio.timeout(time_limit):
            return await _Resumed(reading, waiting_for)
    except TimeoutError:
        raise GraphError(
            f"The request body did not arrive within {time_limit:g} seconds.", http_status=408
        ) from None


class _Resumed:
    """Awaits the rest of a coroutine that was stepped by hand and stopped ``waiting_for`` a future
    (what ``await coroutine`` does from the start): hands each wait to the task running it, and
    each outcome back, a cancellation too."""

    def __init__(self, coroutine: Coroutine[Any, Any, bytes], waiting_for: Any) -> None:
        self.coroutine = coroutine
        self.waiting_for = waiting_for

    def __await__(self) -> Generator[Any, Any, bytes]:
        waiting_for = self.waiting_for
        while True:
            try:
                try:
                    outcome = yield waiting_for
                except BaseException as exc:
                    waiting_for = self.coroutine.throw(exc)
                else:
                    waiting_for = self.coroutine.send(outcome)
            except StopIteration as done:
                result: bytes = done.value
                return result


async def _receive_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if not message.get("more_body", False):
            return chunk if not chunks else b"".join((*chunks, chunk))
        chunks.append(chunk)


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than {limit} bytes.")


def check_operation_allowed(operation: OperationDefinitionNode, method: str) -> None:
    """Subscriptions have their own transports; only a query may come over GET."""
    if operation.operation == OperationType.SUBSCRIPTION:
        raise BadRequest(
            "Subscriptions go over WebSocket (graphql-transport-ws) or Server-Sent Events "
            "(Accept: text/event-stream) on this endpoint."
        )
    if method == "GET" and operation.operation != OperationType.QUERY:
        raise GraphError(
            f"A {operation.operation.value} cannot be sent with GET; use POST.", http_status=405
        )


def operation_not_found(operation_name: str | None) -> dict[str, Any]:
    message = (
        f"Unknown operation named {quoted(operation_name)}."
        if operation_name
        else "Must provide operation name if query contains multiple operations."
    )
    return {"errors": [BadRequest(message).to_dict()]}
