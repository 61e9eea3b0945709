"""The Redis state store: the same state shared by every replica on every machine.

The URL carries TLS and auth: ``redis://user:password@host:6379/0``, ``rediss://...`` for TLS (with
``?ssl_ca_certs=/path/ca.pem`` for a private CA, ``ssl_cert_reqs=none`` to skip verification),
``unix:///run/redis.sock``. The password is never logged: ``description`` masks it.

Keys, all under ``prefix`` (default ``kickserv-graph``) and all with a time-to-live; each part of a key
is escaped (``%`` and ``:``) so no tenant or resource name can reach into another's keys::

    {prefix}:t:{tenant}:r:{resource}:{key}   record: "<stale window ms>|<canonical JSON>"
    {prefix}:t:{tenant}:gen                  the tenant's write generation
    {prefix}:gen                             the counter generations are drawn from
    {prefix}:rate:{credential}               upstream rate state: "0|<canonical JSON>"
    {prefix}:apq:e:{digest}                  APQ query text
    {prefix}:apq:index, :apq:sizes, :apq:bytes   when each was stored, its size, the total
    {prefix}:t:{tenant}:ev, :ev:ids, :ev:seq      change events (``resolvers.state.redis_events``)
    {prefix}:lease:{name}                    a lease's holder

``add`` is ``SET NX PX``; ``swap``, ``get``, the generation bump and the APQ put are Lua scripts, so
each is atomic and one round-trip (scripts are re-sent by themselves when Redis restarted and forgot
them). The scripts touch several keys (and the APQ script keys it computes): standalone Redis or a
primary with replicas, not Redis Cluster.

Nothing is retried blindly: an ``add`` or a ``swap`` that was sent may have been applied even if its
answer was lost. When Redis cannot be reached (refused, timed out, authentication refused, loading,
out of memory, read-only replica) an operation raises ``StateUnavailable``; the connection pool
reconnects by itself on the next call once Redis is back.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from resolvers.cache import CacheKey, Entry
from resolvers.events import ChangeEvent
from resolvers.state.base import (
    APQ_MAX_BYTES,
    APQ_TTL,
    EVENT_CAP,
    EVENT_RETENTION,
    GENERATION_TTL,
    StateStoreOpenError,
    StateUnavailable,
    check_digest,
    check_ttl,
    dumps,
    key_text,
    lifetime,
    loads,
    stored_entry,
)
from resolvers.state.redis_events import RedisEvents

P = ParamSpec("P")
R = TypeVar("R")

_UNAVAILABLE = (
    redis.exceptions.ConnectionError,  # refused, reset, authentication, busy loading
    redis.exceptions.TimeoutError,
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.NoPermissionError,
    OSError,
)

_GET = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
"""

_SWAP = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local bar = string.find(current, '|', 1, true)
if string.sub(current, bar + 1) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

_BUMP = """
local generation = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], generation, 'PX', ARGV[1])
return generation
"""

# KEYS: entry, index (zset digest -> stored at, ms), sizes (hash digest -> bytes), total bytes.
# ARGV: digest, query, ttl ms, budget bytes, prefix of entry keys.
_APQ_PUT = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local digest, ttl, budget = ARGV[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local total = tonumber(redis.call('GET', KEYS[4]) or '0')
local function forget(d)
  total = total - tonumber(redis.call('HGET', KEYS[3], d) or '0')
  redis.call('HDEL', KEYS[3], d)
  redis.call('ZREM', KEYS[2], d)
  redis.call('DEL', ARGV[5] .. d)
end
for _, d in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl, 'LIMIT', 0, 1000)) do
  forget(d)
end
forget(digest)
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now, digest)
redis.call('HSET', KEYS[3], digest, string.len(ARGV[2]))
total = total + string.len(ARGV[2])
while total > budget do
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 1)
  local d = oldest[1]
  if d == digest then d = oldest[2] end
  if not d then break end
  forget(d)
