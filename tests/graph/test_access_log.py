"""The access log over real HTTP: ``kickserv-graph serve`` in production writes one JSON line per
request (request id, key name, account, operation or document id, status, duration, upstream calls
and cache hits, error codes) and never a key, a token or a variable's value; ``X-Request-Id`` is
taken when it is safe and echoed, made up otherwise; the audit warning names the partner.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.observe import TextFormatter
from graph.server.persisted import build_manifest
from graph.server.settings import Settings, SettingsError
from sandbox.config import SandboxConfig
from sandbox.testing import running_sandbox
from tests.graph.children import environment, stop
from tests.replicas.harness import KICKSERV_GRAPH
from tests.state.conftest import free_port

Live = Callable[[Any], AbstractContextManager[str]]
TODAY = date(2026, 11, 21)
# Secrets of this test: none may appear in any line the server writes.
PARTNER_KEY = "partner-key-5f0c1d2e3a4b"
AUDIT_KEY = "audited-key-9e8d7c6b5a41"
WRONG_KEY = "wrong-key-aaaabbbbcccc"
KICKSERV_TOKEN = "demo-token"
PASS_THROUGH_TOKEN = "pass-through-token-41c7"
VARIABLE_VALUE = "variable-value-3b9f"
FEW = "query Few { customers(first: 2) { nodes { number name } } }"
NOTE = """mutation Note($number: Int!, $body: String!) {
  addCustomerNote(customerNumber: $number, input: {body: $body}) { body } }"""


@dataclass
class Served:
    url: str
    stderr: Path

    def lines(self) -> list[dict[str, Any]]:
        """Every line the server wrote to stderr, each parsed as JSON (it must be)."""
        return [json.loads(line) for line in self.stderr.read_text().splitlines() if line]

    def access(self, request_id: str) -> list[dict[str, Any]]:
        """The access lines of one request (the log is flushed before the answer's last byte is
        read, but the line is written after it: polled, a bound not a timing assertion)."""
        deadline = time.monotonic() + 10
        while True:
            found = [
                e
                for e in self.lines()
                if e["logger"] == "graph.access" and e.get("request_id") == request_id
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def post(self, body: Any, request_id: str, **headers: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/graphql", json=body, headers={"x-request-id": request_id, **headers}
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``serve`` in production, with API keys, pass-through and a manifest, on a sandbox."""
    directory = tmp_path_factory.mktemp("access-log")
    keys = directory / "keys.toml"
    keys.write_text(
        f'[[keys]]\nname = "partner-acme"\nkey = "{PARTNER_KEY}"\npolicy = "open"\n'
        f'[[keys]]\nname = "partner-audited"\nkey = "{AUDIT_KEY}"\npolicy = "audit"\n'
    )
    manifest = directory / "manifest.json"
    manifest.write_text(
        json.dumps(build_manifest([("ops.graphql", "query Staff { employees { number } }")]))
    )
    with running_sandbox(SandboxConfig(customers=10, seed=2, today=TODAY)) as sandbox:
        env = environment(
            GRAPH_ENV="production",
            KICKSERV_ACCOUNT="demo",
            KICKSERV_API_TOKEN=KICKSERV_TOKEN,
            KICKSERV_BASE_URL=sandbox.base_url,
            GRAPH_API_KEYS_FILE=str(keys),
            GRAPH_PASS_THROUGH="on",
            GRAPH_PERSISTED_MANIFESTS=str(manifest),
            GRAPH_STATE_DIR=str(directory / "state"),
        )
        port = free_port()
        stderr = directory / "stderr.log"
        with stderr.open("wb") as err, (directory / "stdout.log").open("wb") as out:
            process = subprocess.Popen(
                [KICKSERV_GRAPH, "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, process, stderr)
            yield Served(url, stderr)
        finally:
            stop(process)


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"serve exited:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"serve did not start:\n{log.read_text()[-3000:]}"
        time.sleep(0.05)


# --- one line per request ----------------------------------------------------------------------


def test_a_request_is_one_json_line_with_key_account_operation_and_costs(served: Served) -> None:
    # when: a partner's query, three times (the second from the response cache, the third an
    # exact repeat of a hit: graph.server.replays)
    first = served.post({"query": FEW}, "req-few-1", **{"x-api-key": PARTNER_KEY})
    second = served.post({"query": FEW}, "req-few-2", **{"x-api-key": PARTNER_KEY})
    third = served.post({"query": FEW}, "req-few-3", **{"x-api-key": PARTNER_KEY})

    # then: each answer echoes its request id, and each request is one line
    assert first.status_code == second.status_code == 200
    assert first.headers["x-request-id"] == "req-few-1"
    (line,) = served.access("req-few-1")
    assert line["level"] == "INFO" and line["message"] == "POST /graphql 200"
    assert {k: line[k] for k in ("method", "path", "status", "key", "account")} == {
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "key": "partner-acme",
        "account": "demo",
    }
    assert (line["operation"], line["operation_type"], line["outcome"]) == ("Few", "query", "ok")
    assert line["upstream_calls"] >= 1 and line["cache_hits"] == 0
    assert line["duration_ms"] > 0 and isinstance(line["pid"], int)
    (hit,) = served.access("req-few-2")
    assert hit["response_cache"] == "hit" and hit["key"] == "partner-acme"
    # the repeat says what the hit said, under its own id
    (replayed,) = served.access("req-few-3")
    assert third.headers["x-request-id"] == "req-few-3" and third.content == second.content
    variable = ("time", "request_id", "duration_ms")
    assert {k: v for k, v in replayed.items() if k not in variable} == {
        k: v for k, v in hit.items() if k not in variable
    }


def test_a_trusted_document_is_logged_by_its_id(served: Served) -> None:
    staff = build_manifest([("ops.graphql", "query Staff { employees { number } }")])
    (operation,) = staff["operations"]
    response = served.post({"documentId": operation["id"]}, "req-doc", **{"x-api-key": PARTNER_KEY})
    assert response.status_code == 200 and "errors" not in response.json()
    (line,) = served.access("req-doc")
    assert line["document_id"] == operation["id"] and line["document"] == "manifest"
    assert line["operation"] == "Staff"


def test_refused_and_failed_requests_carry_their_error_codes(served: Served) -> None:
    # when: an unknown key, then a query that does not validate
    refused = served.post({"query": FEW}, "req-401", **{"x-api-key": WRONG_KEY})
    invalid = served.post(
        {"query": "{ nope }"},
        "req-400",
        **{"x-api-key": PARTNER_KEY, "accept": "application/graphql-response+json"},
    )
    # then
    assert (refused.status_code, invalid.status_code) == (401, 400)
    (unauthenticated,) = served.access("req-401")
    assert unauthenticated["status"] == 401 and unauthenticated["key"] is None
    assert unauthenticated["error_codes"] == ["UNAUTHENTICATED"]
    assert unauthenticated["outcome"] == "rejected"
    (validation,) = served.access("req-400")
    assert validation["error_codes"] == ["GRAPHQL_VALIDATION_FAILED"]
    assert validation["key"] == "partner-acme"


def test_a_replayed_mutation_says_so(served: Served) -> None:
    body = {"query": NOTE, "variables": {"number": 3, "body": "replayed note"}}
    for request_id in ("req-note-1", "req-note-2"):
        response = served.post(
            body, request_id, **{"x-api-key": PARTNER_KEY, "idempotency-key": "note-once"}
        )
        assert "errors" not in response.json(), response.text
    (first,) = served.access("req-note-1")
    (replay,) = served.access("req-note-2")
    assert "idempotency_replays" not in first
    assert replay["idempotency_replays"] == 1 and replay["operation_type"] == "mutation"


def test_a_batch_is_one_line_with_each_operation_and_the_summed_cost(served: Served) -> None:
    batch = [
        {"query": "query BatchStaff { employees { number name } }"},
        {"query": "query BatchJobs { jobs(first: 1) { nodes { number } } }"},
    ]
    response = served.post(batch, "req-batch", **{"x-api-key": PARTNER_KEY})
    assert response.status_code == 200 and len(response.json()) == 2, response.text
    (line,) = served.access("req-batch")
    assert sorted(line["operation"]) == ["BatchJobs", "BatchStaff"]
    # each operation read at least one upstream answer (a call or a cache hit): both counted
    assert line["upstream_calls"] + line["cache_hits"] >= 2


# --- X-Request-Id ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    [
        "x" * 129,  # too long
        'quote"and space',  # not a safe character
        "",  # empty
    ],
)
def test_an_unsafe_request_id_is_replaced_by_a_new_one(served: Served, sent: str) -> None:
    response = served.post({"query": FEW}, sent, **{"x-api-key": PARTNER_KEY})
    made = response.headers["x-request-id"]
    assert made != sent and re.fullmatch(r"[0-9a-f]{32}", made)
    (line,) = served.access(made)
    assert line["status"] == 200
    assert sent not in served.stderr.read_text() or sent == ""


