"""/metrics over real HTTP: a real Prometheus scrapes it, the exposition (read with
prometheus-client's own parser) carries every series the README promises with bounded labels,
the bearer token guards it, and ``serve --workers 2`` sums what both workers counted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

import graph.server.metrics
from graph.server.assembly import build_app
from graph.server.persisted import build_manifest
from graph.server.settings import Settings
from sandbox.config import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.children import environment
from tests.replicas.harness import KICKSERV_GRAPH, Process
from tests.state.conftest import free_port

Live = Callable[[Any], AbstractContextManager[str]]
TODAY = date(2026, 11, 21)
SCRAPE_TOKEN = "scrape-token-7d1e4a"  # the test's own: never a real credential
FEW = "query Few { customers(first: 2) { nodes { number name } } }"
ONE = "query One($n: Int!) { customer(number: $n) { number name } }"
NOTE = """mutation Note($number: Int!, $body: String!) {
  addCustomerNote(customerNumber: $number, input: {body: $body}) { body } }"""


@pytest.fixture(scope="module")
def quiet() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(customers=20, seed=3, today=TODAY)) as sandbox:
        yield sandbox


@pytest.fixture
def sb(quiet: RunningSandbox) -> Iterator[RunningSandbox]:
    quiet.state.knobs.update({"faults": []})
    yield quiet
    quiet.state.knobs.update({"faults": []})


def app_on(sandbox: RunningSandbox, **settings: Any) -> Any:
    return build_app(
        Settings(
            kickserv_account="demo",
            kickserv_api_token="demo-token",
            kickserv_base_url=sandbox.base_url,
            state_dir="memory",
            **settings,
        )
    )


def scrape(
    url: str, token: str | None = None
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, parsed by prometheus-client's own parser: (name, labels) → value."""
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    response = httpx.get(f"{url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(
        v for (n, have), v in samples.items() if n == name and set(labels.items()) <= set(have)
    )


