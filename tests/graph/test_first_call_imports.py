"""A fresh server's first call to Kickserv imports nothing: the lifespan loads the async backend
httpcore connects through (anyio's asyncio backend, twenty-odd modules, ~12-19 ms) at start, not on
the first request's critical path. A fresh interpreter, as a started server is, against the sandbox
over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sandbox.config import SandboxConfig
from sandbox.testing import running_sandbox

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx
    from graph.server.serve import create_app_from_env

    imported = []

    def hook(event, args):
        if event == "import":
            imported.append(str(args[0]))

    async def main():
        app = create_app_from_env()
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            await http.post("/graphql", json={"query": "{ __typename }"})
            sys.addaudithook(hook)
            answer = await http.post("/graphql", json={"query": "{ customers(first: 3) { nodes { name } } }"})
            names = [c["name"] for c in answer.json()["data"]["customers"]["nodes"]]
        print(json.dumps({"customers": len(names), "imported": imported}))

    asyncio.run(main())
    """
)


def test_a_fresh_servers_first_upstream_call_imports_nothing(tmp_path: Path) -> None:
    with running_sandbox(SandboxConfig(customers=6, seed=3)) as sandbox:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KICKSERV_", "GRAPH_"))},
            "KICKSERV_ACCOUNT": "demo",
            "KICKSERV_API_TOKEN": "demo-token",
            "KICKSERV_BASE_URL": sandbox.base_url,
            "GRAPH_STATE_DIR": str(tmp_path),
            "GRAPH_WATCH_INTERVAL_S": "0",
            "GRAPH_WEBHOOKS": "off",
            "GRAPH_LOG_LEVEL": "WARNING",
        }
        calls = sandbox.request_count()
        ran = subprocess.run(
            [sys.executable, "-c", CHILD],
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).parents[2],
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr[-2000:]
        assert sandbox.request_count() > calls  # the request went to Kickserv over HTTP
    found = json.loads(ran.stdout.splitlines()[-1])
    assert found["customers"] == 3
    assert found["imported"] == []