end
redis.call('SET', KEYS[4], total, 'PX', ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
return 1
"""


def _guard(
    method: Callable[Concatenate[RedisStateStore, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[RedisStateStore, P], Coroutine[Any, Any, R]]:
    """Turn "Redis cannot be reached" into ``StateUnavailable``."""

    @functools.wraps(method)
    async def guarded(self: RedisStateStore, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except _UNAVAILABLE as exc:
            raise StateUnavailable(
                f"Redis state store {self.description} is unavailable: {type(exc).__name__}: {exc}"
            ) from exc

    return guarded


class RedisStateStore(RedisEvents):
    """The Redis ``StateStore`` (see the module docstring). Creating it does no I/O; ``ping``
    checks that Redis answers."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "kickserv-graph",
        apq_ttl: float = APQ_TTL,
        apq_max_bytes: int = APQ_MAX_BYTES,
        generation_ttl: float = GENERATION_TTL,
        event_retention: float = EVENT_RETENTION,
        event_cap: int = EVENT_CAP,
        connect_timeout: float = 2.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._description = _masked(url)
        self.prefix = prefix
        self.apq_ttl = check_ttl(apq_ttl)
        self.apq_max_bytes = apq_max_bytes
        self.generation_ttl = check_ttl(generation_ttl)
        self.event_retention, self.event_cap = check_ttl(event_retention), event_cap
        self._timeout = timeout
        self._clock = clock
        try:
            self._redis: Redis = Redis.from_url(
                url,
                socket_connect_timeout=connect_timeout,
                socket_timeout=timeout,
                retry=Retry(NoBackoff(), 0),  # nothing is re-sent: see the module docstring
                decode_responses=False,
                # RESP2: over RESP3, redis-py 8 turns on maintenance notifications, and with them
                # its pool hands out connections the server has closed without checking them:
                # after a Redis restart every pooled connection failed one command. Over RESP2
                # the pool reconnects them first (tests/state/test_redis.py checks it).
                protocol=2,
            )
        except ValueError as exc:
            raise StateStoreOpenError(
                f"GRAPH_REDIS_URL {self._description} is not a Redis URL ({exc}); use "
                "redis://[user:password@]host[:port][/db], rediss://... (TLS) or unix:///path."
            ) from None
        self._get_script = self._redis.register_script(_GET)
        self._swap_script = self._redis.register_script(_SWAP)
        self._bump_script = self._redis.register_script(_BUMP)
        self._apq_script = self._redis.register_script(_APQ_PUT)
        self._init_events()

    @property
    def description(self) -> str:
        return self._description

    def __repr__(self) -> str:
        return f"RedisStateStore({self._description!r}, prefix={self.prefix!r})"

    # -- keys ----------------------------------------------------------------------------------

    def _record_key(self, key: CacheKey) -> str:
        return (
            f"{self.prefix}:t:{_part(key.tenant)}:r:{_part(key.resource)}:"
            f"{_part(key_text(key.key))}"
        )

    def _rate_key(self, credential: str) -> str:
        return f"{self.prefix}:rate:{_part(credential)}"

    def _events_key(self, tenant: str) -> str:
        return f"{self.prefix}:t:{_part(tenant)}:ev"

    def _lease_key(self, name: str) -> str:
        return f"{self.prefix}:lease:{_part(name)}"

    # -- records (the CacheStore protocol) ----------------------------------------------------

    @_guard
    async def get(self, key: CacheKey) -> Entry | None:
        found = await self._get(self._record_key(key))
        if found is None:
            return None
        value, gap, remaining = found
        return stored_entry(value, gap, remaining, self._clock())

    async def _get(self, name: str) -> tuple[Any, float, float] | None:
        found = await self._get_script(keys=[name])
        if found is None:
            return None
        raw, pttl = found
        gap, _, body = bytes(raw).partition(b"|")
        return loads(body), int(gap) / 1000, max(int(pttl), 0) / 1000

    @_guard
    async def set(self, key: CacheKey, entry: Entry) -> None:
        ttl, gap = lifetime(entry.fresh_until, entry.stale_until, self._clock())
        name = self._record_key(key)
        if ttl <= 0:
            await self._redis.delete(name)
            return
        await self._redis.set(name, _stored(entry.value, gap), px=_ms(ttl))

    @_guard
    async def delete(self, key: CacheKey) -> None:
        await self._redis.delete(self._record_key(key))

    @_guard
    async def delete_resources(self, tenant: str, resources: frozenset[str]) -> int:
        """Scans the tenant's record keys (``SCAN MATCH``: proportional to all keys in the Redis
        database, meant for invalidation after writes, not for every read)."""
        if not resources:
            return 0
        base = f"{self.prefix}:t:{_part(tenant)}:r:"
        wanted = {_part(r).encode() for r in resources}
        doomed: list[bytes] = []
        deleted = 0
        async for name in self._redis.scan_iter(match=_glob(base) + "*", count=1000):
            resource = bytes(name)[len(base.encode()) :].partition(b":")[0]
            if resource in wanted:
                doomed.append(name)
            if len(doomed) >= 500:
                deleted += await self._redis.unlink(*doomed)
                doomed.clear()
        if doomed:
            deleted += await self._redis.unlink(*doomed)
        return deleted

    @_guard
    async def add(self, key: CacheKey, value: Any, ttl: float) -> bool:
        return await self._add(self._record_key(key), value, ttl)

    async def _add(self, name: str, value: Any, ttl: float) -> bool:
        stored = _stored(value, 0.0)
        return bool(await self._redis.set(name, stored, px=_ms(check_ttl(ttl)), nx=True))

    @_guard
    async def swap(self, key: CacheKey, expected: Any, value: Any, ttl: float) -> bool:
        return await self._swap(self._record_key(key), expected, value, ttl)

    async def _swap(self, name: str, expected: Any, value: Any, ttl: float) -> bool:
        args: list[bytes | str | int] = [dumps(expected), _stored(value, 0.0), _ms(check_ttl(ttl))]
        return bool(await self._swap_script(keys=[name], args=args))

    # -- APQ -----------------------------------------------------------------------------------

    @_guard
    async def apq_get(self, digest: str) -> str | None:
        found = await self._redis.get(f"{self.prefix}:apq:e:{check_digest(digest)}")
        if found is None:
            return None
        return found.decode("utf-8") if isinstance(found, bytes) else str(found)

    @_guard
    async def apq_put(self, digest: str, query: str) -> bool:
        data = query.encode("utf-8")
        if len(data) > self.apq_max_bytes:
            return False
        apq = f"{self.prefix}:apq"
        keys = [f"{apq}:e:{check_digest(digest)}", f"{apq}:index", f"{apq}:sizes", f"{apq}:bytes"]
        args: list[bytes | str | int] = [
            digest,
            data,
            _ms(self.apq_ttl),
            self.apq_max_bytes,
            f"{apq}:e:",
        ]
        await self._apq_script(keys=keys, args=args)
        return True

    # -- write generations ---------------------------------------------------------------------

    @_guard
    async def generation(self, tenant: str) -> int:
        found = await self._redis.get(f"{self.prefix}:t:{_part(tenant)}:gen")
        return 0 if found is None else int(found)

    @_guard
    async def bump_generation(self, tenant: str) -> int:
        # The counter's time-to-live is renewed by every bump, so it outlives every tenant's entry:
        # it can only expire (and start again) once every generation it handed out has expired.
        keys = [f"{self.prefix}:gen", f"{self.prefix}:t:{_part(tenant)}:gen"]
        return int(await self._bump_script(keys=keys, args=[_ms(self.generation_ttl)]))

    def change_mark(self) -> bytes | None:
        return None  # other machines write here: only a round-trip tells

    # -- upstream rate state -------------------------------------------------------------------

    @_guard
    async def rate_get(self, credential: str) -> Any | None:
        found = await self._get(self._rate_key(credential))
        return None if found is None else found[0]

    @_guard
    async def rate_swap(
        self, credential: str, expected: Any | None, value: Any, ttl: float
    ) -> bool:
        name = self._rate_key(credential)
        if expected is None:
            return await self._add(name, value, ttl)
        return await self._swap(name, expected, value, ttl)

    # -- change events and leases (resolvers.state.redis_events) -------------------------------

    @_guard
    async def append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        return await self._append(tenant, events)

    @_guard
    async def after(self, tenant: str, seq: int, limit: int = 100) -> list[ChangeEvent]:
        return await self._after(tenant, seq, limit)

    @_guard
    async def last_seq(self, tenant: str) -> int:
        return await self._last_seq(tenant)

    @_guard
    async def wait(self, tenant: str, seq: int, within: float) -> bool:
        return await self._wait(tenant, seq, within)

    @_guard
    async def lease(self, name: str, holder: str, ttl: float) -> bool:
        return await self._lease(name, holder, ttl)

    @_guard
    async def release(self, name: str, holder: str) -> None:
        await self._release(name, holder)

    # -- lifecycle -----------------------------------------------------------------------------

    @_guard
    async def ping(self) -> None:
        await self._redis.ping()

    async def aclose(self) -> None:
        await self._redis.aclose()


def _stored(value: Any, gap: float) -> bytes:
    return b"%d|%s" % (round(gap * 1000), dumps(value))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _part(text: str) -> str:
    """One part of a key: ``:`` (the separator) and ``%`` (the escape) escaped."""
    return text.replace("%", "%25").replace(":", "%3A")


def _glob(text: str) -> str:
    """``text`` matched literally by ``SCAN MATCH``."""
    for special in "\\*?[]":
        text = text.replace(special, "\\" + special)
    return text


def _masked(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparseable Redis URL>"