def post(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
    response = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    return response.json()


# --- the series -----------------------------------------------------------------------------


def test_requests_upstream_calls_caches_and_protection_are_counted(
    sb: RunningSandbox, live_server: Live
) -> None:
    # given: Kickserv answers the first customers page with a 429 once
    sb.state.knobs.update(
        {
            "faults": [
                {"method": "GET", "path": "/demo/api/v2/customers.json", "status": 429, "times": 1}
            ]
        }
    )
    app = app_on(sb)
    with live_server(app) as url:
        # when: a query twice (the second from the response cache), a record by number, a bad
        # query, and a mutation sent twice with one idempotency key
        assert "errors" not in post(url, FEW)
        assert "errors" not in post(url, FEW)
        assert "errors" not in post(url, ONE, {"n": 3})
        assert post(url, "{ nope }")["errors"]
        for _ in range(2):
            body = post(url, NOTE, {"number": 2, "body": "gate code"}, **{"idempotency-key": "k1"})
            assert "errors" not in body, body
        samples = scrape(url)

    # then: requests by operation, key and outcome, with their latency and error codes
    requests = "kickserv_graph_requests_total"
    assert value(samples, requests, operation="Few", key="anonymous", outcome="ok") == 2
    assert value(samples, requests, operation="One", outcome="ok") == 1
    assert value(samples, requests, operation="(none)", outcome="rejected") == 1
    assert value(samples, "kickserv_graph_request_duration_seconds_count", operation="Few") == 2
    assert (
        value(samples, "kickserv_graph_request_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    )
    # upstream calls by endpoint template and status; the 429 was retried and counted
    calls = "kickserv_graph_upstream_calls_total"
    assert value(samples, calls, endpoint="/customers.json", status="429") == 1
    assert value(samples, calls, endpoint="/customers.json", status="200") >= 1
    assert value(samples, calls, endpoint="/customers/{n}.json", status="200") >= 1
    endpoints = {dict(labels)["endpoint"] for (name, labels) in samples if name == calls}
    assert not any(re.search(r"\d", e) for e in endpoints), endpoints  # templates, never ids
    assert value(samples, "kickserv_graph_upstream_retries_total", endpoint="/customers.json") == 1
    assert value(samples, "kickserv_graph_upstream_rate_limited_total", account="demo") == 1
    assert value(samples, "kickserv_graph_upstream_call_duration_seconds_count") >= 4
    # a stray 429 (no Retry-After) throttles nothing; the breaker stayed closed
    assert value(samples, "kickserv_graph_governor_throttled", account="demo") == 0
    assert value(samples, "kickserv_graph_breaker_state", account="demo") == 0
    assert ("kickserv_graph_governor_queued", (("account", "demo"),)) in samples
    # caches: the shared cache's reads and size, the response cache's hit
    assert value(samples, "kickserv_graph_cache_misses_total") >= 2
    assert value(samples, "kickserv_graph_cache_entries") >= 2
    assert value(samples, "kickserv_graph_cache_bytes") > 0
    assert value(samples, "kickserv_graph_response_cache_hits_total") == 1
    # the second mutation was the first's recorded outcome
    assert value(samples, "kickserv_graph_idempotency_replays_total") == 1
    assert value(samples, requests, operation="Note", outcome="ok") == 2


def test_a_rate_limited_credential_shows_in_the_governor_series(
    sb: RunningSandbox, live_server: Live
) -> None:
    # given: Kickserv allows one call per second, and says when to come back
    sb.state.knobs.update({"rate_limit": 1, "rate_limit_window_s": 1.0})
    sb.reset_requests()
    app = app_on(sb)
    try:
        with live_server(app) as url:
            # when: three records at once
            with ThreadPoolExecutor(3) as pool:
                bodies = list(pool.map(lambda n: post(url, ONE, {"n": n}), (1, 2, 3)))
            samples = scrape(url)
    finally:
        sb.state.knobs.update({"rate_limit": 0})

    # then: the 429s the sandbox sent are those counted; the governor paused and throttled
    assert all("errors" not in body for body in bodies), bodies
    sent = sum(1 for r in sb.requests() if r["status"] == 429)
    assert sent >= 1
    calls = "kickserv_graph_upstream_calls_total"
    assert value(samples, calls, status="429") == sent
    assert value(samples, "kickserv_graph_upstream_rate_limited_total", account="demo") == sent
    assert value(samples, "kickserv_graph_upstream_retries_total") == sent
    assert value(samples, "kickserv_graph_governor_pauses_total", account="demo") >= 1
    assert value(samples, "kickserv_graph_governor_throttled", account="demo") == 1
    assert value(samples, "kickserv_graph_governor_rate", account="demo") > 0


def test_operation_names_are_bounded_but_trusted_documents_keep_theirs(
    sb: RunningSandbox, live_server: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: room for 3 free-form names, and a manifest with one operation
    monkeypatch.setattr(graph.server.metrics, "MAX_OPERATION_NAMES", 3)
    manifest = build_manifest([("ops.graphql", "query Trusted { employees { number } }")])
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (operation,) = manifest["operations"]
    app = app_on(sb, persisted_manifests=(str(tmp_path / "manifest.json"),))
    with live_server(app) as url:
        # when: 5 distinct free-form names, then the trusted one by id
        for n in range(5):
            assert "errors" not in post(url, f"query Name{n} {{ employees {{ number }} }}")
        trusted = httpx.post(f"{url}/graphql", json={"documentId": operation["id"]})
        assert "errors" not in trusted.json(), trusted.text
        samples = scrape(url)

    # then: the first 3 names, the rest as (other), and the trusted name as it is
    names = {
        dict(labels)["operation"]: v
        for (name, labels), v in samples.items()
        if name == "kickserv_graph_requests_total"
    }
    assert names == {"Name0": 1, "Name1": 1, "Name2": 1, "(other)": 2, "Trusted": 1}


def test_the_metrics_token_guards_the_endpoint_and_nothing_secret_is_exposed(
    sb: RunningSandbox, live_server: Live, tmp_path: Path
) -> None:
    # given: an API key and a metrics token
    key = "partner-key-0123456789abcdef"
    keys = tmp_path / "keys.toml"
    keys.write_text(f'[[keys]]\nname = "partner-acme"\nkey = "{key}"\n')
    app = app_on(sb, api_keys_file=str(keys), metrics_token=SCRAPE_TOKEN)
    with live_server(app) as url:
        assert "errors" not in post(url, FEW, None, **{"x-api-key": key})
        # when: scraped without the token, with a wrong one, with it
        bare = httpx.get(f"{url}/metrics")
        wrong = httpx.get(f"{url}/metrics", headers={"authorization": "Bearer nope"})
        text = httpx.get(f"{url}/metrics", headers={"authorization": f"Bearer {SCRAPE_TOKEN}"})

    # then
    assert bare.status_code == wrong.status_code == 401
    assert bare.headers["www-authenticate"].startswith("Bearer")
    assert text.status_code == 200
    assert 'key="partner-acme"' in text.text  # the key's name, never the key or a token
    for secret in (key, "demo-token", SCRAPE_TOKEN):
        assert secret not in text.text


def test_metrics_can_be_turned_off(sb: RunningSandbox, live_server: Live) -> None:
    with live_server(app_on(sb, metrics_enabled=False)) as url:
        assert httpx.get(f"{url}/metrics").status_code == 404


# --- a real Prometheus ------------------------------------------------------------------------


def prometheus_or_skip() -> str:
    """Prometheus is a test dependency (scripts/test installs Debian's): in CI its absence fails."""
    found = shutil.which("prometheus")
    if found is None:
        message = "Debian's prometheus is not installed (apt-get install -y prometheus)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Prometheus:
    process: Process

    def query(self, promql: str) -> float | None:
        """The single value of an instant query, or None while Prometheus has no sample."""
        url = f"{self.process.url}/api/v1/query"
        response = httpx.get(url, params={"query": promql}, timeout=5)
        assert response.status_code == 200, response.text
        result = response.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def until(self, check: Callable[[], bool], what: str) -> None:
        """Polls ``check`` until true (a bound on how long a broken setup may hang the suite,
        not a timed assertion); fails with Prometheus's log."""
        deadline = time.monotonic() + 60
        while not check():
            assert self.process.running, f"prometheus exited:\n{self.process.log_tail()}"
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus: not {what} within 60 s:\n{self.process.log_tail()}")
            time.sleep(0.2)


@contextmanager
def prometheus(directory: Path, target: str, token: str) -> Iterator[Prometheus]:
    """A Prometheus on a free 127.0.0.1 port scraping ``target`` every second."""
    binary = prometheus_or_skip()
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: kickserv-graph\n"
        f"    authorization:\n      credentials: {token}\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={directory / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    process = Process("prometheus", command, environment(), directory, port, "/-/ready")
    process.start()
    try:
        yield Prometheus(process)
    finally:
        process.stop()


def test_a_real_prometheus_scrapes_the_server_and_answers_a_counter_the_test_moved(
    sb: RunningSandbox, live_server: Live, tmp_path: Path
) -> None:
    # given: the server, guarded by a metrics token, and a counter moved three times
    app = app_on(sb, metrics_token=SCRAPE_TOKEN)
    with live_server(app) as url:
        for _ in range(3):
            assert "errors" not in post(url, FEW)
        target = url.removeprefix("http://")
        # when: Prometheus scrapes it (with the token in its scrape config)
        with prometheus(tmp_path, target, SCRAPE_TOKEN) as prom:
            counted = 'sum(kickserv_graph_requests_total{operation="Few",outcome="ok"})'
            # then: its query API answers what the test did, and follows it
            prom.until(lambda: prom.query(counted) == 3, "at 3 requests")
            assert prom.query('up{job="kickserv-graph"}') == 1
            for _ in range(2):
                assert "errors" not in post(url, FEW)
            prom.until(lambda: prom.query(counted) == 5, "at 5 requests")
            upstream = prom.query("sum(kickserv_graph_upstream_calls_total)")
            assert upstream is not None and upstream >= 1


# --- several workers ----------------------------------------------------------------------------


@contextmanager
def served(tmp_path: Path, *, workers: int, **env: str) -> Iterator[Process]:
    """``kickserv-graph serve --workers N`` with its built-in sandbox, in production mode."""
    variables = environment(GRAPH_ENV="production", SANDBOX_TODAY=TODAY.isoformat(), **env)
    port = free_port()
    command = [KICKSERV_GRAPH, "serve", "--port", str(port), "--customers", "10"]
    command += ["--workers", str(workers)]
    process = Process("serve", command, variables, tmp_path, port, "/healthz")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def access_lines(process: Process) -> list[dict[str, Any]]:
    lines = []
    for line in process.log_path.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "graph.access":
                lines.append(entry)
    return lines


def test_two_workers_count_into_one_sum(tmp_path: Path) -> None:
    # given: serve with two workers
    with served(tmp_path, workers=2) as server:
        # when: requests on fresh connections until both workers have served some
        sent = 0
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(limits=no_reuse, timeout=30) as client, ThreadPoolExecutor(8) as pool:

            def one(_: int) -> int:
                response = client.post(f"{server.url}/graphql", json={"query": FEW})
                assert response.status_code == 200 and "errors" not in response.json()
                return 1

            pids: set[int] = set()
            while len(pids) < 2 and sent < 2000:
                sent += sum(pool.map(one, range(16)))
                pids = {e["pid"] for e in access_lines(server) if e.get("operation") == "Few"}
            assert len(pids) == 2, f"one worker served all {sent} requests"
            # then: whichever worker answers a scrape reports the sum of both
            totals = []
            for _ in range(4):
                response = client.get(f"{server.url}/metrics")
                assert response.status_code == 200
                families = text_string_to_metric_families(response.text)
                totals.append(
                    sum(
                        s.value
                        for f in families
                        for s in f.samples
                        if s.name == "kickserv_graph_requests_total"
                        and s.labels.get("operation") == "Few"
                    )
                )
    assert totals == [sent] * 4
    # and each request was one access line, by one of the two workers
    few = [e for e in access_lines(server) if e.get("operation") == "Few"]
    assert len(few) == sent and {e["pid"] for e in few} == pids


def test_serve_gives_several_workers_a_metrics_directory_and_removes_it() -> None:
    # given: no directory set by the operator
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    # when/then: one worker needs none; several get a fresh one, gone afterwards
    with graph.server.metrics.multiprocess_directory(1):
        assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    with graph.server.metrics.multiprocess_directory(2):
        directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
        assert directory.is_dir() and not any(directory.iterdir())
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and not directory.exists()
