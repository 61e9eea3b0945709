"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/) as one ASGI endpoint.

Our own code rather than Strawberry's view: later steps (persisted queries, limits, tracing) plug in
through small hooks, and the hot path stays short: a document is parsed and validated once per
distinct query text (``DocumentCache``), then graphql-core executes it straight on Strawberry's
``GraphQLSchema`` with Strawberry's executor class (so resolvers get their usual ``Info``).
Strawberry ``SchemaExtension``s do not run on this path; hooks here replace them.

Status codes. Malformed requests (bad JSON, no query, wrong parameter types) get 400, oversized
bodies 413 before any parsing, unknown methods 405, unknown content types 415, whatever the Accept
header. GraphQL request errors (parse, validation, variable coercion, operation selection) get 400
under ``application/graphql-response+json`` and 200 under ``application/json``, as the spec asks.
Results that executed get 200. A mutation over GET gets 405 with ``Allow: POST``.

With a ``ResponseCache`` (graph.server.response_cache), a query whose identical response is cached is
answered with its stored bytes right after the limits: no context, no execution, no serialization;
an exact repeat of a request so answered, right after its body is read (graph.server.replays).

The caller is authenticated once per HTTP request (``__call__``); ``_run`` serves one operation. A
POST of a JSON array (graph.server.requests.Batch) runs each operation through ``_run`` concurrently,
as Apollo Server and Router do, each measured by the limits and the caller's budget on its own, and
answers a JSON array of their results in order, with 200: an operation's errors, even those that
would refuse a request of its own (an APQ miss, a limit), stay in its own result. Every answer
carries ``Cache-Control`` and ``Vary`` (graph.server.http_headers): a batch the most restrictive of
its operations'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from inspect import isawaitable
from typing import Any, TypeGuard, cast
from urllib.parse import parse_qsl

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
)
from graphql.utilities import get_operation_ast
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive, Scope, Send
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable

from graph.schema.error_mapping import SCHEMA_ERROR_MAPPERS
from graph.schema.errors import (
    UNEXPECTED_ERROR_MESSAGE,
    BadRequest,
    ErrorClassifier,
    ErrorCode,
    GraphError,
    InternalServerError,
    format_error,
)
from graph.schema.query import graphql_schema
from graph.server.documents import DocumentCache
from graph.server.graphiql import GraphiQLPages
from graph.server.http_headers import CachePolicy
from graph.server.observe import note_response, note_response_cache_hit
from graph.server.otel import Tracing, operation_attributes
from graph.server.replays import REPLAYED_TRACE, Replays, key_of, replayable
from graph.server.requests import (
    GRAPHQL_RESPONSE_JSON,
    Batch,
    GraphQLParams,
    check_content_type,
    check_operation_allowed,
    content_type_of,
    negotiate_media_type,
    operation_not_found,
    own_headers,
    params_from_body,
    params_from_query_string,
    read_body,
    state_of,
    wants_graphiql,
)
from graph.server.response_cache import ResponseCache, ResponseKey
from graph.server.settings import Settings
from graph.server.subscriptions import RequestErrors, Subscriptions, wants_event_stream
from graph.server.tracing import TraceRecorder, wants_trace

logger = logging.getLogger("graph.server.http")

DEFAULT_CLASSIFIER = ErrorClassifier(SCHEMA_ERROR_MAPPERS)

# Strawberry's fast check (primitives first); typed as the TypeGuard graphql-core asks for.
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


ContextFactory = Callable[[Request], Awaitable[Any]]
"""Builds the per-request context (tenant, loaders); may raise GraphError (e.g. Unauthenticated)."""
DocumentResolver = Callable[[Request, GraphQLParams], Awaitable[str]]
"""Turns params (query text, persisted-query extensions) into query text, or raises GraphError."""
ResultHook = Callable[[Any, ExecutionResult], Awaitable[dict[str, Any] | None]]
"""Called with (context, result) after execution; returns entries for the response's extensions."""
Authenticate = Callable[[Request], Awaitable[Any]]
"""Identifies the caller before anything else (or raises Unauthenticated); the result is kept as
``request.state.caller`` for the document resolver, the operation check and the context factory."""
OperationCheck = Callable[
    [Request, DocumentNode, OperationDefinitionNode, Mapping[str, Any] | None], None
]
"""Runs on a valid operation before the context exists: limits, introspection; raises GraphError."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What one request (or one operation of a batch) answers: its HTTP status, its body (built,
    already serialized by the response cache, or a batch's list of either), and for how many more
    seconds it may be reused (0: not at all)."""

    status: int
    payload: dict[str, Any] | bytes | list[dict[str, Any] | bytes]
    fresh_for: float = 0.0


