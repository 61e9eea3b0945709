from __future__ import annotations

import httpx

from graph.server.tenancy import TenantRegistry, make_cache, protection_extension
from kickserv import KickservClient
from kickserv.breaker import Breaker
from kickserv.governor import Governor, Permit


async def test_registry_reuses_a_tenant_and_is_bounded():
    async with httpx.AsyncClient() as http:
        registry = TenantRegistry(http, "http://127.0.0.1:9", make_cache(), max_tenants=3)
        first = registry.get("demo", "token-a")
        assert registry.get("demo", "token-a") is first
        # same account, other credential: another tenant with another cache key
        other = registry.get("demo", "token-b")
        assert other is not first and other.key != first.key
        assert "token-a" not in first.key and "token-b" not in other.key
        for n in range(10):
            registry.get("acct", f"t{n}")
        assert len(registry) == 3


async def test_the_upstream_extension_shows_the_governor_only_while_it_throttles_or_pauses():
    now = [100.0]
    governor = Governor(clock=lambda: now[0])
    breaker = Breaker(name="demo")
    async with httpx.AsyncClient() as http:
        client = KickservClient(
            "demo", "t", base_url="http://127.0.0.1:9", http=http, governor=governor,
            breaker=breaker,
        )  # fmt: skip
        # unthrottled, closed: nothing to say
        assert protection_extension(client) == {}
        # a 429 with Retry-After: paused, and the rate cut
        governor.rate_limited(Permit(sent_at=now[0] - 1, paced=False), retry_after=2.0)
        snapshot = governor.snapshot()
        assert snapshot.rate is not None and snapshot.paused_for == 2.0
        assert protection_extension(client) == {
            "governor": {"rate": round(snapshot.rate, 1), "pausedFor": 2.0, "queued": 0}
        }
        # the pause over, the cut rate still paces calls
        now[0] += 5
        assert protection_extension(client)["governor"]["pausedFor"] == 0.0
