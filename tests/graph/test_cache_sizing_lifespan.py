"""The shared cache's background sizing (resolvers.cache ``MemoryStore``) ends with the app: a cold
query through the built-in sandbox leaves listing pages to size after its answer, and the app's
lifespan, once over, leaves no sizing task behind and nothing counted provisionally."""

from __future__ import annotations

import asyncio

import httpx

from graph.server.assembly import build_app, server_of
from graph.server.settings import Settings
from resolvers.cache import MemoryStore

QUERY = "{ customers(first: 30) { nodes { id jobs(first: 3) { nodes { id } } } } }"


def sizing_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "cache sizing" and not t.done()]


async def test_the_app_stops_the_caches_background_sizing() -> None:
    app = build_app(Settings())
    store = server_of(app).cache.store
    assert isinstance(store, MemoryStore)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http,
    ):
        answer = await http.post("/graphql", json={"query": QUERY})
        assert answer.status_code == 200 and "errors" not in answer.json()
        assert store.provisional > 0 and sizing_tasks()  # pages left to size after the answer
    assert sizing_tasks() == []
