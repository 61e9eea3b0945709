"""A fresh server's first request compiles nothing that every server compiles anyway: ``serve``'s app
factory (``create_app_from_env``) compiles each record and page class's size counter at start
(graph.server.serve.compile_ahead), and the invoice reader without tasks is compiled at import
(kickserv.resources.billing). Each case is a fresh interpreter, as a started server is; the first
shows the same request compiling counters when the app is built without the factory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    import httpx
    from graph.server.assembly import build_app
    from graph.server.serve import create_app_from_env
    from graph.server.settings import Settings

    QUERY = "{ customers(first: 5) { nodes { name locations { address { city } } "
    QUERY += "jobs(first: 2) { nodes { name tasks { id assignees { name } } } } } } "
    QUERY += "invoices(status: UNPAID, first: 3) { nodes { number customer { name } } } }"
    compiled = []

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
            answer = await http.post("/graphql", json={"query": QUERY})
            names = [c["name"] for c in answer.json()["data"]["customers"]["nodes"]]
        print(json.dumps({"customers": len(names), "compiled": compiled}))

    asyncio.run(main())
    """
)


def first_request(mode: str, tmp_path: Path) -> dict[str, object]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("KICKSERV_", "GRAPH_"))},
        "SANDBOX_CUSTOMERS": "8",
        "GRAPH_STATE_DIR": str(tmp_path / mode),
        "GRAPH_WATCH_INTERVAL_S": "0",
        "GRAPH_WEBHOOKS": "off",
        "GRAPH_LOG_LEVEL": "WARNING",
    }
    ran = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    found: dict[str, object] = json.loads(ran.stdout.splitlines()[-1])
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
