"""The reference client of each transport against the real server: graphql-ws (the library that
defines graphql-transport-ws) and graphql-sse (the library that defines GraphQL over SSE), run by
Node from tests/federation, subscribe with an API key and get the events of the key's tenant."""

from __future__ import annotations

import asyncio
import json

import pytest

from graph.server.settings import Settings
from tests.federation import harness
from tests.push.clients import GUARD
from tests.push.conftest import ALPHA_KEY, serving, status_change

pytestmark = pytest.mark.federation

QUERY = 'subscription { jobChanged(status: COMPLETE, after: "0") { id jobNumber status } }'


async def test_graphql_ws_and_graphql_sse_clients_receive_the_events(settings: Settings) -> None:
    harness.require_federation_tools()
    modules = harness.FEDERATION_DIR / "node_modules"
    if not all((modules / name / "package.json").is_file() for name in ("graphql-ws", "ws")):
        pytest.fail("tests/federation/node_modules lacks graphql-ws: run `npm ci` there")
    async with serving(settings) as served:
        alpha = served.tenant()
        events = await served.append(
            alpha,
            status_change(alpha, 1, "open", "complete"),
            status_change(alpha, 2, "open", "on_hold"),
            status_change(alpha, 3, "open", "complete"),
        )
        node = await asyncio.create_subprocess_exec(
            harness.node_executable() or "node",
            str(harness.FEDERATION_DIR / "subscribe_clients.mjs"),
            served.ws_url,
            served.url + "/graphql",
            ALPHA_KEY,
            QUERY,
            "2",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(node.communicate(), GUARD)
        finally:
            if node.returncode is None:
                node.kill()
                await node.wait()
        assert node.returncode == 0, err.decode()
        got = json.loads(out)
        expected = [
            {"data": {"jobChanged": {"id": e.id, "jobNumber": n, "status": "complete"}}}
            for e, n in ((events[0], 1), (events[2], 3))
        ]
        assert got == {"ws": expected, "sse": expected}
