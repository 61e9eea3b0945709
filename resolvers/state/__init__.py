"""State that outlives a process: one ``StateStore`` interface, two backends.

- ``SQLiteStateStore``: the embedded default, one file in a state directory, shared by every worker
  process of one machine and surviving restarts (``resolvers.state.sqlite_store``);
- ``RedisStateStore``: one Redis for many machines (``resolvers.state.redis_store``).

``open_state_store`` picks one from a URL or a path. What a store holds and its rules (JSON values,
time-to-live on everything, compare-and-set, errors) are in ``resolvers.state.base``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from resolvers.state.base import (
    APQ_MAX_BYTES,
    APQ_TTL,
    EVENT_RETENTION,
    GENERATION_TTL,
    StateStore,
    StateStoreError,
    StateStoreOpenError,
    StateUnavailable,
    rate_update,
)
from resolvers.state.sqlite_store import SQLiteStateStore

if TYPE_CHECKING:
    from resolvers.cache import CacheStore
    from resolvers.state.redis_store import RedisStateStore

__all__ = [
    "STATE_FILE",
    "SQLiteStateStore",
    "StateStore",
    "StateStoreError",
    "StateStoreOpenError",
    "StateUnavailable",
    "default_state_dir",
    "open_state_store",
    "rate_update",
]

STATE_FILE = "state.db"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/kickserv-graph``, else ``~/.local/state/kickserv-graph``, else (no home
    directory) ``./.kickserv-graph``."""
    if base := os.environ.get("XDG_STATE_HOME"):
        return Path(base) / "kickserv-graph"
    try:
        return Path.home() / ".local" / "state" / "kickserv-graph"
    except (RuntimeError, KeyError):
        return Path(".kickserv-graph")


def open_state_store(
    where: str | os.PathLike[str] | None = None,
    *,
    prefix: str = "kickserv-graph",
    apq_ttl: float = APQ_TTL,
    apq_max_bytes: int = APQ_MAX_BYTES,
    generation_ttl: float = GENERATION_TTL,
    event_retention: float = EVENT_RETENTION,
) -> StateStore:
    """The store ``where`` names:

    - ``redis://...``, ``rediss://...`` (TLS), ``unix://...``: Redis (keys under ``prefix``);
    - ``sqlite:///path/state.db``, or a path ending in ``.db``, ``.sqlite`` or ``.sqlite3``: that file;
    - any other path: a state directory, the file ``state.db`` in it;
    - None or empty: ``default_state_dir()``.

    An SQLite store is opened now (blocking; corrupt or unwritable: ``StateStoreOpenError``); a Redis
    store connects at its first operation (``await store.ping()`` to check it).
    """
    text = "" if where is None else os.fspath(where)
    if text.startswith(_REDIS_SCHEMES):
        from resolvers.state.redis_store import RedisStateStore

        return RedisStateStore(
            text,
            prefix=prefix,
            apq_ttl=apq_ttl,
            apq_max_bytes=apq_max_bytes,
            generation_ttl=generation_ttl,
            event_retention=event_retention,
        )
    if text.startswith("sqlite://"):
        path = Path(text.removeprefix("sqlite://"))
    elif not text:
        path = default_state_dir() / STATE_FILE
    elif text.endswith(_SQLITE_SUFFIXES) or Path(text).is_file():
        path = Path(text)
    else:
        path = Path(text) / STATE_FILE
    return SQLiteStateStore(
        path.expanduser(),
        apq_ttl=apq_ttl,
        apq_max_bytes=apq_max_bytes,
        generation_ttl=generation_ttl,
        event_retention=event_retention,
    )


if TYPE_CHECKING:
    # Both backends are StateStores, and so CacheStores (the idempotency ledger's records).
    def _conforms(
        s: SQLiteStateStore, r: RedisStateStore
    ) -> tuple[StateStore, StateStore, CacheStore, CacheStore]:
        return s, r, s, r