def test_a_request_without_an_id_gets_one_and_ids_differ(served: Served) -> None:
    answers = [
        httpx.post(f"{served.url}/graphql", json={"query": FEW}, headers={"x-api-key": PARTNER_KEY})
        for _ in range(2)
    ]
    ids = [a.headers["x-request-id"] for a in answers]
    assert ids[0] != ids[1]
    assert all(len(served.access(i)) == 1 for i in ids)


# --- never a secret ---------------------------------------------------------------------------


def test_no_key_token_or_variable_value_is_ever_logged(served: Served) -> None:
    # when: requests that carry every kind of secret, in headers and variables, succeeding and
    # failing (an audited document, a pass-through token Kickserv refuses, a wrong key)
    audited = served.post(
        {
            "query": "query Audited($q: String) { customers(first: 1, filter: {search: $q}) { totalCount } }",
            "variables": {"q": VARIABLE_VALUE},
        },
        "req-audit",
        **{"x-api-key": AUDIT_KEY},
    )
    refused = served.post(
        {"query": FEW},
        "req-pass",
        **{"x-kickserv-account": "demo", "x-kickserv-token": PASS_THROUGH_TOKEN},
    )
    bearer = served.post(
        {"query": NOTE, "variables": {"number": 2, "body": VARIABLE_VALUE}},
        "req-bearer",
        authorization=f"Bearer {PARTNER_KEY}",
    )
    wrong = served.post({"query": FEW}, "req-wrong", authorization=f"Bearer {WRONG_KEY}")
    assert audited.status_code == 200, audited.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "errors" not in bearer.json(), bearer.text
    assert wrong.status_code == 401
    for request_id in ("req-audit", "req-pass", "req-bearer", "req-wrong"):
        assert len(served.access(request_id)) == 1

    # then: not one of them in anything the server wrote
    text = served.stderr.read_text() + (served.stderr.parent / "stdout.log").read_text()
    for secret in (
        PARTNER_KEY,
        AUDIT_KEY,
        WRONG_KEY,
        KICKSERV_TOKEN,
        PASS_THROUGH_TOKEN,
        VARIABLE_VALUE,
    ):
        assert secret not in text, secret
    # and the pass-through caller is logged by its account, not its token
    (passing,) = served.access("req-pass")
    assert (passing["key"], passing["account"]) == ("pass-through", "demo")


