"""Server configuration, read from environment variables only.

Each variable is documented once, in ``graph.server.environment`` (README.md's Configuration table
is rendered from it, and a test keeps the two equal, and every variable read here documented there).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, TypeVar

from resolvers.state import default_state_dir

Environment = Literal["development", "production"]
SafelistName = Literal["open", "audit", "persisted-only"]
LogFormat = Literal["json", "text"]
_SAFELISTS: tuple[SafelistName, ...] = ("open", "audit", "persisted-only")
TracesName = Literal["off", "otlp", "console"]
_TRACES: tuple[TracesName, ...] = ("off", "otlp", "console")


class SettingsError(ValueError):
    """A variable is set to something we cannot use; the message names it and says what fits."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_LOG_LEVELS = {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class Settings:
    kickserv_account: str | None = None
    kickserv_api_token: str | None = field(default=None, repr=False)
    kickserv_base_url: str = "https://app.kickserv.com"
    host: str = "127.0.0.1"
    port: int = 8000
    env: Environment = "development"
    max_body_bytes: int = 1_000_000
    body_timeout: float = 10.0  # seconds; 0: none
    header_timeout: float = 10.0  # seconds; 0: none
    max_header_bytes: int = 64 * 1024
    upstream_extensions: bool = True
    log_level: str = "INFO"
    log_format: LogFormat = "text"
    metrics_enabled: bool = True
    metrics_token: str | None = field(default=None, repr=False)
    traces: TracesName = "off"
    sandbox_customers: int = 200
    sandbox_seed: int = 1
    sandbox_latency_ms: float = 0.0
    sandbox_today: date | None = None
    sandbox_reference_strict: bool = False
    cache_enabled: bool = True
    cache_max_entries: int = 50_000
    cache_max_bytes: int = 64 * 1024 * 1024
    response_cache_enabled: bool = True
    response_cache_max_entries: int = 1000
    response_cache_max_bytes: int = 64 * 1024 * 1024
    document_cache_max_bytes: int = 64 * 1024 * 1024
    loaders_enabled: bool = True
    read_ahead_pages: int = 3  # cursor read-ahead's most further pages; 0: off
    kickserv_max_per_page: int = 100
    kickserv_concurrency: int = 64
    kickserv_read_deadline: float = 5.0  # seconds; 0: none
    kickserv_rate_increase: float = 2.0
    kickserv_rate_decrease: float = 0.7
    kickserv_rate_forget: float = 60.0
    kickserv_rate_share_ms: float = 500.0  # 0: not shared
    kickserv_breaker_failures: int = 10
    kickserv_breaker_open: float = 1.0
    write_timeout: float = 20.0
    api_keys_file: str | None = None
    pass_through: bool = False
    persisted_manifests: tuple[str, ...] = ()
    apq_enabled: bool = True
    apq_max_entries: int = 10_000
    apq_max_bytes: int = 16 * 1024 * 1024
    # Where state that outlives a process lives: a directory (or file) for the embedded store,
    # "memory" (or None) for this process only; redis_url wins when set.
    state_dir: str | None = None
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    safelist: SafelistName = "open"
    introspection: bool | None = None  # None: on without API keys, off with them
    max_depth: int = 15
    max_aliases: int = 30
    max_tokens: int = 5000
    max_root_fields: int = 20
    query_budget: int = 1000
    max_batch: int = 10  # 0: batches refused
    cors_origins: tuple[str, ...] = ()
    max_subscriptions: int = 100
    webhooks_enabled: bool = True
    webhook_allow_private: bool = False
    webhook_timeout: float = 10.0
    webhook_retry: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    webhook_secret_grace: float = 86400.0
    watch_interval: float = 30.0  # seconds; 0: no watcher
    watch_max_calls: int = 50
    watch_idle: float = 3600.0
    event_retention: float = 7 * 24 * 3600.0

    @property
    def sandbox_mode(self) -> bool:
        """No Kickserv credentials (and no pass-through): the server talks to the in-process sandbox."""
        return not (self.kickserv_account and self.kickserv_api_token) and not self.pass_through

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        account, token = text("KICKSERV_ACCOUNT"), text("KICKSERV_API_TOKEN")
        if bool(account) != bool(token):
            missing = "KICKSERV_API_TOKEN" if account else "KICKSERV_ACCOUNT"
            present = "KICKSERV_ACCOUNT" if account else "KICKSERV_API_TOKEN"
            raise SettingsError(
                f"{present} is set but {missing} is missing: set both to use a real Kickserv "
                "account, or neither to use the built-in sandbox."
            )
        mode = text("GRAPH_ENV") or "development"
        if mode not in ("development", "production"):
            raise SettingsError(f"GRAPH_ENV is {mode!r}; use 'development' or 'production'.")
        level = (text("GRAPH_LOG_LEVEL") or "INFO").upper()
        if level not in _LOG_LEVELS:
            raise SettingsError(f"GRAPH_LOG_LEVEL is {level!r}; use one of {sorted(_LOG_LEVELS)}.")
        safelist = (text("GRAPH_SAFELIST") or "open").lower()
        if safelist not in _SAFELISTS:
            raise SettingsError(f"GRAPH_SAFELIST is {safelist!r}; use one of {list(_SAFELISTS)}.")
        manifests = tuple(p.strip() for p in (text("GRAPH_PERSISTED_MANIFESTS") or "").split(","))
        # The built-in sandbox is seeded afresh at every start: state kept from another run would
        # replay writes it no longer has (``serve`` gives its workers one fresh directory).
        sandbox = not (account and token) and not _bool(env, "GRAPH_PASS_THROUGH", False)
        default = cls()
        return cls(
            kickserv_account=account,
            kickserv_api_token=token,
            kickserv_base_url=(text("KICKSERV_BASE_URL") or default.kickserv_base_url).rstrip("/"),
            host=text("GRAPH_HOST") or default.host,
            port=_int(env, "GRAPH_PORT", default.port, minimum=0),
            env="production" if mode == "production" else "development",
            max_body_bytes=_int(env, "GRAPH_MAX_BODY_BYTES", default.max_body_bytes, minimum=1),
            body_timeout=_float(env, "GRAPH_BODY_TIMEOUT_S", default.body_timeout),
            header_timeout=_float(env, "GRAPH_HEADER_TIMEOUT_S", default.header_timeout),
            max_header_bytes=_int(
                env, "GRAPH_MAX_HEADER_BYTES", default.max_header_bytes, minimum=1024
            ),
            upstream_extensions=_bool(env, "GRAPH_UPSTREAM_EXTENSIONS", mode == "development"),
            log_level=level,
            log_format=_log_format(text("GRAPH_LOG_FORMAT"), mode),
            metrics_enabled=_bool(env, "GRAPH_METRICS", True),
            metrics_token=text("GRAPH_METRICS_TOKEN"),
            traces=_traces(env),
            sandbox_customers=_int(env, "SANDBOX_CUSTOMERS", default.sandbox_customers, minimum=1),
            sandbox_seed=_int(env, "SANDBOX_SEED", default.sandbox_seed, minimum=0),
            sandbox_latency_ms=_float(env, "SANDBOX_LATENCY_MS", default.sandbox_latency_ms),
            sandbox_today=_date(env, "SANDBOX_TODAY"),
            sandbox_reference_strict=_bool(env, "SANDBOX_REFERENCE_STRICT", False),
            cache_enabled=_bool(env, "GRAPH_CACHE", True),
            cache_max_entries=_int(
                env, "GRAPH_CACHE_MAX_ENTRIES", default.cache_max_entries, minimum=1
            ),
            cache_max_bytes=_int(
                env, "GRAPH_CACHE_MAX_BYTES", default.cache_max_bytes, minimum=8 * 1024 * 1024
            ),
            response_cache_enabled=_bool(env, "GRAPH_RESPONSE_CACHE", True),
            response_cache_max_entries=_int(
                env,
                "GRAPH_RESPONSE_CACHE_MAX_ENTRIES",
                default.response_cache_max_entries,
                minimum=1,
            ),
            response_cache_max_bytes=_int(
                env,
                "GRAPH_RESPONSE_CACHE_MAX_BYTES",
                default.response_cache_max_bytes,
                minimum=1024,
            ),
            document_cache_max_bytes=_int(
                env,
                "GRAPH_DOCUMENT_CACHE_MAX_BYTES",
                default.document_cache_max_bytes,
                minimum=1024,
            ),
            apq_max_bytes=_int(env, "GRAPH_APQ_MAX_BYTES", default.apq_max_bytes, minimum=1024),
            loaders_enabled=_bool(env, "GRAPH_LOADERS", True),
            read_ahead_pages=_int(
                env, "GRAPH_READ_AHEAD_PAGES", default.read_ahead_pages, minimum=0
            ),
            kickserv_max_per_page=_int(
                env, "KICKSERV_MAX_PER_PAGE", default.kickserv_max_per_page, minimum=1
            ),
            kickserv_concurrency=_int(
                env, "KICKSERV_CONCURRENCY", default.kickserv_concurrency, minimum=1
            ),
            kickserv_read_deadline=_float(
                env, "KICKSERV_READ_DEADLINE_S", default.kickserv_read_deadline
            ),
            kickserv_rate_increase=_float(
                env, "KICKSERV_RATE_INCREASE", default.kickserv_rate_increase
            ),
            kickserv_rate_decrease=_fraction(
                env, "KICKSERV_RATE_DECREASE", default.kickserv_rate_decrease
            ),
            kickserv_rate_forget=_float(
                env, "KICKSERV_RATE_FORGET_S", default.kickserv_rate_forget
            ),
            kickserv_rate_share_ms=_float(
                env, "KICKSERV_RATE_SHARE_MS", default.kickserv_rate_share_ms
            ),
            kickserv_breaker_failures=_int(
                env, "KICKSERV_BREAKER_FAILURES", default.kickserv_breaker_failures, minimum=1
            ),
            kickserv_breaker_open=_positive(
                env, "KICKSERV_BREAKER_OPEN_S", default.kickserv_breaker_open
            ),
            write_timeout=_float(env, "GRAPH_WRITE_TIMEOUT", default.write_timeout),
            api_keys_file=text("GRAPH_API_KEYS_FILE"),
            pass_through=_bool(env, "GRAPH_PASS_THROUGH", False),
            persisted_manifests=tuple(p for p in manifests if p),
            apq_enabled=_bool(env, "GRAPH_APQ", True),
            apq_max_entries=_int(env, "GRAPH_APQ_MAX_ENTRIES", default.apq_max_entries, minimum=1),
            state_dir=text("GRAPH_STATE_DIR") or (None if sandbox else str(default_state_dir())),
            redis_url=text("GRAPH_REDIS_URL"),
            safelist=next(name for name in _SAFELISTS if name == safelist),
            introspection=(
                _bool(env, "GRAPH_INTROSPECTION", False) if text("GRAPH_INTROSPECTION") else None
            ),
            max_depth=_int(env, "GRAPH_MAX_DEPTH", default.max_depth, minimum=1),
            max_aliases=_int(env, "GRAPH_MAX_ALIASES", default.max_aliases, minimum=0),
            max_tokens=_int(env, "GRAPH_MAX_TOKENS", default.max_tokens, minimum=1),
            max_root_fields=_int(env, "GRAPH_MAX_ROOT_FIELDS", default.max_root_fields, minimum=1),
            query_budget=_int(env, "GRAPH_QUERY_BUDGET", default.query_budget, minimum=1),
            max_batch=_int(env, "GRAPH_MAX_BATCH", default.max_batch, minimum=0),
            cors_origins=_origins(text("GRAPH_CORS_ORIGINS")),
            max_subscriptions=_int(
                env, "GRAPH_MAX_SUBSCRIPTIONS", default.max_subscriptions, minimum=1
            ),
            webhooks_enabled=_bool(env, "GRAPH_WEBHOOKS", True),
            webhook_allow_private=_bool(env, "GRAPH_WEBHOOK_ALLOW_PRIVATE", False),
            webhook_timeout=_positive(env, "GRAPH_WEBHOOK_TIMEOUT_S", default.webhook_timeout),
            webhook_retry=_delays(text("GRAPH_WEBHOOK_RETRY_S"), default.webhook_retry),
            webhook_secret_grace=_float(
                env, "GRAPH_WEBHOOK_SECRET_GRACE_S", default.webhook_secret_grace
            ),
            watch_interval=0.0
            if text("GRAPH_WATCH_INTERVAL_S") == "off"
            else _float(env, "GRAPH_WATCH_INTERVAL_S", default.watch_interval),
            watch_max_calls=_int(env, "GRAPH_WATCH_MAX_CALLS", default.watch_max_calls, minimum=1),
            watch_idle=_positive(env, "GRAPH_WATCH_IDLE_S", default.watch_idle),
            event_retention=_positive(env, "GRAPH_EVENT_RETENTION_S", default.event_retention),
        )


