"""A fresh server's first request compiles nothing that every server compiles anyway: ``serve``'s app
factory (``create_app_from_env``) compiles each record and page class's size counter at start
(graph.server.serve.compile_ahead), and the invoice reader without tasks is compiled at import
(kickserv.resources.billing). Each case is a fresh interpreter, as a started server is; the first
shows the same request compiling counters when the app is built without the factory. Nor does its
first call to Kickserv import anything: the lifespan loads anyio's asyncio backend (twenty-odd
modules, ~12-19 ms) at start. And the factory makes young garbage collections rarer: the first
request, which keeps most of what it allocates, is not walked by dozens of them. The server's own
account's tenant (its Kickserv client, governor, breaker, the state store's reader) is made as the
server starts (graph.server.assembly), not by the first request (~0.8 ms of it, 2026-12-04)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from sandbox.config import SandboxConfig
from sandbox.testing import running_sandbox

CHILD = textwrap.dedent(
    """
    import asyncio, gc, json, sys
    import httpx
    from graph.server.assembly import build_app
    from graph.server.serve import create_app_from_env
    from graph.server.settings import Settings

    QUERY = "{ customers(first: 5) { nodes { name locations { address { city } } "
    QUERY += "jobs(first: 2) { nodes { name tasks { id assignees { name } } } } } } "
    QUERY += "invoices(status: UNPAID, first: 3) { nodes { number customer { name } } } }"
    compiled = []
    young = []

    def collected(phase, info):
        if phase == "stop" and info["generation"] == 0:
            young.append(1)

    def hook(event, args):
        if event == "compile" and str(args[1]).startswith(("<size of", "<from_json of")):
            compiled.append(str(args[1]))

    async def main():
        app = create_app_from_env() if sys.argv[1] == "served" else build_app(Settings.from_env())
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            await http.get("/readyz")
            await http.post("/graphql", json={"query": "{ __typename }"})
            sys.addaudithook(hook)
            gc.callbacks.append(collected)
            answer = await http.post("/graphql", json={"query": QUERY})
            gc.callbacks.remove(collected)
            names = [c["name"] for c in answer.json()["data"]["customers"]["nodes"]]
        print(json.dumps({"customers": len(names), "compiled": compiled, "young": len(young)}))

    asyncio.run(main())
    """
)


def first_request(mode: str, tmp_path: Path) -> dict[str, object]:
    env = {
        "SANDBOX_CUSTOMERS": "8",
        "GRAPH_STATE_DIR": str(tmp_path / mode),
    }
    return fresh_interpreter(CHILD, env, mode)


def fresh_interpreter(child: str, env: dict[str, str], *args: str) -> dict[str, Any]:
    """What ``child`` printed last (JSON), run in a fresh interpreter with none of our settings
    but ``env``'s (and no watcher, no webhooks, warnings only)."""
    ran = subprocess.run(
        [sys.executable, "-c", child, *args],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("KICKSERV_", "GRAPH_"))},
            "GRAPH_WATCH_INTERVAL_S": "0",
            "GRAPH_WEBHOOKS": "off",
            "GRAPH_LOG_LEVEL": "WARNING",
            **env,
        },
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    found: dict[str, Any] = json.loads(ran.stdout.splitlines()[-1])
    return found


def test_a_fresh_servers_first_request_compiles_no_record_code(tmp_path: Path) -> None:
    # given: the same first request in two fresh interpreters
    # when: the app is built without serve's factory, then with it
    bare = first_request("bare", tmp_path)
    served = first_request("served", tmp_path)
    # then: both answer; only the bare app's request compiles size counters (tasks, customers...)
    assert bare["customers"] == served["customers"] == 5
    assert any("Task" in name for name in bare["compiled"])  # type: ignore[attr-defined]
    assert served["compiled"] == []
    # and the served one's request went through no young collection (graph.server.collector)
    assert bare["young"] >= 3 and served["young"] == 0, (bare, served)


IMPORTS = textwrap.dedent(
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
            query = "{ customers(first: 3) { nodes { name } } }"
            answer = await http.post("/graphql", json={"query": query})
            names = [c["name"] for c in answer.json()["data"]["customers"]["nodes"]]
        print(json.dumps({"customers": len(names), "imported": imported}))

    asyncio.run(main())
    """
)


def test_a_fresh_servers_first_upstream_call_imports_nothing(tmp_path: Path) -> None:
    # given: a fresh server against a Kickserv over HTTP (its own pool, not the embedded sandbox)
    with running_sandbox(SandboxConfig(customers=6, seed=3)) as sandbox:
        env = {
            "KICKSERV_ACCOUNT": "demo",
            "KICKSERV_API_TOKEN": "demo-token",
            "KICKSERV_BASE_URL": sandbox.base_url,
            "GRAPH_STATE_DIR": str(tmp_path),
        }
        calls = sandbox.request_count()
        # when: its first request that calls Kickserv
        found = fresh_interpreter(IMPORTS, env)
        # then: it went to Kickserv, and imported no module on the way
        assert sandbox.request_count() > calls
    assert found["customers"] == 3
    assert found["imported"] == []


TENANT = textwrap.dedent(
    """
    import asyncio, json
    import httpx
    import graph.server.tenancy as tenancy
    from graph.server.serve import create_app_from_env

    made = []
    Client = tenancy.KickservClient

    def counted(*args, **kwargs):
        made.append(args[0])
        return Client(*args, **kwargs)

    tenancy.KickservClient = counted

    async def main():
        app = create_app_from_env()
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            at_start = list(made)
            answer = await http.post("/graphql", json={"query": "{ customers(first: 2) { nodes { name } } }"})
            names = [c["name"] for c in answer.json()["data"]["customers"]["nodes"]]
        print(json.dumps({"customers": len(names), "at_start": at_start, "after": made}))

    asyncio.run(main())
    """
)


def test_the_servers_own_tenant_is_made_at_start_not_by_the_first_request(tmp_path: Path) -> None:
    # given: a fresh server on its built-in sandbox (its own account and token)
    env = {"SANDBOX_CUSTOMERS": "4", "GRAPH_STATE_DIR": str(tmp_path)}
    # when: it starts, then answers its first request
    found = fresh_interpreter(TENANT, env)
    # then: its account's Kickserv client was made as it started, and the request made none
    assert found["customers"] == 2
    assert len(found["at_start"]) == 1
    assert found["after"] == found["at_start"]
