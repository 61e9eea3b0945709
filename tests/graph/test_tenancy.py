from __future__ import annotations

import httpx

from graph.server.tenancy import TenantRegistry, make_cache


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
