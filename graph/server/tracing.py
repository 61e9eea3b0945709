"""Apollo federated tracing (ftv1): per-field timings a router asks for and aggregates.

A router that wants traces sends ``apollo-federation-include-trace: ftv1``; the subgraph answers with
``extensions.ftv1``, the base64 of an Apollo ``Trace`` protobuf message (``reports.proto`` of
``@apollo/usage-reporting-protobuf``). We write the handful of fields we fill by hand rather than
depend on a protobuf runtime: varints and length-delimited fields are all the wire format they need.

The fields written (numbers from reports.proto)::

    Trace     start_time=4 (Timestamp), end_time=3 (Timestamp), duration_ns=11, root=14 (Node)
    Timestamp seconds=1, nanos=2
    Node      response_name=1 | index=2, original_field_name=14, type=3, parent_type=13,
              start_time=8, end_time=9 (ns since the trace's start), error=11, child=12
    Error     message=1, location=2, json=4
    Location  line=1, column=2

Timings come from a graphql-core middleware that wraps every resolver of the traced request only;
untraced requests run without it. Errors are attached from the *formatted* response errors, so a trace
never carries more than the client sees (masked messages stay masked, no secrets).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from inspect import isawaitable
from typing import Any

import orjson
from graphql import GraphQLResolveInfo

TRACE_HEADER = "apollo-federation-include-trace"
TRACE_FORMAT = "ftv1"


def wants_trace(headers: Mapping[str, str]) -> bool:
    return headers.get(TRACE_HEADER, "").strip().lower() == TRACE_FORMAT


class _Node:
    __slots__ = (
        "children",
        "end",
        "errors",
        "index",
        "original_field_name",
        "parent_type",
        "response_name",
        "start",
        "type",
    )

    def __init__(self, response_name: str | None = None, index: int | None = None) -> None:
        self.response_name = response_name
        self.index = index
        self.original_field_name = ""
        self.type = ""
        self.parent_type = ""
        self.start = 0
        self.end = 0
        self.errors: list[Mapping[str, Any]] = []
        self.children: list[_Node] = []


class TraceRecorder:
    """Records one request: the recorder is a graphql-core middleware object (``resolve``; a bound
    method would be ignored, graphql-core only takes functions or objects), ``finish`` gives base64."""

    def __init__(self) -> None:
        self._start_wall_ns = time.time_ns()
        self._start_ns = time.perf_counter_ns()
        self.root = _Node()
        self._nodes: dict[tuple[str | int, ...], _Node] = {(): self.root}

    def _elapsed(self) -> int:
        return time.perf_counter_ns() - self._start_ns

    def resolve(
        self, next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo[Any], **args: Any
    ) -> Any:
        """graphql-core middleware: times one field's resolver, sync or async."""
        node = self._node(tuple(info.path.as_list()))
        if info.field_name != node.response_name:
            node.original_field_name = info.field_name
        node.type = str(info.return_type)
        node.parent_type = str(info.parent_type)
        node.start = self._elapsed()
        try:
            result = next_(root, info, **args)
        except Exception:
            node.end = self._elapsed()
            raise
        if isawaitable(result):
            return self._timed(node, result)
        node.end = self._elapsed()
        return result

    async def _timed(self, node: _Node, result: Awaitable[Any]) -> Any:
        try:
            return await result
        finally:
            node.end = self._elapsed()

    def _node(self, path: tuple[str | int, ...]) -> _Node:
        node = self._nodes.get(path)
        if node is not None:
            return node
        parent = self._node(path[:-1])  # list items get index nodes, as Apollo's tree has them
        key = path[-1]
        node = _Node(index=key) if isinstance(key, int) else _Node(response_name=key)
        parent.children.append(node)
        self._nodes[path] = node
        return node

    def add_errors(self, errors: Iterable[Mapping[str, Any]]) -> None:
        """Attach formatted response errors to the nodes of their paths (the root when none)."""
        for error in errors:
            path = error.get("path")
            node = self._node(tuple(path)) if path else self.root
            node.errors.append(error)

    def finish(self) -> str:
        """The trace, ended now, as Apollo routers expect it in ``extensions.ftv1``."""
        duration = self._elapsed()
        end_wall = self._start_wall_ns + duration
        message = (
            _message(4, _timestamp(self._start_wall_ns))
            + _message(3, _timestamp(end_wall))
            + _uint(11, duration)
            + _message(14, _encode_node(self.root))
        )
        return base64.b64encode(message).decode("ascii")


# -- protobuf wire format (just what Trace needs) ---------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _uint(field: int, value: int, *, always: bool = False) -> bytes:
    """A varint field; proto3 leaves zeros out unless the field is in a oneof (``always``)."""
    if not value and not always:
        return b""
    return _varint(field << 3) + _varint(value)


def _message(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _string(field: int, value: str) -> bytes:
    return _message(field, value.encode("utf-8")) if value else b""


def _timestamp(ns: int) -> bytes:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return _uint(1, seconds) + _uint(2, nanos)


def _encode_error(error: Mapping[str, Any]) -> bytes:
    out = _string(1, str(error.get("message", "")))
    for location in error.get("locations") or ():
        out += _message(2, _uint(1, int(location["line"])) + _uint(2, int(location["column"])))
    return out + _string(4, orjson.dumps(error).decode())


def _encode_node(node: _Node) -> bytes:
    out = b""
    if node.response_name is not None:
        out += _string(1, node.response_name)
    elif node.index is not None:
        out += _uint(2, node.index, always=True)
    out += _string(3, node.type)
    out += _uint(8, node.start) + _uint(9, node.end)
    for error in node.errors:
        out += _message(11, _encode_error(error))
    for child in node.children:
        out += _message(12, _encode_node(child))
    out += _string(13, node.parent_type) + _string(14, node.original_field_name)
    return out
