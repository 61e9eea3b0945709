"""The GraphQL-over-HTTP conformance audits of graphql-http (the spec's reference implementation)
against our real server over real HTTP: every audit, MUST, SHOULD and MAY, passes. It guards what
the endpoint answers for malformed requests, both media types and their status codes, GET and POST,
across changes to request parsing (batching, limits, cache headers)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from graph.server.assembly import build_app
from graph.server.settings import Settings
from tests.federation import harness
from tests.graph.conftest import uvicorn_in_thread

pytestmark = pytest.mark.federation

AUDIT = harness.FEDERATION_DIR / "graphql_http_audit.mjs"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    harness.require_federation_tools()
    if not (harness.FEDERATION_DIR / "node_modules" / "graphql-http").is_dir():
        pytest.fail(
            "graphql-http is missing from tests/federation/node_modules: run `npm ci` there"
        )
    with uvicorn_in_thread(build_app(Settings(sandbox_customers=5))) as base_url:
        yield f"{base_url}/graphql"


def test_every_graphql_over_http_audit_passes(url: str) -> None:
    node = harness.node_executable()
    assert node is not None
    ran = subprocess.run(
        [node, str(AUDIT), url], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr

    results = json.loads(ran.stdout)
    failed = [r for r in results if r["status"] != "ok"]
    assert len(results) >= 50, results  # the audits ran (61 in graphql-http 1.23.1)
    assert failed == []
