"""Kickserv calls written straight into our connection pool, without `httpx.AsyncClient`'s per-call
work.

`AsyncClient.request` builds an `httpx.Request` (parses the URL, merges the query, the headers and
the cookies), runs the auth flow and the redirect loop, wraps the answer's stream, keeps the
answer's cookies and logs it; its transport then turns the request into httpcore's. For a call of
ours (one origin, Basic auth, no redirect followed) that is a third of the CPU a call costs us
before its answer is parsed. `DirectRoute` writes the request httpx would send (the same target,
the same headers in the same order: Host first, the client's, ours, Content-Length, Authorization
last) and hands it to the `PooledTransport`'s pool (`PooledTransport.exchange`:
httpx's exceptions, the body decoded as its Content-Encoding says).

It is taken while the `AsyncClient` is one whose requests it knows how to write: its transport a
`PooledTransport` and no mounts, open, no event hooks, no default query parameters, no cookies set
on it, no redirects followed. Otherwise (an `httpx.MockTransport` in tests, the embedded sandbox's
transport) a call goes through `AsyncClient.request` as before. The one thing it leaves out:
cookies Kickserv's answers set are not kept (its API authenticates every call by itself; a cookie
kept from one credential's answer would go with another credential's calls on a shared client).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from kickserv.pool import Answer, PooledTransport, origin_of

__all__ = ["DirectRoute"]

# A path httpx sends as it is: nothing to quote, no dot segment to resolve.
_PLAIN = re.compile(r"[A-Za-z0-9/_.~-]*")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class DirectRoute:
    """Requests to `origin` with Basic auth, written into `http`'s `PooledTransport` (see module).
    Holds the credential's Authorization header; never shows it."""

    __slots__ = (
        "_authorization",
        "_http",
        "_netloc",
        "_origin",
        "_origin_of",
        "_plain",
        "_pool",
        "_timeout",
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        pool: PooledTransport,
        origin: str,
        credentials: tuple[str, str],
        timeout: httpx.Timeout | float | None,
    ) -> None:
        self._http = http
        self._pool = pool
        self._origin = origin
        userpass = ":".join(credentials).encode()
        self._authorization = b"Basic " + base64.b64encode(userpass)
        self._timeout = None if timeout is None else httpx.Timeout(timeout).as_dict()
        base = httpx.URL(origin)
        self._netloc = base.netloc
        self._origin_of = origin_of(base)
        # What a plain path is sent after (the origin's own path), when the origin's URL is plain
        # enough that httpx would send the two one after the other; None: httpx parses each URL.
        prefix = "" if base.raw_path == b"/" else base.raw_path.decode("ascii")
        probe = "/demo/api/v2/tasks.json"
        exact = httpx.URL(origin + probe).raw_path == (prefix + probe).encode()
        self._plain: str | None = prefix if exact and not base.query else None

    @classmethod
    def over(
        cls,
        http: httpx.AsyncClient,
        origin: str,
        credentials: tuple[str, str],
        timeout: httpx.Timeout | float | None,
    ) -> DirectRoute | None:
        """The route for `http`, when its transport is a `PooledTransport` it sends everything
        to (no mounts) and `origin` an http(s) URL with a host; None otherwise (a base URL httpx
        refuses is refused at the first call, as before)."""
        pool = getattr(http, "_transport", None)
        if not isinstance(pool, PooledTransport) or getattr(http, "_mounts", None):
            return None
        try:
            base = httpx.URL(origin)
        except httpx.InvalidURL:
            return None
        if base.scheme not in ("http", "https") or not base.host:
            return None
        return cls(http, pool, origin, credentials, timeout)

    def __repr__(self) -> str:
        return f"DirectRoute(origin={self._origin!r})"

    def open(self) -> bool:
        """Whether the client is still one whose requests this route writes as httpx would."""
        http = self._http
        hooks = http.event_hooks
        return not (
            http.is_closed
            or hooks["request"]
            or hooks["response"]
            or http.params
            or http.cookies
            or http.follow_redirects
        )

    async def request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        content: bytes | None,
        headers: Mapping[str, str],
        extensions: dict[str, Any],
    ) -> Answer:
        """`method` of `path` (after the origin) with `query`, `content`, `headers` (over the
        client's) and httpcore's `extensions`, which it sends as they are (the hooks in them may
        change them), its timeout added: the client's unless one was given."""
        timeout = self._timeout if self._timeout is not None else self._http.timeout.as_dict()
        wire = self.headers(method, headers, content)
        extensions["timeout"] = timeout
        target = self.target(path, query)
        return await self._pool.exchange(method, self._origin_of, target, wire, content, extensions)

    def target(self, path: str, query: Mapping[str, str]) -> bytes:
        """The request target httpx sends for `path` and `query`: its path quoted and its dot
        segments resolved (by httpx itself unless there is nothing to do), the query urlencoded."""
        if self._plain is None or "/." in path or not _PLAIN.fullmatch(path):
            return httpx.URL(self._origin + path, params=query).raw_path
        target = (self._plain + path).encode("ascii")
        return target + b"?" + urlencode(query).encode("ascii") if query else target

    def headers(
        self, method: str, ours: Mapping[str, str], content: bytes | None
    ) -> list[tuple[bytes, bytes]]:
        """The headers httpx sends with `ours`, in its order: Host (and Content-Length: 0 on a
        write without a body), the client's but those ours replace, ours, the body's
        Content-Length, Authorization (in place of one already there)."""
        given = {key.lower() for key in ours}
        merged = [  # lowercased name, name, value
            (lower, key, value)
            for key, value in self._http.headers.raw
            if (lower := key.lower().decode("ascii")) not in given
        ]
        merged.extend((key.lower(), *_encoded(key, value)) for key, value in ours.items())
        names = {lower for lower, _, _ in merged}
        if content is not None and "content-length" not in names:
            merged.append(("content-length", b"Content-Length", str(len(content)).encode()))
            names.add("content-length")
        wire = [] if "host" in names else [(b"Host", self._netloc)]
        if method in _BODY_METHODS and not names & {"content-length", "transfer-encoding"}:
            wire.append((b"Content-Length", b"0"))
        authorization: tuple[bytes, bytes] | None = (b"Authorization", self._authorization)
        for lower, key, value in merged:
            if lower != "authorization":
                wire.append((key, value))
            elif authorization is not None:
                wire.append(authorization)
                authorization = None
        if authorization is not None:
            wire.append(authorization)
        return wire


def _encoded(key: str, value: str) -> tuple[bytes, bytes]:
    return key.encode("ascii"), value.encode("ascii")
