"""Prometheus metrics at ``/metrics`` (prometheus-client), correct with several workers.

What is counted, and where it comes from:

- every GraphQL request, by operation, API key name and outcome, with its latency and its error
  codes: the access middleware (``graph.server.observe``) hands over the request's record when
  the request ends (``observe_request``);
- every HTTP attempt at Kickserv, by endpoint (a path template: ``/customers/{n}.json``, never an
  id) and status, with retries and 429s: the transport's ``on_response`` observer
  (``observe_upstream``, wired by ``TenantRegistry.on_call``);
- what the rate governors, circuit breakers, the shared cache and the response cache are doing:
  read from their snapshots and counters (``refresh``) when Prometheus scrapes, and every second
  in each worker when several share one port;
- idempotency replays: counted per request (``UpstreamStats.replays``) and added when it ends.

Label values are bounded, so a caller cannot grow the series without end: operation names of
trusted documents (the manifests are finite) are kept as they are; other names are kept for the
first ``MAX_OPERATION_NAMES`` distinct ones a process sees and are ``(other)`` after that; API key
names come from the keys file (``anonymous`` in open mode, ``pass-through`` for pass-through
callers, ``(none)`` before a caller is known); accounts and endpoints are capped the same way.
No token, key or variable value is ever a label.

Several workers (``kickserv-graph serve --workers N``): ``serve`` gives them one fresh
``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode), each worker writes its
counts there, and whichever worker answers a scrape sums them all. Gauges of per-process state
(breaker, governor, cache size) are combined across live workers (the most open breaker, the
longest pause, the sum of queued calls and cache bytes). One app per process in that mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
import re
from collections.abc import AsyncIterator, Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    values,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from kickserv import UpstreamCall
from kickserv.breaker import BreakerSnapshot
from kickserv.governor import GovernorSnapshot
from resolvers.cache import Outcome

if TYPE_CHECKING:
    from graph.server.observe import RequestRecord
    from graph.server.response_cache import ResponseCache
    from graph.server.tenancy import TenantRegistry
    from resolvers.cache import SharedCache
    from resolvers.watch import WatchStats

# No `_created` twin of every counter (Prometheus does not read them).
disable_created_metrics()  # type: ignore[no-untyped-call]

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
MAX_OPERATION_NAMES = 100
MAX_ACCOUNTS = 100
MAX_ENDPOINTS = 100
MAX_ERROR_CODES = 50
OTHER = "(other)"
NONE = "(none)"
ANONYMOUS_OPERATION = "(anonymous)"
BATCH = "(batch)"
REFRESH_EVERY = 1.0  # seconds, in each worker of several

GaugeMode = Literal["livesum", "livemax"]  # how a gauge combines across live workers
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_mode() -> bool:
    """True when prometheus-client was imported with ``PROMETHEUS_MULTIPROC_DIR`` set: values
    then live in files there, one per process, and a scrape sums them."""
    return values.ValueClass is not values.MutexValue


class Bounded:
    """At most ``limit`` distinct label values; later new ones are ``(other)``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self.limit:
            return OTHER
        self._seen.add(value)
        return value


_NUMBER = re.compile(r"\d+")


def endpoint_of(path: str) -> tuple[str, str]:
    """The account and the endpoint template of a Kickserv path:
    ``/acme/api/v2/customers/12.json`` → ``("acme", "/customers/{n}.json")``."""
    parts = path.lstrip("/").split("/")
    account, rest = parts[0], parts[1:]
    if rest[:2] == ["api", "v2"]:
        rest = rest[2:]
    return account, "/" + "/".join(_NUMBER.sub("{n}", part) for part in rest)


class Deltas:
    """Turns cumulative totals read from snapshots into increments of a Counter: what grew since
    the last read (a total that went down belongs to a new object: all of it is new)."""

    def __init__(self) -> None:
        self._last: dict[Hashable, int] = {}

    def __call__(self, key: Hashable, total: int) -> int:
        last = self._last.get(key, 0)
        self._last[key] = total
        return total - last if total >= last else total


