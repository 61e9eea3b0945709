"""GraphQL Mesh over an OpenAPI description of Kickserv v2, served by Hive Gateway: a peer.

bench/peers/ pins the npm packages (package.json, package-lock.json): ``@graphql-mesh/compose-cli``
composes ``kickserv-openapi.yaml`` (the endpoints the dashboard and the small query use) into a
supergraph pointed at the bench's sandbox, with Mesh's ``@resolveTo`` fields nesting a customer's
jobs, a job's tasks and a sub-customer's record (mesh.config.ts); ``@graphql-hive/gateway`` serves
it. The bench installs the packages with ``npm ci`` when they are missing, and skips the peer with a
note when Node or npm is absent or the install fails.

Mesh's schema is the OpenAPI's shape, not ours: the peer is asked the same questions in its own
fields (``QUERIES``), and its answers are mapped onto our shape (``as_ours``) so the bench checks
that it answered the same data.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.lean import address, task
from bench.processes import HOST, ServerProcess, free_port, stop_process, wait_ready

PEERS = Path(__file__).resolve().parent / "peers"
BIN = PEERS / "node_modules" / ".bin"

DASHBOARD = """query Dashboard {
  customers(page: 1, per_page: 20) {
    total_entries
    customers {
      id customer_number name balance
      service_address service_city service_state service_zip_code
      children { customer_number record { id name service_address service_city service_state
        service_zip_code } }
      jobs_page(per_page: 5) {
        total_entries
        jobs { id job_number name status scheduled_on
          task_page { tasks { id description starts_at ends_at
            employees { id employee_number name } } } }
      }
    }
  }
}"""

SMALL = """query Small {
  customers(page: 1, per_page: 10) {
    total_entries
    customers { id customer_number name email_address phone_number balance }
  }
}"""

QUERIES = {"dashboard": DASHBOARD, "small": SMALL}


def unavailable(install: bool = True) -> str | None:
    """Why the peer cannot run here (None: it can), installing its packages when missing (when
    ``install``; the tiny profile does not)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "Node.js and npm are not installed"
    if not (BIN / "mesh-compose").exists() or not (BIN / "hive-gateway").exists():
        if not install:
            return "its npm packages are not installed (npm ci in bench/peers)"
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--silent"],
            cwd=PEERS,
            capture_output=True,
            timeout=900,
            check=False,
        )
        if done.returncode != 0:
            return f"npm ci in bench/peers failed: {done.stderr.decode(errors='replace')[-300:]}"
    return None


def versions() -> dict[str, str]:
    import json

    lock = json.loads((PEERS / "package-lock.json").read_text())
    return {
        name: lock["packages"][f"node_modules/{name}"]["version"]
        for name in ("@graphql-mesh/compose-cli", "@graphql-hive/gateway", "@omnigraph/openapi")
    }


@contextmanager
def running_mesh(upstream_base_url: str, timeout: float = 60.0) -> Iterator[ServerProcess]:
    """Compose the supergraph against the sandbox at ``upstream_base_url``, serve it with Hive
    Gateway on a free 127.0.0.1 port; stopped when the block ends."""
    basic = base64.b64encode(b"demo-token:demo-token").decode()
    env = {
        **os.environ,
        "KICKSERV_API_URL": f"{upstream_base_url}/demo/api/v2",
        "KICKSERV_BASIC": basic,
    }
    with tempfile.TemporaryDirectory() as tmp:
        supergraph = Path(tmp, "supergraph.graphql")
        subprocess.run(
            [str(BIN / "mesh-compose"), "-o", str(supergraph)],
            cwd=PEERS,
            env=env,
            capture_output=True,
            timeout=timeout,
            check=True,
        )
        port = free_port()
        gateway = [str(BIN / "hive-gateway"), "supergraph", str(supergraph)]
        process = subprocess.Popen(
            [*gateway, "--host", HOST, "--port", str(port)],
            cwd=PEERS,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = ServerProcess("mesh", process, port)
        try:
            wait_ready(server, "/healthcheck", timeout)
            yield server
        finally:
            stop_process(process, 10.0)


def _dashboard_customer(raw: dict[str, Any]) -> dict[str, Any]:
    locations = [{"id": str(raw["id"]), "name": raw["name"], "isPrimary": True}]
    locations[0]["address"] = address(raw)
    for child in raw.get("children") or ():
        record = child["record"]
        locations.append(
            {
                "id": str(record["id"]),
                "name": record["name"],
                "isPrimary": False,
                "address": address(record),
            }
        )
    jobs = raw["jobs_page"]
    return {
        "id": str(raw["id"]),
        "number": raw["customer_number"],
        "name": raw["name"],
        "balance": raw.get("balance"),
        "locations": locations,
        "jobs": {
            "totalCount": jobs["total_entries"],
            "nodes": [
                {
                    "number": j["job_number"],
                    "name": j.get("name"),
                    "status": j.get("status"),
                    "scheduledOn": j.get("scheduled_on"),
                    "tasks": [task(t) for t in j["task_page"]["tasks"]],
                }
                for j in jobs["jobs"]
            ],
        },
    }


def as_ours(key: str, data: dict[str, Any]) -> dict[str, Any]:
    """Mesh's answer in our schema's shape (cursors left out: the comparison ignores them)."""
    page = data["customers"]
    total = page["total_entries"]
    if key == "small":
        nodes = [
            {
                "id": str(c["id"]),
                "number": c["customer_number"],
                "name": c["name"],
                "email": c.get("email_address"),
                "phone": c.get("phone_number"),
                "balance": c.get("balance"),
            }
            for c in page["customers"]
        ]
        return {"customers": {"totalCount": total, "nodes": nodes}}
    nodes = [_dashboard_customer(c) for c in page["customers"]]
    return {
        "customers": {
            "totalCount": total,
            "pageInfo": {"hasNextPage": total > len(nodes)},
            "edges": [{"node": n} for n in nodes],
        }
    }
