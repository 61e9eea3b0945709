"""What browsers and HTTP caches are told: CORS, and ``Cache-Control`` / ``Vary`` on GraphQL answers.

CORS (Starlette's ``CORSMiddleware``) is on only for the origins ``GRAPH_CORS_ORIGINS`` lists. It
allows GET and POST with the headers our clients send (``CORS_HEADERS``), and no credentials: an API
key travels in ``Authorization`` or ``X-API-Key``, headers the page sets itself, which a preflight
allows without them. Credentials in the CORS sense are what the browser adds on its own (cookies,
HTTP authentication, client certificates); this server reads none, so allowing them would gain
nothing and would let pages of the listed origins send a visitor's cookies for this host along.

Caching, the way Apollo Server's cache-control plugin answers and Apollo Router's response cache
reads a subgraph's answers:

- An answer with errors (request errors, limits, an APQ miss, ``PERSISTED_QUERY_NOT_FOUND``), a
  mutation's, a federated-tracing answer (its trace describes one execution), one carrying stale data
  and one whose freshness is unknown: ``no-store``.
- An error-free query: ``max-age`` is the whole seconds left before the first upstream answer it
  was built from stops being fresh in the shared cache (what the response cache also keeps it for);
  ``private`` when answers depend on the caller (API keys or pass-through: then ``Vary`` names
  those headers too), ``public`` only in open mode, where every caller reads the same account.
- ``Vary: Accept`` always: the media type decides the status of a request error.
- GET and POST alike. HTTP caches do not reuse a POST's answer for later requests, so on POST the
  header is harmless to them; Apollo Router sends its subgraph fetches as POST and its response
  cache takes ``max-age``, ``private`` and ``no-store`` from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from graph.server.auth import ACCOUNT_HEADER, API_KEY_HEADER, TOKEN_HEADER
from graph.server.settings import Settings

CORS_HEADERS = (
    "accept",
    "content-type",
    "authorization",
    API_KEY_HEADER,
    ACCOUNT_HEADER,
    TOKEN_HEADER,
    "idempotency-key",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "apollographql-client-name",
    "apollographql-client-version",
    "traceparent",
    "tracestate",
    "x-request-id",
)
"""Request headers a page of an allowed origin may send (what a preflight may ask for)."""

CORS_EXPOSED = ("x-request-id",)
"""Response headers beyond the safelisted ones that a page may read."""

CORS_MAX_AGE = 600  # seconds a browser may keep a preflight's answer


def cors_middleware(origins: Sequence[str]) -> list[Middleware]:
    """The CORS middleware for ``origins`` (``*``: any origin); none when the list is empty."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(CORS_HEADERS),
            expose_headers=list(CORS_EXPOSED),
            allow_credentials=False,
            max_age=CORS_MAX_AGE,
        )
    ]


NO_STORE = "no-store"


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """``Cache-Control`` and ``Vary`` of GraphQL answers (see the module docstring)."""

    private: bool = False
    vary: str = "Accept"
    # ``headers`` by whole seconds of freshness (a few hundred values at most: the caches' TTLs)
    _made: dict[int, tuple[tuple[bytes, bytes], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, settings: Settings) -> CachePolicy:
        vary = ["Accept"]
        if settings.api_keys_file:
            vary += ["Authorization", "X-API-Key"]
        if settings.pass_through:
            vary += ["X-Kickserv-Account", "X-Kickserv-Token"]
        return cls(private=len(vary) > 1, vary=", ".join(vary))

    def cache_control(self, fresh_for: float) -> str:
        """For an answer fresh ``fresh_for`` more seconds (0: not to be reused)."""
        seconds = int(fresh_for)  # rounded down: never promise more than the data has
        if seconds < 1:
            return NO_STORE
        return f"{'private' if self.private else 'public'}, max-age={seconds}"

    def headers(self, fresh_for: float = 0.0) -> tuple[tuple[bytes, bytes], ...]:
        seconds = max(0, int(fresh_for))
        made = self._made.get(seconds)
        if made is None:
            made = (
                (b"cache-control", self.cache_control(seconds).encode()),
                (b"vary", self.vary.encode()),
            )
            if len(self._made) < 4096:
                self._made[seconds] = made
        return made