@pytest.mark.parametrize("sent", range(3))
def test_the_audit_warning_names_the_partner(served: Served, sent: int) -> None:
    # the same request each time: a response cache hit from the second on, never answered
    # without the audit (its repeats are not replayed)
    served.post(
        {"query": "query NotInTheManifest { employees { number name } }"},
        f"req-audited-{sent}",
        **{"x-api-key": AUDIT_KEY},
    )
    assert len(served.access(f"req-audited-{sent}")) == 1
    warnings = [
        e
        for e in served.lines()
        if e["level"] == "WARNING" and e.get("request_id") == f"req-audited-{sent}"
    ]
    assert len(warnings) == 1, warnings
    (warning,) = warnings
    assert "audit: key 'partner-audited' sent document" in warning["message"]
    assert warning["key"] == "partner-audited"


def test_every_line_the_server_writes_is_json(served: Served) -> None:
    served.post({"query": FEW}, "req-json", **{"x-api-key": PARTNER_KEY})
    assert served.access("req-json")
    lines = served.lines()  # raises if any line is not JSON
    loggers = {line["logger"] for line in lines}
    assert {"graph.access", "uvicorn.error"} <= loggers
    assert "httpx" not in loggers  # one line per upstream call is the access line's job


def test_a_path_cannot_forge_a_line(live_server: Live, caplog: pytest.LogCaptureFixture) -> None:
    app = build_app(Settings(sandbox_customers=5, state_dir="memory"))
    with caplog.at_level(logging.INFO, logger="graph.access"), live_server(app) as url:
        httpx.get(f"{url}/nope%0A2026-12-03 INFO graph.access: forged")
    (record,) = [r for r in caplog.records if r.name == "graph.access"]
    line = TextFormatter().format(record)
    assert "\n" not in line and "/nope\\n2026-12-03" in line