def _traces(env: Mapping[str, str]) -> TracesName:
    """``GRAPH_TRACES``, checked against what is installed (looked up, not imported)."""
    endpoint = any(env.get(f"OTEL_EXPORTER_OTLP{part}_ENDPOINT") for part in ("", "_TRACES"))
    raw = env.get("GRAPH_TRACES", "").strip().lower() or ("otlp" if endpoint else "off")
    traces = next((name for name in _TRACES if name == raw), None)
    if traces is None:
        raise SettingsError(f"GRAPH_TRACES is {raw!r}; use one of {list(_TRACES)}.")
    wanted = {"off": (), "console": ("opentelemetry.sdk",)}.get(
        traces, ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
    )
    if not all(_installed(module) for module in wanted):
        raise SettingsError(
            f"GRAPH_TRACES is {traces!r} but OpenTelemetry is not installed: install the otel "
            "extra (pip install 'kickserv-graph[otel]'), or set GRAPH_TRACES=off."
        )
    return traces


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _delays(raw: str | None, default: tuple[float, ...]) -> tuple[float, ...]:
    """``GRAPH_WEBHOOK_RETRY_S``: positive seconds separated by commas."""
    if raw is None:
        return default
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        delays = ()
    if not delays or not all(0 < d < 10 * 86400 for d in delays):
        raise SettingsError(
            f"GRAPH_WEBHOOK_RETRY_S is {raw!r}; use positive seconds separated by commas, "
            "e.g. 5,300,1800."
        )
    return delays