async def query_text_only(request: Request, params: GraphQLParams) -> str:
    """The default document resolver: the ``query`` parameter, which must be there."""
    if params.query is None:
        raise BadRequest("The request has no 'query' parameter: send the GraphQL document as text.")
    replayable(request)
    return params.query


async def empty_context(request: Request) -> Any:
    return None


class GraphQLEndpoint:
    """The /graphql ASGI endpoint: GraphiQL for browsers, GraphQL over HTTP for everyone else."""

    def __init__(
        self,
        schema: Schema,
        context_factory: ContextFactory = empty_context,
        settings: Settings | None = None,
        *,
        document_resolver: DocumentResolver = query_text_only,
        on_result: ResultHook | None = None,
        validation_rules: Collection[type[ASTValidationRule]] = (),
        max_tokens: int | None = None,
        document_cache_size: int = 1024,
        document_cache_bytes: int | None = None,
        graphiql: bool = True,
        authenticate: Authenticate | None = None,
        check_operation: OperationCheck | None = None,
        federated_tracing: bool = True,
        response_cache: ResponseCache | None = None,
        classify_error: ErrorClassifier = DEFAULT_CLASSIFIER,
        otel: Tracing | None = None,
        cache_policy: CachePolicy | None = None,
    ) -> None:
        self.schema = schema
        self.otel = otel
        self.classify_error = classify_error
        self.context_factory = context_factory
        self.settings = settings or Settings()
        self.document_resolver = document_resolver
        self.on_result = on_result
        self.graphiql = graphiql
        self.authenticate = authenticate
        self.check_operation = check_operation
        self.federated_tracing = federated_tracing
        self.response_cache = response_cache
        self.replays = (
            None if response_cache is None else Replays(response_cache, response_cache.max_entries)
        )
        self.max_body_bytes = self.settings.max_body_bytes
        self.max_batch = self.settings.max_batch
        self.cache_policy = cache_policy or CachePolicy.of(self.settings)
        self._graphql_schema: GraphQLSchema = graphql_schema(schema)
        self.documents = DocumentCache(
            self._graphql_schema,
            maxsize=document_cache_size,
            max_bytes=document_cache_bytes or self.settings.document_cache_max_bytes,
            max_tokens=max_tokens,
            validation_rules=validation_rules,
            tracing=otel,
        )
        self._executor_class = schema.execution_context_class
        self.pages = GraphiQLPages()
        # graphql-transport-ws (the app's WebSocket route) and SSE (here) for subscriptions
        self.subscriptions = Subscriptions(self, max_per_key=self.settings.max_subscriptions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        headers = own_headers(scope)
        accept = headers.get("accept", "")
        media_type = negotiate_media_type(accept)
        method = scope["method"]
        try:
            body = b""
            if method == "POST":
                check_content_type(headers.get("content-type"))
                body = await read_body(
                    receive,
                    headers.get("content-length"),
                    self.max_body_bytes,
                    self.settings.body_timeout,
                )
            elif method != "GET":
                raise GraphError(
                    f"Method {method} is not allowed on this endpoint; use GET or POST.",
                    http_status=405,
                )
            replays = self.replays
            seen = None if replays is None else key_of(scope, body)
            if seen is not None and await self._replay(request, seen, media_type, send):
                return
            if method == "GET":
                pairs = dict(parse_qsl(scope["query_string"].decode("latin-1")))
                if wants_graphiql(self.graphiql, pairs, accept):
                    await self.pages.send(scope, send)
                    return
                params: GraphQLParams | Batch = params_from_query_string(pairs)
            else:
                params = params_from_body(body, self.max_batch)
            streams = wants_event_stream(accept)
            if (
                replays is not None
                and seen is not None
                and not isinstance(params, Batch)
                and not streams
            ):
                replays.expect(request, seen, media_type)  # one operation, answered as JSON
            if self.authenticate is not None:
                state_of(request)["caller"] = await self.authenticate(request)
            if not isinstance(params, Batch) and streams:
                try:
                    await self.subscriptions.serve_sse(request, params, send, receive)
                except RequestErrors as refused:
                    no_store = self.cache_policy.headers()
                    await _send_json(send, 400, {"errors": refused.errors}, media_type, no_store)
                return
            if isinstance(params, Batch):
                answer = await self._run_batch(request, params, media_type, headers)
            else:
                answer = await self._run(request, params, media_type, headers)
        except GraphError as error:
            allow = "POST" if error.http_status == 405 and method == "GET" else "GET, POST"
            extra: tuple[tuple[bytes, bytes], ...] = ()
            if error.http_status == 405:
                extra = ((b"allow", allow.encode()),)
            elif error.http_status == 408:
                # The rest of the body may still come: uvicorn closes the connection instead.
                extra = ((b"connection", b"close"),)
            elif error.http_status == 401:
                extra = ((b"www-authenticate", b"Bearer"),)
            extra += self.cache_policy.headers()
            await _send_json(
                send, error.http_status, {"errors": [error.to_dict()]}, media_type, extra
            )
            return
        except ClientDisconnect:
            return
        except Exception:
            # A bug of ours or of a hook: masked, logged, and still a GraphQL-shaped answer.
            logger.exception("Unexpected error while serving a GraphQL request")
            masked = InternalServerError(UNEXPECTED_ERROR_MESSAGE)
            no_store = self.cache_policy.headers()
            await _send_json(send, 500, {"errors": [masked.to_dict()]}, media_type, no_store)
            return
        cache_headers = self.cache_policy.headers(answer.fresh_for)
        await _send_json(send, answer.status, answer.payload, media_type, cache_headers)

    async def _replay(self, request: Request, seen: bytes, media_type: str, send: Send) -> bool:
        """Answer an exact repeat of a request a response cache hit answered (graph.server.replays),
        if it still may be; False: it goes the whole way."""
        assert self.replays is not None
        found = await self.replays.answer(request, seen)
        if found is None:
            return False
        replay, hit = found
        if self.otel is not None and replay.trace is not None:
            self.otel.annotate(replay.trace)
        assert self.response_cache is not None
        cache_headers = self.cache_policy.headers(self.response_cache.fresh_for(hit.expires_at))
        await _send_json(send, 200, hit.body, media_type, cache_headers)
        return True

    async def _run_batch(
        self, request: Request, batch: Batch, media_type: str, headers: Mapping[str, str]
    ) -> Answer:
        """The operations of a batch, concurrently; their results in order."""
        if self.otel is not None:
            self.otel.mark("kickserv_graph.batch_size", len(batch.items))
        answers = await asyncio.gather(
            *(self._run_item(request, item, media_type, headers) for item in batch.items)
        )
        fresh_for = min(answer.fresh_for for answer in answers)
        return Answer(200, [cast("dict[str, Any] | bytes", a.payload) for a in answers], fresh_for)

    async def _run_item(
        self,
        request: Request,
        item: GraphQLParams | GraphError,
        media_type: str,
        headers: Mapping[str, str],
    ) -> Answer:
        """One operation of a batch: whatever refuses it is its own result, not the batch's."""
        try:
            if isinstance(item, GraphError):
                raise item
            if self.otel is None:
                return await self._run(request, item, media_type, headers)
            with self.otel.phase("graphql.operation"):  # its own name, type and phases
                return await self._run(request, item, media_type, headers)
        except GraphError as error:
            return Answer(error.http_status, {"errors": [error.to_dict()]})
        except Exception:
            logger.exception("Unexpected error while serving an operation of a batch")
            masked = InternalServerError(UNEXPECTED_ERROR_MESSAGE)
            return Answer(500, {"errors": [masked.to_dict()]})

    async def _run(
        self,
        request: Request,
        params: GraphQLParams,
        media_type: str,
        headers: Mapping[str, str],
    ) -> Answer:
        query = await self.document_resolver(request, params)
        cached = self.documents.get(query)
        request_error_status = 400 if media_type == GRAPHQL_RESPONSE_JSON else 200
        if cached.document is None:
            return self._request_errors(cached.errors, cached.error_code, request_error_status)
        operation = get_operation_ast(cached.document, params.operation_name)
        if operation is not None:
            if self.otel is not None:
                self.otel.operation(operation)
            check_operation_allowed(operation, request.method)
        if cached.errors:
            return self._request_errors(cached.errors, cached.error_code, request_error_status)
        if operation is None:
            return Answer(request_error_status, operation_not_found(params.operation_name))
        if self.check_operation is not None:
            self.check_operation(request, cached.document, operation, params.variables)

        tracing = self.federated_tracing and wants_trace(headers)
        response_key: ResponseKey | None = None
        if (
            self.response_cache is not None
            and operation.operation is OperationType.QUERY
            and not tracing
        ):
            response_key = await self.response_cache.key(
                request, query, params.operation_name, params.variables
            )
            if response_key is not None:
                hit = self.response_cache.lookup(response_key)
                if hit is not None:
                    note_response_cache_hit()
                    trace = None
                    if self.otel is not None:
                        self.otel.mark("kickserv_graph.response_cache", "hit")
                        trace = {**operation_attributes(operation), **REPLAYED_TRACE}
                    if self.replays is not None:
                        self.replays.remember(request, response_key, trace)
                    return Answer(200, hit.body, self.response_cache.fresh_for(hit.expires_at))

        context = await self._make_context(request)
        tracer = TraceRecorder() if tracing else None
        with nullcontext() if self.otel is None else self.otel.phase("graphql.execute", operation):
            result = execute(
                self._graphql_schema,
                cached.document,
                context_value=context,
                variable_values=params.variables,
                operation_name=params.operation_name,
                executor_class=self._executor_class,
                is_awaitable=_is_awaitable,
                operation_extensions=params.extensions,
                middleware=None if tracer is None else [tracer],
            )
            if isawaitable(result):
                result = await result
        assert isinstance(result, ExecutionResult)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # Variable coercion failed: nothing executed, so this is a request error.
            return self._request_errors(
                result.errors, ErrorCode.BAD_USER_INPUT, request_error_status
            )

        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [
                format_error(e, ErrorCode.INTERNAL_SERVER_ERROR, self.classify_error)
                for e in result.errors
            ]
        extensions = dict(result.extensions or {})
        fresh_for = 0.0
        if (
            self.response_cache is not None
            and operation.operation is OperationType.QUERY
            and not tracing
            and not result.errors
            and result.data is not None
        ):
            expires_at = self.response_cache.expires_at(context)
            if expires_at is not None:
                fresh_for = self.response_cache.fresh_for(expires_at)
                if response_key is not None:
                    self._remember(response_key, expires_at, result.data, extensions)
        if self.on_result is not None:
            extensions.update(await self.on_result(context, result) or {})
        if tracer is not None:
            tracer.add_errors(payload.get("errors", ()))
            extensions["ftv1"] = tracer.finish()
        if extensions:
            payload["extensions"] = extensions
            if "stale" in extensions:  # served from the cache past its freshness: not to be kept
                fresh_for = 0.0
        return Answer(200, payload, fresh_for)

    def _remember(
        self, key: ResponseKey, expires_at: float, data: dict[str, Any], extensions: dict[str, Any]
    ) -> None:
        """Store what a hit on ``key`` answers: this data, with the cache's hit extensions."""
        cache = self.response_cache
        assert cache is not None
        payload: dict[str, Any] = {"data": data}
        if extensions or cache.hit_extensions:
            payload["extensions"] = {**extensions, **cache.hit_extensions}
        try:
            body = orjson.dumps(payload, default=_json_default)
        except TypeError:
            return  # the miss's own answer reports it
        cache.put(key, body, expires_at)

    def _request_errors(
        self, errors: Collection[GraphQLError], code: ErrorCode | None, status: int
    ) -> Answer:
        """Errors that stopped the request before execution, with ``status`` (the media type's);
        a limit (``QUERY_TOO_COMPLEX``, from the parser or a validation rule) is 400 under both."""
        default = code or ErrorCode.BAD_REQUEST
        formatted = [format_error(e, default, self.classify_error) for e in errors]
        if any(e["extensions"].get("code") == ErrorCode.QUERY_TOO_COMPLEX for e in formatted):
            status = 400
        return Answer(status, {"errors": formatted})

    async def _make_context(self, request: Request) -> Any:
        try:
            return await self.context_factory(request)
        except GraphError:
            raise
        except Exception:
            logger.exception("The context factory failed")
            raise InternalServerError(UNEXPECTED_ERROR_MESSAGE) from None


async def _send_json(
    send: Send,
    status: int,
    payload: dict[str, Any] | bytes | list[dict[str, Any] | bytes],
    media_type: str,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    if isinstance(payload, bytes):  # already serialized (a response cache hit)
        body = payload
    else:
        document: Any = payload
        if isinstance(payload, list):  # a batch: hits go in as they were stored
            document = [orjson.Fragment(p) if isinstance(p, bytes) else p for p in payload]
        try:
            body = orjson.dumps(document, default=_json_default)
        except TypeError:
            logger.exception("A GraphQL response could not be serialized")
            status, body = 500, _UNSERIALIZABLE
    note_response(status, payload)  # the access log's outcome and error codes
    headers = [
        (b"content-type", content_type_of(media_type)),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_UNSERIALIZABLE = orjson.dumps(
    {"errors": [InternalServerError(UNEXPECTED_ERROR_MESSAGE).to_dict()]}
)


def _json_default(value: Any) -> Any:
    """What orjson lacks natively: Decimal (money stays exact, as a string)."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
