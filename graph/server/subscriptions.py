"""Subscriptions on /graphql: graphql-transport-ws over WebSocket, and GraphQL over SSE.

Both transports are served here, by our code, on the same operation path as every query:
authenticate (graph.server.auth; over WebSocket the handshake's headers, and the keys
``connection_init``'s payload carries: ``X-API-Key``, ``Authorization``, pass-through headers),
resolve the document (persisted queries and the key's safelist policy: a persisted-only key
subscribes by id or APQ hash), parse and validate once (``DocumentCache``, with the limits' rules),
check the operation (limits, the key's budget), build the context (its tenant, and ``push``: the
tenant's event log) and run graphql-core's ``subscribe`` with Strawberry's execution context.
Strawberry's own WebSocket handler would parse, validate and build context its own way (no
persisted queries, no limits, no APQ without a ``query``), which is why it is not mounted.

- **graphql-transport-ws** (the ``graphql-ws`` library's protocol, what Apollo Client, urql,
  GraphiQL and Apollo Router's ``protocol: graphql_ws`` speak): ``connection_init`` within
  ``INIT_TIMEOUT`` seconds or close 4408, ``connection_ack``, ``ping``/``pong``, ``subscribe``
  (``next``... ``complete``, or ``error`` with the GraphQL errors), ``complete`` from the client
  stops one; close codes as the protocol says (4400 bad message, 4401 subscribe before ack, 4403
  refused credentials, 4409 a reused id, 4429 a second init).
- **SSE** (graphql-sse's "distinct connections" mode): a POST (or GET) with
  ``Accept: text/event-stream`` whose operation is a subscription is answered 200
  ``text/event-stream`` with ``event: next`` per result and ``event: complete`` at the end; a
  comment line every ``KEEPALIVE`` seconds keeps proxies from closing an idle stream. What refuses
  the request before it starts (auth, persisted policy, limits, validation) is the usual JSON error
  answer with its status.

Each key may hold ``max_per_key`` subscriptions at once in this process (GRAPH_MAX_SUBSCRIPTIONS);
one more is refused with ``TOO_MANY_SUBSCRIPTIONS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from inspect import isawaitable
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    OperationDefinitionNode,
    OperationType,
    execute,
    subscribe,
)
from graphql.utilities import get_operation_ast
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from graph.schema.errors import (
    UNEXPECTED_ERROR_MESSAGE,
    BadRequest,
    ErrorCode,
    GraphError,
    InternalServerError,
    format_error,
)
from graph.server.requests import GraphQLParams, params_from_body

if TYPE_CHECKING:
    from graph.server.http import GraphQLEndpoint

logger = logging.getLogger("graph.server.subscriptions")

PROTOCOL = "graphql-transport-ws"
INIT_TIMEOUT = 10.0
KEEPALIVE = 12.0
EVENT_STREAM = "text/event-stream"
# connection_init payload entries taken as handshake headers (what clients put there)
_PAYLOAD_HEADERS = ("x-api-key", "authorization", "x-kickserv-account", "x-kickserv-token")


class TooManySubscriptions(GraphError):
    code = ErrorCode.TOO_MANY_SUBSCRIPTIONS
    http_status = 429


@dataclass
class Prepared:
    """An operation ready to run: its document, operation, variables and context."""

    document: DocumentNode
    operation: OperationDefinitionNode
    params: GraphQLParams
    context: Any


class Subscriptions:
    """The subscription transports of one ``GraphQLEndpoint``."""

    def __init__(
        self,
        endpoint: GraphQLEndpoint,
        max_per_key: int = 100,
        on_count: Callable[[int], None] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.max_per_key = max_per_key
        self.on_count = on_count
        self._open: Counter[str] = Counter()

    # What both transports share

    async def prepare(self, request: Request, params: GraphQLParams) -> Prepared | list[Any]:
        """Resolve, validate and check one operation (the caller is authenticated): ready to
        run, or its request errors (formatted) when the document is not valid."""
        endpoint = self.endpoint
        query = await endpoint.document_resolver(request, params)
        cached = endpoint.documents.get(query)
        if cached.document is None or cached.errors:
            default = cached.error_code or ErrorCode.BAD_REQUEST
            return [format_error(e, default, endpoint.classify_error) for e in cached.errors]
        operation = get_operation_ast(cached.document, params.operation_name)
        if operation is None:
            name = params.operation_name
            raise BadRequest(
                f"Unknown operation named {name!r}."
                if name
                else "Must provide operation name if query contains multiple operations."
            )
        if endpoint.check_operation is not None:
            endpoint.check_operation(request, cached.document, operation, params.variables)
        context = await endpoint._make_context(request)
        return Prepared(cached.document, operation, params, context)

    @contextlib.contextmanager
    def slot(self, key: str) -> Any:
        """One of the key's concurrent subscriptions, for as long as the block runs."""
        if self._open[key] >= self.max_per_key:
            raise TooManySubscriptions(
                f"This API key already holds {self.max_per_key} subscriptions (the most it may "
                "hold at once); complete one first.",
                extensions={"limit": self.max_per_key},
            )
        self._open[key] += 1
        self._changed()
        try:
            yield
        finally:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]
            self._changed()

    def _changed(self) -> None:
        if self.on_count is not None:
            self.on_count(sum(self._open.values()))

    async def start(self, prepared: Prepared) -> AsyncGenerator[dict[str, Any], None]:
        """The operation's results as response payloads: one for a query or mutation, one per
        event for a subscription; ``RequestErrors`` when the subscription cannot start."""
        endpoint = self.endpoint
        params = prepared.params
        kwargs: dict[str, Any] = {
            "context_value": prepared.context,
            "variable_values": params.variables,
            "operation_name": params.operation_name,
            "executor_class": endpoint._executor_class,
        }
        if prepared.operation.operation is not OperationType.SUBSCRIPTION:
            result = execute(endpoint._graphql_schema, prepared.document, **kwargs)
            if isawaitable(result):
                result = await result
            assert isinstance(result, ExecutionResult)
            return self._one(self._payload(result))
        stream = subscribe(endpoint._graphql_schema, prepared.document, **kwargs)
        if isawaitable(stream):
            stream = await stream
        if isinstance(stream, ExecutionResult):
            raise RequestErrors(self._errors(stream.errors or ()))
        return self._each(stream)

    async def _one(self, payload: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        yield payload

    async def _each(
        self, stream: AsyncIterator[ExecutionResult]
    ) -> AsyncGenerator[dict[str, Any], None]:
        try:
            async for result in stream:
                yield self._payload(result)
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()

    def _errors(self, errors: Any) -> list[dict[str, Any]]:
        classify = self.endpoint.classify_error
        return [format_error(e, ErrorCode.INTERNAL_SERVER_ERROR, classify) for e in errors]

    def _payload(self, result: ExecutionResult) -> dict[str, Any]:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = self._errors(result.errors)
        return payload

    # SSE

    async def serve_sse(
        self, request: Request, params: GraphQLParams, send: Send, receive: Receive
    ) -> None:
        """Serve one operation as an event stream (``RequestErrors`` or ``GraphError`` when it is
        refused before it starts: the caller answers those as usual)."""
        prepared = await self.prepare(request, params)
        if isinstance(prepared, list):
            raise RequestErrors(prepared)
        with self.slot(_holder(request)):
            results = await self.start(prepared)
            headers = [
                (b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-store"),
                (b"x-accel-buffering", b"no"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b":\n\n", "more_body": True})
            streaming = asyncio.ensure_future(self._stream_sse(results, send))
            gone = asyncio.ensure_future(_disconnected(receive))
            try:
                await asyncio.wait({streaming, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (streaming, gone):
                    task.cancel()
                await asyncio.gather(streaming, gone, return_exceptions=True)
                await results.aclose()
            if gone.done() and not gone.cancelled():
                return  # the client left: nothing more to send
            if streaming.exception() is not None:
                logger.error("A subscription over SSE failed", exc_info=streaming.exception())
                errors = [InternalServerError(UNEXPECTED_ERROR_MESSAGE).to_dict()]
                await send(_chunk(_sse("next", {"errors": errors})))
            await send({"type": "http.response.body", "body": _sse("complete", None)})

    async def _stream_sse(self, results: AsyncGenerator[dict[str, Any], None], send: Send) -> None:
        pending = asyncio.ensure_future(anext(results, None))
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE)
                if not done:
                    await send(_chunk(b":\n\n"))
                    continue
                payload = pending.result()
                if payload is None:
                    return
                await send(_chunk(_sse("next", payload)))
                pending = asyncio.ensure_future(anext(results, None))
        finally:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)

    # graphql-transport-ws

    async def serve_websocket(self, websocket: WebSocket) -> None:
        """A WebSocket on /graphql (Starlette's ``WebSocketRoute`` hands it over)."""
        offered = websocket.scope.get("subprotocols") or []
        if PROTOCOL not in offered:
            # Refused at the handshake (HTTP 403): not accepted, so no close code of the protocol.
            await websocket.close(4406, "Subprotocol not acceptable: use graphql-transport-ws.")
            return
        await websocket.accept(subprotocol=PROTOCOL)
        await _Connection(self, websocket).run()


def _holder(request: Request) -> str:
    """Whose subscriptions the cap counts: the API key's name (pass-through callers: per account)."""
    caller = getattr(request.state, "caller", None)
    name = str(getattr(caller, "name", "anonymous"))
    return f"{name}:{getattr(caller, 'account', '')}" if name == "pass-through" else name


def wants_event_stream(accept: str) -> bool:
    """The client asks for an event stream first (graphql-sse sends ``text/event-stream``)."""
    return accept.lstrip().lower().startswith(EVENT_STREAM)


def _sse(event: str, payload: Any) -> bytes:
    data = b"" if payload is None else orjson.dumps(payload, default=str)
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


def _chunk(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


class RequestErrors(Exception):
    """Errors that refuse an operation before it starts (formatted, as a response's errors)."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("refused")
        self.errors = errors


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Connection:
    """One graphql-transport-ws connection."""

    def __init__(self, subscriptions: Subscriptions, websocket: WebSocket) -> None:
        self.subscriptions = subscriptions
        self.websocket = websocket
        self.request: Request | None = None
        self.running: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(orjson.dumps(message, default=str).decode())

    async def run(self) -> None:
        try:
            await self._init()
            while True:
                await self._handle(await self._receive())
        except _Close as close:
            with contextlib.suppress(Exception):
                await self.websocket.close(close.code, close.reason)
        except WebSocketDisconnect:
            pass
        finally:
            for task in self.running.values():
                task.cancel()
            await asyncio.gather(*self.running.values(), return_exceptions=True)

    async def _receive(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw = message.get("text") if message.get("text") is not None else message.get("bytes")
        try:
            parsed = orjson.loads(raw or b"")
        except orjson.JSONDecodeError:
            raise _Close(4400, "Invalid message: not JSON.") from None
        if not isinstance(parsed, dict) or not isinstance(parsed.get("type"), str):
            raise _Close(4400, "Invalid message: an object with a `type` is expected.")
        return parsed

    async def _init(self) -> None:
        try:
            message = await asyncio.wait_for(self._receive(), INIT_TIMEOUT)
        except TimeoutError:
            raise _Close(4408, "Connection initialisation timeout") from None
        if message["type"] != "connection_init":
            if message["type"] == "subscribe":
                raise _Close(4401, "Unauthorized")
            raise _Close(4400, "Invalid message: connection_init expected first.")
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            raise _Close(4400, "Invalid message: connection_init's payload must be an object.")
        self.request = _request_of(self.websocket.scope, payload or {})
        endpoint = self.subscriptions.endpoint
        if endpoint.authenticate is not None:
            try:
                self.request.state.caller = await endpoint.authenticate(self.request)
            except GraphError as error:
                raise _Close(4403, f"Forbidden: {error}"[:120]) from None
        await self.send({"type": "connection_ack"})

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "pong":
            return
        elif kind == "connection_init":
            raise _Close(4429, "Too many initialisation requests")
        elif kind == "subscribe":
            id_ = message.get("id")
            payload = message.get("payload")
            if not isinstance(id_, str) or not id_ or not isinstance(payload, dict):
                raise _Close(4400, "Invalid message: subscribe needs an id and a payload.")
            if id_ in self.running:
                raise _Close(4409, f"Subscriber for {id_[:64]} already exists")
            self.running[id_] = asyncio.create_task(self._operation(id_, payload))
        elif kind == "complete":
            id_ = message.get("id")
            task = self.running.pop(id_, None) if isinstance(id_, str) else None
            if task is not None:
                task.cancel()
        else:
            raise _Close(4400, f"Invalid message: unknown type {kind[:40]!r}.")

    async def _operation(self, id_: str, payload: dict[str, Any]) -> None:
        assert self.request is not None
        request = _request_of(self.websocket.scope, {}, base=self.request)
        completed = False
        try:
            params = params_from_body(orjson.dumps(payload))
            assert isinstance(params, GraphQLParams)
            prepared = await self.subscriptions.prepare(request, params)
            if isinstance(prepared, list):
                raise RequestErrors(prepared)
            with self.subscriptions.slot(_holder(request)):
                results = await self.subscriptions.start(prepared)
                try:
                    async for result in results:
                        await self.send({"type": "next", "id": id_, "payload": result})
                finally:
                    await results.aclose()
            completed = True
        except RequestErrors as refused:
            await self._error(id_, refused.errors)
        except GraphError as error:
            await self._error(id_, [error.to_dict()])
        except asyncio.CancelledError:
            raise
        except WebSocketDisconnect:
            return
        except Exception:
            logger.exception("A subscription failed")
            await self._error(id_, [InternalServerError(UNEXPECTED_ERROR_MESSAGE).to_dict()])
        finally:
            self.running.pop(id_, None)
        if completed:
            with contextlib.suppress(Exception):
                await self.send({"type": "complete", "id": id_})

    async def _error(self, id_: str, errors: list[Any]) -> None:
        with contextlib.suppress(Exception):
            await self.send({"type": "error", "id": id_, "payload": errors})


def _request_of(scope: Scope, payload: dict[str, Any], base: Request | None = None) -> Request:
    """An HTTP ``Request`` over the WebSocket handshake (what the auth, persisted and context hooks
    read), with ``connection_init``'s credentials as headers; its own ``state`` (the caller of
    ``base`` when given)."""
    headers = list(scope["headers"]) if base is None else list(base.scope["headers"])
    if base is None:
        given = {str(k).lower(): v for k, v in payload.items() if isinstance(v, str)}
        extra = [(name, given[name]) for name in _PAYLOAD_HEADERS if name in given]
        if extra:
            names = {name.encode() for name, _ in extra}
            headers = [(k, v) for k, v in headers if k not in names]
            headers += [
                (name.encode(), value.encode("latin-1", "replace")) for name, value in extra
            ]
    state: dict[str, Any] = dict(scope.get("state") or {})
    if base is not None:
        state["caller"] = getattr(base.state, "caller", None)
    http_scope = {**scope, "type": "http", "method": "POST", "headers": headers, "state": state}
    return Request(http_scope)