def _origins(raw: str | None) -> tuple[str, ...]:
    """``GRAPH_CORS_ORIGINS``: origins exactly as a browser's ``Origin`` header names them."""
    origins = tuple(o.strip() for o in (raw or "").split(",") if o.strip())
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if origin != "*" and (scheme not in ("http", "https") or not rest or "/" in rest):
            raise SettingsError(
                f"GRAPH_CORS_ORIGINS has {origin!r}; an origin is scheme://host[:port] with no "
                "path or trailing slash (say https://app.example.com), or * for any."
            )
    return origins


def _log_format(raw: str | None, mode: str) -> LogFormat:
    """``GRAPH_LOG_FORMAT``; unset: JSON lines in production, readable lines in development."""
    value = (raw or ("json" if mode == "production" else "text")).lower()
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise SettingsError(f"GRAPH_LOG_FORMAT is {value!r}; use 'json' or 'text'.")


def _parsed(env: Mapping[str, str], name: str, parse: Callable[[str], V], what: str) -> V | None:
    """The variable read by ``parse`` (None when unset or blank); a value ``parse`` refuses is
    a SettingsError saying it must be ``what``."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(f"{name} is {raw!r}; it must be {what}.") from None


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    value = _parsed(env, name, int, "a whole number")
    if value is None:
        return default
    if value < minimum:
        raise SettingsError(f"{name} is {value}; it must be at least {minimum}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    value = _parsed(env, name, float, "a number")
    if value is None:
        return default
    if value < 0:
        raise SettingsError(f"{name} is {value}; it must not be negative.")
    return value


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if not 0 < value < 1:
        raise SettingsError(f"{name} is {value}; it must be between 0 and 1 (say 0.7).")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise SettingsError(f"{name} is {value}; it must be more than 0.")
    return value


def _date(env: Mapping[str, str], name: str) -> date | None:
    return _parsed(env, name, date.fromisoformat, "a date (YYYY-MM-DD)")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} is {raw!r}; use 1/0, true/false, yes/no or on/off.")
