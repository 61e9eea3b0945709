"""One HTTP/1.1 connection to Kickserv as an asyncio protocol: the request written as h11 writes
it, the answer read whole and framed as HTTP/1.1 says (`kickserv.wire`'s pool holds these; its
module says what is read and refused, and why we write HTTP ourselves)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import cast

import httpx

__all__ = ["MAX_HEAD", "Connection", "Origin", "Reply", "Stale"]

MAX_HEAD = 64 * 1024  # bytes of an answer's status line and headers
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: (.*))?")
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")  # a header name (RFC 9110)
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
# The blank line that ends a head or a chunked body's trailers. Its lines may end in a bare LF, as
# h11 (which httpx read Kickserv with before) accepts; chunk-size lines and chunk ends need CRLF.
_BLANK_LINE = re.compile(rb"\n\r?\n")
_NO_BODY_STATUS = frozenset({204, 304})

Origin = tuple[str, str, int]  # scheme, host, port


class Reply:
    """An answer read whole: status, reason, headers as received, body as sent (still encoded)."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class Stale(Exception):
    """A kept connection the server closed before any byte of an answer: `sent` says whether
    the request was written to it (it may then have been received)."""

    def __init__(self, sent: bool) -> None:
        super().__init__()
        self.sent = sent


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: what arrived, and whether it is still open."""

    def __init__(self, origin: Origin, on_lost: Callable[[Connection], None]) -> None:
        self.origin = origin
        self._on_lost = on_lost  # told when the server closes it while it is idle
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the server closed its side, or the connection is lost
        self.error: Exception | None = None
        self.idle_since: float | None = None  # in the pool's idle list since
        self.used = 0  # requests sent over it
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._drained: asyncio.Future[None] | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not its subclasses

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # asyncio closes the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._wake()
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)
        if self.idle_since is not None:
            self._on_lost(self)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # what the pool does with it
    def close(self) -> None:
        self.ended = True
        if self.transport is not None:
            self.transport.abort()

    def reusable_now(self) -> bool:
        transport = self.transport  # closing: a read error seen, `connection_lost` not yet called
        return (
            not self.ended
            and not self.buffer
            and transport is not None
            and not transport.is_closing()
        )

    async def write(self, data: bytes, within: float | None) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self.ended:
            if self.used > 1:
                raise Stale(sent=False)
            raise httpx.WriteError("the connection was closed before the request was written")
        transport.write(data)
        if self._paused and not self.ended:
            loop = asyncio.get_running_loop()
            self._drained = loop.create_future()
            try:
                async with asyncio.timeout(within):
                    await self._drained
            except TimeoutError:
                raise httpx.WriteTimeout("the request could not be written in time") from None
        if self.ended and self.error is not None:
            raise httpx.WriteError(str(self.error) or type(self.error).__name__)

    async def more(self, within: float | None) -> None:
        """Wait for more bytes (or the end); `httpx.ReadTimeout` after `within` seconds."""
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        handle = None if within is None else loop.call_later(within, _expire, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    async def read_reply(self, method: str, within: float | None) -> tuple[Reply, bool]:
        """The answer to the request just written, and whether the connection may be kept."""
        buffer = self.buffer
        while True:
            blank = _BLANK_LINE.search(buffer)
            if blank is None:
                if len(buffer) > MAX_HEAD:
                    raise httpx.RemoteProtocolError(
                        f"the answer's head is longer than {MAX_HEAD} bytes"
                    )
                if self.ended:
                    if not buffer and self.used > 1:
                        raise Stale(sent=True)
                    raise self._cut("Server disconnected without sending a response.")
                await self.more(within)
                continue
            if blank.start() > MAX_HEAD:
                raise httpx.RemoteProtocolError(
                    f"the answer's head is longer than {MAX_HEAD} bytes"
                )
            head = bytes(buffer[: blank.start()])
            del buffer[: blank.end()]
            minor, status, reason, headers = _parse_head(head)
            if 100 <= status < 200:
                if status == 101:
                    raise httpx.RemoteProtocolError("the server switched protocols (101)")
                continue  # informational: the answer follows
            break
        keep = minor == 1
        length: int | None = None
        chunked = False
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-length":
                length = _length(value, length)
            elif lower == b"transfer-encoding":
                if value.strip().lower() != b"chunked" or chunked:
                    raise httpx.RemoteProtocolError(
                        f"unsupported transfer coding {value.decode('latin-1')!r}"
                    )
                chunked = True
            elif lower == b"connection" and b"close" in _tokens(value):
                keep = False
        if method == "HEAD" or status in _NO_BODY_STATUS:
            body = b""
        elif chunked:
            body = await self._read_chunked(within)
        elif length is not None:
            while len(buffer) < length:
                if self.ended:
                    raise self._cut("peer closed connection without sending complete message body")
                await self.more(within)
            body = bytes(buffer[:length])
            del buffer[:length]
        else:  # the body ends with the connection
            while not self.ended:
                await self.more(within)
            if self.error is not None:
                raise httpx.ReadError(str(self.error) or type(self.error).__name__)
            body = bytes(buffer)
            buffer.clear()
            keep = False
        keep = keep and not buffer and not self.ended
        return Reply(status, reason, headers, body), keep

    async def _read_chunked(self, within: float | None) -> bytes:
        buffer = self.buffer
        parts: list[bytes] = []
        while True:
            line_end = await self._find(b"\r\n", within)
            line = bytes(buffer[:line_end])
            del buffer[: line_end + 2]
            digits = line.split(b";", 1)[0].strip(b" \t")
            if not _CHUNK_SIZE.fullmatch(digits):
                raise httpx.RemoteProtocolError(f"a bad chunk size line {line[:40]!r}")
            size = int(digits, 16)
            if size == 0:
                await self._skip_trailers(within)
                return b"".join(parts)
            while len(buffer) < size + 2:
                if self.ended:
                    raise self._cut("peer closed connection without sending complete message body")
                await self.more(within)
            if buffer[size : size + 2] != b"\r\n":
                raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
            parts.append(bytes(buffer[:size]))
            del buffer[: size + 2]

    async def _skip_trailers(self, within: float | None) -> None:
        """The trailer lines after the last chunk, up to and with the empty line that ends them."""
        buffer = self.buffer
        while True:
            for empty in (b"\n", b"\r\n"):  # no trailers: the empty line at once
                if buffer.startswith(empty):
                    del buffer[: len(empty)]
                    return
            blank = _BLANK_LINE.search(buffer)
            if blank is not None:
                del buffer[: blank.end()]
                return
            if len(buffer) > MAX_HEAD:
                raise httpx.RemoteProtocolError("the trailers are too long")
            if self.ended:
                raise self._cut("peer closed connection without sending complete message body")
            await self.more(within)

    async def _find(self, marker: bytes, within: float | None) -> int:
        while (at := self.buffer.find(marker)) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise httpx.RemoteProtocolError("a chunk line is too long")
            if self.ended:
                raise self._cut("peer closed connection without sending complete message body")
            await self.more(within)
        return at

    def _cut(self, message: str) -> httpx.TransportError:
        if self.error is not None:
            return httpx.ReadError(str(self.error) or type(self.error).__name__)
        return httpx.RemoteProtocolError(message)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("no answer within the read timeout"))


def _tokens(value: bytes) -> list[bytes]:
    """A comma-separated header value's tokens, lowercased."""
    return [token.strip(b" \t") for token in value.lower().split(b",")]


def _length(value: bytes, before: int | None) -> int:
    text = value.strip()
    if not text.isdigit():
        raise httpx.RemoteProtocolError(f"a bad Content-Length {value[:20]!r}")
    length = int(text)
    if before is not None and before != length:
        raise httpx.RemoteProtocolError("two different Content-Length headers")
    return length


def _parse_head(head: bytes) -> tuple[int, int, bytes, list[tuple[bytes, bytes]]]:
    lines = [line[:-1] if line.endswith(b"\r") else line for line in head.split(b"\n")]
    matched = _STATUS_LINE.fullmatch(lines[0])
    if matched is None:
        raise httpx.RemoteProtocolError(f"a bad status line {lines[0][:60]!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise httpx.RemoteProtocolError(f"a bad header line {line[:60]!r}")
        headers.append((name, value.strip(b" \t")))
    return int(matched[1]), int(matched[2]), matched[3] or b"", headers
