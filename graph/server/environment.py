"""Every environment variable the server reads, documented once: name, default and meaning.

README.md's Configuration table is rendered from ``ENVIRONMENT`` (``configuration_table()``, written
by ``scripts/config_table.py``), and a test keeps the two equal. ``graph.server.settings`` reads the
variables; this module is their documentation, kept apart so that the reading code stays short.

Why this module is long: it is one declarative table, a row per variable, in the README's order.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    default: str
    meaning: str


ENVIRONMENT: tuple[EnvVar, ...] = (
    EnvVar(
        "KICKSERV_ACCOUNT",
        "(unset)",
        "Kickserv account slug (the `SLUG` in `app.kickserv.com/SLUG`). Unset together with "
        "`KICKSERV_API_TOKEN`: serve the built-in sandbox.",
    ),
    EnvVar(
        "KICKSERV_API_TOKEN",
        "(unset)",
        "Kickserv API token (HTTP Basic username and password). Never logged or printed.",
    ),
    EnvVar("KICKSERV_BASE_URL", "https://app.kickserv.com", "Kickserv's base URL."),
    EnvVar("GRAPH_HOST", "127.0.0.1", "Interface `kickserv-graph serve` binds."),
    EnvVar("GRAPH_PORT", "8000", "Port `kickserv-graph serve` listens on."),
    EnvVar(
        "GRAPH_ENV",
        "development",
        "`development` or `production`; sets the defaults of the variables that depend on it.",
    ),
    EnvVar(
        "GRAPH_MAX_BODY_BYTES",
        "1000000",
        "Largest request body accepted; larger ones get 413 `REQUEST_TOO_LARGE` before parsing.",
    ),
    EnvVar(
        "GRAPH_BODY_TIMEOUT_S",
        "10",
        "Seconds a request body may take to arrive once its headers are in; past that the "
        "request gets 408 and its connection is closed (`0`: no limit). Headers have their own: "
        "`GRAPH_HEADER_TIMEOUT_S`.",
    ),
    EnvVar(
        "GRAPH_HEADER_TIMEOUT_S",
        "10",
        "Seconds a request's head (request line and headers) may take to arrive, from the "
        "connection's opening or the start of the head on a kept-alive connection; past that the "
        "client gets 408 and its connection is closed (`0`: no limit). `kickserv-graph serve` only.",
    ),
    EnvVar(
        "GRAPH_MAX_HEADER_BYTES",
        "65536",
        "Most bytes a request's head (request line and headers) may take; past that the client "
        "gets 431 and its connection is closed. `kickserv-graph serve` only.",
    ),
    EnvVar(
        "GRAPH_UPSTREAM_EXTENSIONS",
        "on in development, off in production",
        "Report upstream cost (Kickserv calls, cache hits) in the response's `extensions` "
        "(`1`/`0`, `true`/`false`).",
    ),
    EnvVar(
        "GRAPH_LOG_LEVEL",
        "INFO",
        "Python log level (`DEBUG`, `INFO`, `WARNING`, ...). The access log (one line per request, "
        "README: Operating it) is at `INFO`; probes, `/metrics` and static files at `DEBUG`.",
    ),
    EnvVar(
        "GRAPH_LOG_FORMAT",
        "`json` in production, `text` in development",
        "`json`: every log line one JSON object (access lines with their fields); `text`: a "
        "readable line, an access line's fields as `name=value`.",
    ),
    EnvVar(
        "GRAPH_METRICS",
        "on",
        "Serve Prometheus metrics at `/metrics` (`on`/`off`).",
    ),
    EnvVar(
        "GRAPH_METRICS_TOKEN",
        "(unset)",
        "When set, `/metrics` answers only `Authorization: Bearer <token>` (Prometheus: "
        "`authorization: {credentials: …}` in the scrape config); others get 401.",
    ),
    EnvVar(
        "GRAPH_TRACES",
        "`otlp` when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, "
        "else `off`",
        "OpenTelemetry traces (README, Operating it): `otlp` exports them over OTLP/HTTP "
        "(protobuf) as the standard `OTEL_*` variables say, `console` prints them, `off` loads "
        "nothing. Needs the `otel` extra (`pip install 'kickserv-graph[otel]'`; the image has it).",
    ),
    EnvVar(
        "GRAPH_CACHE",
        "on",
        "Shared cache of upstream records (`on`/`off`). `off` only for measuring what it saves.",
    ),
    EnvVar(
        "GRAPH_CACHE_MAX_ENTRIES",
        "50000",
        "Most upstream answers (pages and records) the in-process cache keeps; least recently used go first.",
    ),
    EnvVar(
        "GRAPH_CACHE_MAX_BYTES",
        "67108864",
        "Memory the in-process cache of upstream answers (pages and records) may hold, in bytes "
        "(estimated; at least 8 MiB); least recently used go first, and an answer above a tenth "
        "of it is not kept. It keeps the typed fields the graph reads, not Kickserv's raw JSON.",
    ),
    EnvVar(
        "GRAPH_RESPONSE_CACHE",
        "on",
        "Cache whole query responses per tenant (`on`/`off`): an identical query is answered "
        "without executing, while every upstream answer it was built from is still fresh and no "
        "write by this server has happened for that tenant since. Off when `GRAPH_CACHE` is off.",
    ),
    EnvVar(
        "GRAPH_RESPONSE_CACHE_MAX_ENTRIES",
        "1000",
        "Most query responses the response cache keeps (each at most 256 KiB); least recently "
        "used go first.",
    ),
    EnvVar(
        "GRAPH_RESPONSE_CACHE_MAX_BYTES",
        "67108864",
        "Memory the response cache may hold, in bytes (responses and their keys); a response "
        "above a tenth of it is not kept.",
    ),
    EnvVar(
        "GRAPH_DOCUMENT_CACHE_MAX_BYTES",
        "67108864",
        "Memory the parsed-document cache may hold, in bytes (estimated from each document's "
        "text); a document above a tenth of it is parsed for its request only.",
    ),
    EnvVar(
        "GRAPH_LOADERS",
        "on",
        "Per-request DataLoaders (`on`/`off`). `off` only for measuring what batching saves.",
    ),
    EnvVar(
        "GRAPH_READ_AHEAD_PAGES",
        "3",
        "Cursor read-ahead: when a query that asks for a cursor (`pageInfo`, `edges { cursor }`) "
        "of the schedule is served a page and at most this many further pages follow, they are "
        "read together in the background, so the client's next cursors find them (2 rounds for "
        "the whole walk, not one a page); not while Kickserv limits or fails, nor with "
        "`GRAPH_CACHE=off`. At most this many calls are wasted by a client that stops. `0`: off.",
    ),
    EnvVar(
        "KICKSERV_MAX_PER_PAGE",
        "100",
        "Largest `per_page` asked of Kickserv; lowered automatically when Kickserv answers with less.",
    ),
    EnvVar(
        "KICKSERV_CONCURRENCY",
        "64",
        "Most requests in flight to Kickserv at once, per credential. A level of the graph (say the "
        "tasks of 40 jobs, or the customers' job listings with the account's task pages) goes out "
        "as one round up to this many; Kickserv publishes no limit: the rate governor slows the "
        "credential after a 429, so lower this only if your account is throttled even so.",
    ),
    EnvVar(
        "KICKSERV_READ_DEADLINE_S",
        "5",
        "Seconds one read of Kickserv may take, retries, waits for a turn and for a slot included; "
        "a call still in flight then is cancelled and frees its slot. The read fails "
        "(`UPSTREAM_UNAVAILABLE`, or stale data marked stale when the cache has some). An "
        "index build's page reads wait for their turn and slot outside it (each page's deadline "
        "starts when it is sent); a lookup waits for the build one deadline per 8 pages, plus one.",
    ),
    EnvVar(
        "KICKSERV_RATE_INCREASE",
        "2",
        "Per credential, calls go out unthrottled until Kickserv answers 429; then every call of the "
        "credential pauses until its `Retry-After` and goes at a learnt rate, raised by this many "
        "calls/s each second while calls succeed at it.",
    ),
    EnvVar(
        "KICKSERV_RATE_DECREASE",
        "0.7",
        "The learnt rate's factor on a 429 (between 0 and 1); the first 429 sets it to this factor "
        "of the calls sent in the last second.",
    ),
    EnvVar(
        "KICKSERV_RATE_FORGET_S",
        "60",
        "Seconds without a 429 after which a credential goes unthrottled again.",
    ),
    EnvVar(
        "KICKSERV_RATE_SHARE_MS",
        "500",
        "With a state store, replicas share each credential's rate state: a 429's cut and pause "
        "are published at once, and read by the others at most this often (`0`: not shared).",
    ),
    EnvVar(
        "KICKSERV_BREAKER_FAILURES",
        "10",
        "Failed calls in a row (5xx, timeouts, no answer) that open an account's circuit breaker: "
        "reads then answer at once, with stale data marked stale or `UPSTREAM_UNAVAILABLE`.",
    ),
    EnvVar(
        "KICKSERV_BREAKER_OPEN_S",
        "1",
        "Seconds an open breaker waits before one read probes Kickserv (and between probes); the "
        "first answer closes it.",
    ),
    EnvVar(
        "GRAPH_API_KEYS_FILE",
        "(unset)",
        "Path of the API-keys file (TOML or JSON): each client key's Kickserv account, credential "
        "and policy. Set: every request needs a key (`Authorization: Bearer …` or `X-API-Key`). "
        "Unset: the graph is open (local development).",
    ),
    EnvVar(
        "GRAPH_PASS_THROUGH",
        "off",
        "Let callers send their own Kickserv account and token (`X-Kickserv-Account`, "
        "`X-Kickserv-Token`); the server then needs no Kickserv secret of its own.",
    ),
    EnvVar(
        "GRAPH_PERSISTED_MANIFESTS",
        "(unset)",
        "Trusted-document manifests (Apollo persisted-query manifest format) loaded at start-up, "
        "separated by commas.",
    ),
    EnvVar(
        "GRAPH_APQ",
        "on",
        "Automatic Persisted Queries (Apollo's protocol): clients may register documents by hash.",
    ),
    EnvVar(
        "GRAPH_APQ_MAX_ENTRIES",
        "10000",
        "Most APQ documents each process keeps in memory (least recently used go first); the "
        "state store keeps them for every process.",
    ),
    EnvVar(
        "GRAPH_APQ_MAX_BYTES",
        "16777216",
        "Memory each process's APQ front may hold, in bytes (the state store has its own budget).",
    ),
    EnvVar(
        "GRAPH_STATE_DIR",
        "the user's state directory (`$XDG_STATE_HOME/kickserv-graph`); with the built-in "
        "sandbox, a fresh directory per `serve`",
        "Where the embedded state store keeps its file (`state.db`, SQLite): idempotency records, "
        "APQ documents, write generations. Shared by every worker of one machine; survives "
        "restarts. `memory`: one process only, nothing kept.",
    ),
    EnvVar(
        "GRAPH_REDIS_URL",
        "(unset)",
        "Keep the state in Redis instead, for several machines (`redis://user:pass@host:6379/0`, "
        "`rediss://` for TLS). Takes precedence over `GRAPH_STATE_DIR`.",
    ),
    EnvVar(
        "GRAPH_SAFELIST",
        "open",
        "Policy of callers without an API key of their own (open mode, pass-through): `open`, "
        "`audit` (log documents outside the manifests) or `persisted-only`.",
    ),
    EnvVar(
        "GRAPH_INTROSPECTION",
        "on without API keys, off with them",
        "Allow `__schema`, `__type` and `_service` (`on`/`off`); an API key's `introspection` "
        "setting overrides it for that key.",
    ),
    EnvVar("GRAPH_MAX_DEPTH", "15", "Deepest field nesting an operation may have."),
    EnvVar("GRAPH_MAX_ALIASES", "30", "Most aliased fields in one operation."),
    EnvVar(
        "GRAPH_MAX_TOKENS", "5000", "Most lexical tokens in one document (checked while parsing)."
    ),
    EnvVar("GRAPH_MAX_ROOT_FIELDS", "20", "Most root fields in one operation."),
    EnvVar(
        "GRAPH_MAX_BATCH",
        "10",
        "Most operations in one batched request (a JSON array POSTed, as Apollo Client's "
        "BatchHttpLink and Apollo Router's subgraph batching send; 10 is BatchHttpLink's own "
        "`batchMax`). Each operation is measured by the limits and the budget on its own, so a "
        "batch may cost this many times one request. `0`: arrays are refused "
        "(`BATCHING_NOT_ENABLED`).",
    ),
    EnvVar(
        "GRAPH_MAX_SUBSCRIPTIONS",
        "100",
        "Most subscriptions one API key may hold open at once in one server process (WebSocket "
        "and SSE together); one more is refused with `TOO_MANY_SUBSCRIPTIONS`.",
    ),
    EnvVar(
        "GRAPH_WEBHOOKS",
        "on",
        "Deliver webhooks (each server process takes its share of the durable queue). `off`: "
        "endpoints can still be managed, nothing is sent from this process.",
    ),
    EnvVar(
        "GRAPH_WEBHOOK_ALLOW_PRIVATE",
        "off",
        "Allow webhook URLs whose host is (or resolves to) a private, loopback, link-local or "
        "multicast address. Off: such URLs are refused when registered and when delivered.",
    ),
    EnvVar(
        "GRAPH_WEBHOOK_TIMEOUT_S",
        "10",
        "Seconds a webhook receiver has to answer a delivery; past that the attempt failed and is "
        "retried.",
    ),
    EnvVar(
        "GRAPH_WEBHOOK_RETRY_S",
        "5,300,1800,7200,18000,36000,36000",
        "Seconds before each retry of a failed webhook delivery (each +/-20% jitter), separated by "
        "commas; after the last the delivery is given up. The default retries for more than 24 "
        "hours.",
    ),
    EnvVar(
        "GRAPH_WEBHOOK_SECRET_GRACE_S",
        "86400",
        "Seconds a webhook secret replaced by `rotateWebhookSecret` still signs deliveries (beside "
        "the new one).",
    ),
    EnvVar(
        "GRAPH_WATCH_INTERVAL_S",
        "30",
        "Seconds between two polls of Kickserv's listings by the watcher of each tenant (one "
        "per tenant across all processes and replicas, a lease in the state store), which turns "
        "changes made outside this server into events and fresh caches within about one interval. "
        "`0` or `off`: no watcher.",
    ),
    EnvVar(
        "GRAPH_WATCH_MAX_CALLS",
        "50",
        "Most Kickserv calls one watcher cycle of one tenant makes (pages of its listings); a "
        "pass over an account larger than that goes on in the next cycles. The idle polling "
        "cost of a tenant is at most this many calls per interval.",
    ),
    EnvVar(
        "GRAPH_WATCH_IDLE_S",
        "3600",
        "Pass-through mode: a tenant (a caller's own Kickserv account and token) is watched "
        "until no request has used it for this many seconds.",
    ),
    EnvVar(
        "GRAPH_EVENT_RETENTION_S",
        "604800",
        "Seconds a change event stays in its tenant's log (for subscriptions resuming and "
        "webhook retries, which last 24 hours); at most 100,000 events are kept per tenant.",
    ),
    EnvVar(
        "GRAPH_CORS_ORIGINS",
        "(unset)",
        "Origins whose pages may call the graph from a browser (CORS), separated by commas, each "
        "`scheme://host[:port]` as browsers send it (`*`: any). Unset: no CORS headers, and "
        "preflights are refused.",
    ),
    EnvVar(
        "GRAPH_QUERY_BUDGET",
        "1000",
        "Most upstream (Kickserv) calls an operation may be estimated to cost before it runs "
        "(see `graph/limits.py`); an API key may set its own `query_budget`.",
    ),
    EnvVar(
        "GRAPH_WRITE_TIMEOUT",
        "20",
        "Seconds a Kickserv write may take; past that its outcome is unknown and the server checks "
        "whether Kickserv applied it before completing or re-sending (never a blind re-send).",
    ),
    EnvVar(
        "SANDBOX_CUSTOMERS",
        "200",
        "Sandbox mode: how many customers to seed (`serve --customers`).",
    ),
    EnvVar(
        "SANDBOX_SEED", "1", "Sandbox mode: random seed of the generated data (`serve --seed`)."
    ),
    EnvVar("SANDBOX_LATENCY_MS", "0", "Sandbox mode: added latency per upstream call, in ms."),
    EnvVar(
        "SANDBOX_TODAY",
        "(unset)",
        "Sandbox mode: the sandbox's date (`YYYY-MM-DD`, `serve --today`), which its data is "
        "seeded around: the same seed, size and date give the same answers on any day. Unset: "
        "the real date.",
    ),
    EnvVar(
        "SANDBOX_REFERENCE_STRICT",
        "false",
        "Sandbox mode: the strict reference sandbox (`serve --reference-strict`): every behaviour "
        "the Kickserv reference leaves open takes its most conservative alternative "
        "(docs/sandbox-client-contract.md).",
    ),
)


def configuration_table() -> str:
    """README.md's Configuration table, rendered from ``ENVIRONMENT``."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for var in ENVIRONMENT:
        default = (
            var.default if var.default.startswith("(") or " " in var.default else f"`{var.default}`"
        )
        rows.append(f"| `{var.name}` | {default} | {var.meaning} |")
    return "\n".join(rows)