class Metrics:
    """The server's Prometheus series (see the module docstring); ``endpoint`` serves them."""

    def __init__(self, *, token: str | None = None, multiprocess: bool | None = None) -> None:
        self.token = token
        self.multiprocess = multiprocess_mode() if multiprocess is None else multiprocess
        self.registry = CollectorRegistry()
        own = None if self.multiprocess else self.registry
        if own is not None:
            ProcessCollector(registry=own)
            PlatformCollector(registry=own)
        prefix = "kickserv_graph_"

        def counter(name: str, doc: str, labels: Iterable[str] = ()) -> Counter:
            return Counter(prefix + name, doc, list(labels), registry=own)

        def gauge(name: str, doc: str, labels: Iterable[str], mode: GaugeMode) -> Gauge:
            return Gauge(prefix + name, doc, list(labels), registry=own, multiprocess_mode=mode)

        self.requests = counter(
            "requests",
            "GraphQL requests answered, by operation, API key name and outcome "
            "(ok, error: executed with errors, rejected: 4xx, failed: 5xx).",
            ("operation", "key", "outcome"),
        )
        self.duration = Histogram(
            prefix + "request_duration_seconds",
            "Time from a GraphQL request's arrival to its last byte sent, by operation.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.errors = counter(
            "request_errors", "Errors in GraphQL responses, by extensions.code.", ("code",)
        )
        self.upstream_calls = counter(
            "upstream_calls",
            "HTTP attempts at Kickserv, by method, endpoint (path template) and status "
            "(none: no answer).",
            ("method", "endpoint", "status"),
        )
        self.upstream_duration = Histogram(
            prefix + "upstream_call_duration_seconds",
            "Time of one HTTP attempt at Kickserv, by method and endpoint.",
            ["method", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.retries = counter(
            "upstream_retries", "Kickserv reads tried again after a failure.", ("endpoint",)
        )
        self.rate_limited = counter(
            "upstream_rate_limited", "429 answers from Kickserv, by account.", ("account",)
        )
        self.replays = counter(
            "idempotency_replays",
            "Mutations answered from the recorded outcome of their idempotency key.",
        )
        self.cache_hits = counter("cache_hits", "Shared cache reads answered from the cache.")
        self.cache_misses = counter("cache_misses", "Shared cache reads that called Kickserv.")
        self.cache_stale = counter(
            "cache_stale_served", "Stale cached values served because Kickserv failed."
        )
        self.cache_entries = gauge("cache_entries", "Entries in the shared cache.", (), "livesum")
        self.cache_bytes = gauge(
            "cache_bytes", "Memory the shared cache holds, in bytes.", (), "livesum"
        )
        self.response_hits = counter(
            "response_cache_hits", "Queries answered from the response cache."
        )
        self.response_misses = counter(
            "response_cache_misses", "Response cache lookups that found nothing valid."
        )
        self.response_replays = counter(
            "response_cache_replays",
            "Response cache hits answered as an exact repeat of an earlier hit's request.",
        )
        self.breaker_state = gauge(
            "breaker_state",
            "Circuit breaker of a Kickserv account: 0 closed, 1 half-open, 2 open.",
            ("account",),
            "livemax",
        )
        self.breaker_opened = counter(
            "breaker_opened", "Times an account's circuit breaker opened.", ("account",)
        )
        self.breaker_refused = counter(
            "breaker_refused", "Calls an open breaker answered at once.", ("account",)
        )
        self.governor_throttled = gauge(
            "governor_throttled",
            "1 while an account's calls go at a rate learnt from 429s, 0 when unthrottled.",
            ("account",),
            "livemax",
        )
        self.governor_rate = gauge(
            "governor_rate",
            "Calls per second a throttled credential's governor paces to (0: unthrottled).",
            ("account",),
            "livemax",
        )
        self.governor_paused = gauge(
            "governor_paused_seconds",
            "Seconds until an account's paused calls (after a 429) may go again.",
            ("account",),
            "livemax",
        )
        self.governor_queued = gauge(
            "governor_queued", "Calls waiting for their turn.", ("account",), "livesum"
        )
        self.governor_pauses = counter("governor_pauses", "Pauses begun after a 429.", ("account",))
        self.governor_refused = counter(
            "governor_refused",
            "Calls refused because their turn came after their deadline.",
            ("account",),
        )
        self.webhook_deliveries = counter(
            "webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, failed, timeout, gone: 410 and the "
            "endpoint disabled, canceled: endpoint deleted or disabled).",
            ("outcome",),
        )
        self.subscriptions = gauge(
            "subscriptions", "Subscriptions open (WebSocket and SSE).", (), "livesum"
        )
        self.read_ahead = counter(
            "read_ahead_pages",
            "Cursor read-ahead pages (resolvers.read_ahead), by outcome: started, read, used (a "
            "later request found it), cancelled, failed. Their calls are in upstream_calls too.",
            ("outcome",),
        )
        self.watch_cycles = counter("watch_cycles", "Watcher cycles run (over all tenants).")
        self.watch_calls = counter(
            "watch_upstream_calls", "Kickserv calls the watcher made (pages of listings)."
        )
        self.watch_events = counter(
            "watch_events", "Change events the watcher appended, by type.", ("type",)
        )
        self.watch_errors = counter("watch_errors", "Watcher cycles that failed.")
        self.watch_tenants = gauge(
            "watch_tenants", "Tenants whose watcher lease this process holds.", (), "livesum"
        )
        self._operations = Bounded(MAX_OPERATION_NAMES)
        self._accounts = Bounded(MAX_ACCOUNTS)
        self._endpoints = Bounded(MAX_ENDPOINTS)
        self._codes = Bounded(MAX_ERROR_CODES)
        self._deltas = Deltas()
        # Label children by label values (as bounded as the values themselves).
        self._request_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._upstream_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._tenants: Callable[[], TenantRegistry | None] = lambda: None
        self._cache: SharedCache | None = None
        self._response_cache: Callable[[], ResponseCache | None] = lambda: None
        self._watcher: Callable[[], WatchStats | None] = lambda: None

    def watch(
        self,
        *,
        tenants: Callable[[], TenantRegistry | None],
        cache: SharedCache,
        response_cache: Callable[[], ResponseCache | None],
        watcher: Callable[[], WatchStats | None] = lambda: None,
    ) -> None:
        """What ``refresh`` reads: the tenants (governors, breakers), the caches, the watcher."""
        self._tenants = tenants
        self._cache = cache
        self._response_cache = response_cache
        self._watcher = watcher

    # --- counted as they happen --------------------------------------------------------------

    def observe_request(self, record: RequestRecord, duration: float) -> None:
        children = self.request_children(record)
        children[0].inc()
        children[1].observe(duration)
        for code in record.error_codes:
            self.errors.labels(self._codes(code)).inc()
        if record.replays:
            self.replays.inc(record.replays)

    def request_children(self, record: RequestRecord) -> tuple[Any, Any]:
        """The request counter and duration histogram ``record`` counts in (its labels')."""
        labels = (self.operation_label(record), record.key or NONE, record.outcome)
        children = self._request_children.get(labels)
        if children is None:  # labels() costs more than the count: once per label set
            children = (self.requests.labels(*labels), self.duration.labels(labels[0]))
            self._request_children[labels] = children
        return children

    def operation_label(self, record: RequestRecord) -> str:
        if len(record.operations) > 1:
            return BATCH
        if not record.operations:
            return NONE
        name = record.operations[0] or ANONYMOUS_OPERATION
        return name if record.document_source == "manifest" else self._operations(name)

    def observe_webhook(self, outcome: str) -> None:
        self.webhook_deliveries.labels(outcome).inc()

    def observe_subscriptions(self, open_now: int) -> None:
        self.subscriptions.set(open_now)

    def observe_upstream(self, call: UpstreamCall) -> None:
        account, template = endpoint_of(call.path)
        endpoint = self._endpoints(template)
        status = "none" if call.status is None else str(call.status)
        labels = (call.method, endpoint, status)
        children = self._upstream_children.get(labels)
        if children is None:
            children = (
                self.upstream_calls.labels(*labels),
                self.upstream_duration.labels(*labels[:2]),
            )
            self._upstream_children[labels] = children
        children[0].inc()
        children[1].observe(call.elapsed)
        if call.retried:
            self.retries.labels(endpoint).inc()
        if call.status == 429:
            self.rate_limited.labels(self._accounts(account)).inc()

    # --- read from snapshots -----------------------------------------------------------------

    def refresh(self) -> None:
        """Bring the series read from snapshots and counters up to date."""
        grow = self._deltas
        cache = self._cache
        if cache is not None:
            counters = cache.counters
            self.cache_hits.inc(grow("cache.hits", counters[Outcome.HIT]))
            self.cache_misses.inc(grow("cache.misses", counters[Outcome.FETCHED]))
            self.cache_stale.inc(grow("cache.stale", counters[Outcome.STALE]))
            store: Any = cache.store
            with contextlib.suppress(TypeError):
                self.cache_entries.set(len(store))
            used = getattr(store, "bytes_used", None)  # the in-process store's estimate
            if isinstance(used, int | float):
                self.cache_bytes.set(used)
        response_cache = self._response_cache()
        if response_cache is not None:
            counted = response_cache.counters
            self.response_hits.inc(grow("response.hits", counted["hits"]))
            self.response_misses.inc(grow("response.misses", counted["misses"]))
            self.response_replays.inc(grow("response.replays", counted["replays"]))
        watched = self._watcher()
        if watched is not None:
            self.watch_cycles.inc(grow("watch.cycles", watched.cycles))
            self.watch_calls.inc(grow("watch.calls", watched.calls))
            self.watch_errors.inc(grow("watch.errors", watched.errors))
            for kind, count in list(watched.events.items()):
                self.watch_events.labels(kind).inc(grow(("watch.events", kind), count))
            self.watch_tenants.set(len(watched.held))
        tenants = self._tenants()
        if tenants is not None:
            for outcome, count in list(tenants.read_ahead.counters.items()):
                self.read_ahead.labels(outcome).inc(grow(("read_ahead", outcome), count))
            snapshot = tenants.upstream()
            self._refresh_breakers(snapshot.breakers)
            self._refresh_governors(snapshot.governors)

    def _refresh_breakers(self, breakers: Mapping[str, BreakerSnapshot]) -> None:
        states: dict[str, int] = {}
        for account, breaker in breakers.items():
            label = self._accounts(account)
            state = BREAKER_STATES.get(breaker.state, 2)
            states[label] = max(states.get(label, 0), state)
            self.breaker_opened.labels(label).inc(
                self._deltas(("breaker.opened", account), breaker.opened)
            )
            self.breaker_refused.labels(label).inc(
                self._deltas(("breaker.refused", account), breaker.refused)
            )
        for label, state in states.items():
            self.breaker_state.labels(label).set(state)

    def _refresh_governors(self, governors: Mapping[str, GovernorSnapshot]) -> None:
        by_account: dict[str, list[GovernorSnapshot]] = {}
        for key, governor in governors.items():
            label = self._accounts(key.partition(":")[0])  # account:fingerprint → the account
            by_account.setdefault(label, []).append(governor)
            self.governor_pauses.labels(label).inc(
                self._deltas(("governor.pauses", key), governor.pauses)
            )
            self.governor_refused.labels(label).inc(
                self._deltas(("governor.refused", key), governor.refused)
            )
        for label, snapshots in by_account.items():
            rates = [s.rate for s in snapshots if s.rate is not None]
            self.governor_throttled.labels(label).set(1 if rates else 0)
            self.governor_rate.labels(label).set(min(rates) if rates else 0)
            self.governor_paused.labels(label).set(max(s.paused_for for s in snapshots))
            self.governor_queued.labels(label).set(sum(s.queued for s in snapshots))

    # --- serving -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the app's lifespan: with several workers, each one publishes what its snapshots
        say every second (the scrape is answered by one of them), and its live gauges go when
        it stops."""
        if not self.multiprocess:
            yield
            return

        async def publish() -> None:
            while True:
                await asyncio.sleep(REFRESH_EVERY)
                self.refresh()

        task = asyncio.create_task(publish())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.refresh()
            if os.environ.get(MULTIPROC_VARIABLE):
                mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: the exposition Prometheus asked for (text or OpenMetrics)."""
        if self.token is not None and not _bearer_matches(
            request.headers.get("authorization", ""), self.token
        ):
            return JSONResponse(
                {"error": "/metrics needs `Authorization: Bearer <GRAPH_METRICS_TOKEN>`."},
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
        self.refresh()
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await asyncio.to_thread(encoder, self._exposed())
        return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})

    def _exposed(self) -> CollectorRegistry:
        if not self.multiprocess:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # every worker's, summed
        return registry


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, presented = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), token.encode()
    )


@contextlib.contextmanager
def multiprocess_directory(workers: int) -> Any:
    """For ``serve --workers N`` (N > 1): a fresh ``PROMETHEUS_MULTIPROC_DIR`` for the workers
    (inherited through the environment), removed when ``serve`` ends. One set by the operator is
    used as it is (it must be emptied between runs)."""
    import tempfile

    if workers <= 1 or os.environ.get(MULTIPROC_VARIABLE):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="kickserv-graph-metrics-") as directory:
        os.environ[MULTIPROC_VARIABLE] = directory
        try:
            yield
        finally:
            os.environ.pop(MULTIPROC_VARIABLE, None)
