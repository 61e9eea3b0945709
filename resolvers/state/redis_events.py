"""The Redis store's event log and leases (composed into ``RedisStateStore``).

Keys, under the store's prefix, per tenant (escaped as every key part is)::

    {prefix}:t:{tenant}:ev        a stream, one entry per event, its stream id ``<seq>-1``
    {prefix}:t:{tenant}:ev:ids    hash event id -> seq: an id is appended once
    {prefix}:t:{tenant}:ev:seq    the last seq handed out
    {prefix}:lease:{name}         the holder of a lease, with its time-to-live

``append`` is one Lua script: it skips ids the hash holds, numbers the others from the counter,
``XADD``s them, and trims what is past ``event_retention`` (entries carry their time) or past
``event_cap`` per tenant, their ids with them. Every key's time-to-live is renewed by each append;
the counter's lasts four retentions (at least 30 days), so a seq is not reused while anyone could
still hold a position in the log. ``wait`` is ``XREAD BLOCK`` on the stream, one per tenant however
many wait (``resolvers.state.waiters``): woken by an append in any process or replica, in slices
shorter than the socket timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from resolvers.events import ChangeEvent
from resolvers.state.base import check_ttl, dumps, loads
from resolvers.state.waiters import Waiters

# KEYS: stream, ids hash, seq counter. ARGV: retention ms, cap, counter ttl ms, then id, body pairs.
_APPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local retention, cap, counter_ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local seqs = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    seqs[#seqs + 1] = 0
  else
    local seq = redis.call('INCR', KEYS[3])
    redis.call('XADD', KEYS[1], seq .. '-1', 'id', id, 'at', now, 'body', ARGV[i + 1])
    redis.call('HSET', KEYS[2], id, seq)
    seqs[#seqs + 1] = seq
  end
end
local excess = redis.call('XLEN', KEYS[1]) - cap
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1000)) do
  local fields = entry[2]
  local id, at = nil, nil
  for j = 1, #fields, 2 do
    if fields[j] == 'id' then id = fields[j + 1] elseif fields[j] == 'at' then at = fields[j + 1] end
  end
  if excess <= 0 and tonumber(at) > now - retention then break end
  redis.call('XDEL', KEYS[1], entry[1])
  if id then redis.call('HDEL', KEYS[2], id) end
  excess = excess - 1
end
redis.call('PEXPIRE', KEYS[1], retention)
redis.call('PEXPIRE', KEYS[2], retention)
redis.call('PEXPIRE', KEYS[3], counter_ttl)
return seqs
"""

_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _seq_of(stream_id: bytes | str) -> int:
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    return int(text.partition("-")[0])


def _field(fields: dict[Any, Any], name: str) -> Any:
    return fields.get(name.encode(), fields.get(name))


class RedisEvents:
    """The ``EventLog`` and lease operations over the store's connection pool."""

    _redis: Redis
    prefix: str
    event_retention: float
    event_cap: int
    _timeout: float

    def _events_key(self, tenant: str) -> str:  # provided by the store
        raise NotImplementedError

    def _lease_key(self, name: str) -> str:  # provided by the store
        raise NotImplementedError

    def _init_events(self) -> None:
        self._append_script = self._redis.register_script(_APPEND)
        self._lease_script = self._redis.register_script(_LEASE)
        self._release_script = self._redis.register_script(_RELEASE)
        self._waiters = Waiters(self._block, self._last_seq)

    # -- the event log (the store wraps each in its "unavailable" guard) ---------------------

    async def _append(self, tenant: str, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        if not events:
            return []
        base = self._events_key(tenant)
        args: list[bytes | str | int] = [
            max(1, round(self.event_retention * 1000)),
            self.event_cap,
            max(1, round(max(4 * self.event_retention, 30 * 24 * 3600.0) * 1000)),
        ]
        for event in events:
            args += [event.id, dumps(event.at(0).to_json())]
        seqs = await self._append_script(keys=[base, f"{base}:ids", f"{base}:seq"], args=args)
        return [e.at(int(s)) for e, s in zip(events, seqs, strict=True) if int(s)]

    async def _after(self, tenant: str, seq: int, limit: int) -> list[ChangeEvent]:
        if limit <= 0:
            return []
        entries = await self._redis.xrange(
            self._events_key(tenant), min=f"{seq + 1}-0", max="+", count=limit
        )
        return [_event(stream_id, fields) for stream_id, fields in entries or ()]

    async def _last_seq(self, tenant: str) -> int:
        found = await self._redis.get(f"{self._events_key(tenant)}:seq")
        return 0 if found is None else int(found)

    async def _wait(self, tenant: str, seq: int, within: float) -> bool:
        return await self._waiters.wait(tenant, seq, within)

    async def _block(self, tenant: str, seq: int, seconds: float) -> bool:
        """``XREAD BLOCK`` for an entry past ``seq``, at most ``seconds`` (kept shorter than the
        socket timeout, which would cut it)."""
        block = max(1, round(min(seconds, self._timeout - 1.0) * 1000))
        found = await self._redis.xread(
            {self._events_key(tenant): f"{seq}-1"}, count=1, block=block
        )
        return bool(found)

    async def _lease(self, name: str, holder: str, ttl: float) -> bool:
        px = max(1, round(check_ttl(ttl) * 1000))
        return bool(await self._lease_script(keys=[self._lease_key(name)], args=[holder, px]))

    async def _release(self, name: str, holder: str) -> None:
        await self._release_script(keys=[self._lease_key(name)], args=[holder])


def _event(stream_id: Any, fields: Any) -> ChangeEvent:
    return ChangeEvent.from_json(loads(_field(fields, "body"))).at(_seq_of(stream_id))
