"""Apollo Client's BatchHttpLink against our real server over real HTTP: six operations sent at once
go out as JSON-array POSTs of at most `batchMax` operations, and every operation gets its own
result (data, or its own error) back, as the operations sent one by one would."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.settings import Settings
from tests.federation import harness
from tests.federation.test_apollo_client import Recorder
from tests.graph.conftest import uvicorn_in_thread

pytestmark = pytest.mark.federation

CLIENT = harness.FEDERATION_DIR / "apollo_batch_client.mjs"
CUSTOMER = "query Customer($n: Int!) { customer(number: $n) { number name } }"
RUNS: list[dict[str, Any]] = [
    *({"query": CUSTOMER, "variables": {"n": n}} for n in (1, 2, 3)),
    {"query": "query Types { jobTypes { id name } }"},
    {"query": "query TooMany { customers(first: 101) { totalCount } }"},  # a limit: its own error
    {"query": CUSTOMER, "variables": {"n": 4}},
]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Recorder]]:
    harness.require_federation_tools()
    recorder = Recorder(build_app(Settings(sandbox_customers=10, upstream_extensions=False)))
    with uvicorn_in_thread(recorder) as base_url:
        yield f"{base_url}/graphql", recorder


def test_batch_http_link_gets_each_operation_its_own_result(
    served: tuple[str, Recorder],
) -> None:
    url, recorder = served
    node = harness.node_executable()
    assert node is not None
    request = {"url": url, "batchMax": 4, "runs": RUNS}
    ran = subprocess.run(
        [node, str(CLIENT)], input=json.dumps(request), capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout)
    alone = [httpx.post(url, json=run).json() for run in RUNS]

    batches = [body for body, _ in recorder.requests if isinstance(body, list)]
    # every operation went in a JSON-array POST of at most batchMax (4: so at least two POSTs);
    # the other requests are the operations sent alone, one by one
    assert sum(len(batch) for batch in batches) == len(RUNS)
    assert len(recorder.requests) == len(batches) + len(RUNS)
    assert max(len(batch) for batch in batches) == 4
    assert all(status == 200 for body, status in recorder.requests if isinstance(body, list))
    for result, single in zip(results, alone, strict=True):
        if "errors" in single:
            assert result["data"] is None and "`first` is 101" in result["error"]
        else:
            assert (without_typename(result["data"]), result["error"]) == (single["data"], None)


def without_typename(value: Any) -> Any:
    """Apollo Client's data without the ``__typename`` its cache adds to every selection set."""
    if isinstance(value, dict):
        return {k: without_typename(v) for k, v in value.items() if k != "__typename"}
    if isinstance(value, list):
        return [without_typename(v) for v in value]
    return value