def test_probes_are_logged_at_debug_only(served: Served) -> None:
    response = httpx.get(f"{served.url}/healthz", headers={"x-request-id": "req-probe"})
    assert response.headers["x-request-id"] == "req-probe"
    served.post({"query": FEW}, "req-after-probe", **{"x-api-key": PARTNER_KEY})
    assert served.access("req-after-probe")
    assert not [e for e in served.lines() if e.get("request_id") == "req-probe"]


# --- development ----------------------------------------------------------------------------------


def test_development_lines_are_readable_with_the_same_fields(
    live_server: Live, caplog: pytest.LogCaptureFixture
) -> None:
    # given: the server in development (the built-in sandbox), its access lines formatted as text
    app = build_app(Settings(sandbox_customers=5, state_dir="memory"))
    with caplog.at_level(logging.INFO, logger="graph.access"), live_server(app) as url:
        httpx.post(f"{url}/graphql", json={"query": FEW}, headers={"x-request-id": "dev-1"})
    (record,) = [r for r in caplog.records if r.name == "graph.access"]
    # when
    line = TextFormatter().format(record)
    # then
    assert "graph.access: POST /graphql 200 request_id=dev-1 duration_ms=" in line
    assert "key=anonymous account=demo operation=Few operation_type=query" in line
    assert "upstream_calls=1" in line and "outcome=ok" in line


@pytest.mark.parametrize(
    ("level", "shown"),
    [("WARNING", ["warning"]), ("INFO", ["access", "warning"]), ("DEBUG", ["access", "warning"])],
)
def test_the_log_level_is_what_serve_configures_every_worker_with(
    level: str, shown: list[str]
) -> None:
    # given: what serve hands uvicorn, applied in a fresh interpreter as uvicorn does in a worker
    script = (
        "import logging, logging.config\n"
        "from graph.server.observe import logging_config\n"
        f"logging.config.dictConfig(logging_config({level!r}, 'json'))\n"
        "logging.getLogger('graph.access').info('access')\n"
        "logging.getLogger('graph.server.persisted').warning('warning')\n"
        "logging.getLogger('httpx').info('httpx')\n"
    )
    # when
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    # then: the lines at or above the level, as JSON; httpx's per-call line never
    lines = [json.loads(line) for line in ran.stderr.splitlines()]
    assert [line["message"] for line in lines] == shown


def test_the_log_format_follows_the_environment_and_is_checked() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"GRAPH_ENV": "production"}).log_format == "json"
    assert Settings.from_env({"GRAPH_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="GRAPH_LOG_FORMAT is 'xml'"):
        Settings.from_env({"GRAPH_LOG_FORMAT": "xml"})
