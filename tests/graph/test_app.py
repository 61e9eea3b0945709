"""The app around the endpoint: settings, lifespan and upstream client, probes, `serve`.

The Dockerfile and the installed package: tests/test_packaging.py.
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry

import graph.server.serve
from graph.server.app import RequestContext, create_app
from graph.server.cli import build_parser
from graph.server.environment import ENVIRONMENT, configuration_table
from graph.server.graphiql import DEFAULT_QUERY
from graph.server.protocol import GuardedHttpToolsProtocol
from graph.server.requests import GRAPHQL_RESPONSE_JSON
from graph.server.settings import Settings, SettingsError

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {"kickserv_account": "acme", "kickserv_api_token": "tok-123456"}


@strawberry.type
class Query:
    @strawberry.field
    async def account(self, info: strawberry.Info[RequestContext, None]) -> str:
        return info.context.upstream.account

    @strawberry.field
    async def sandbox(self, info: strawberry.Info[RequestContext, None]) -> bool:
        return info.context.upstream.sandbox


SCHEMA = strawberry.Schema(query=Query)


class Kickserv:
    """A stand-in Kickserv answering every call with one status (an edge case: a down upstream)."""

    def __init__(self, status: int | None) -> None:
        self.status = status
        self.calls: list[httpx.Request] = []

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            self.calls.append(request)
            if self.status is None:
                raise httpx.ConnectError("connection refused", request=request)
            return httpx.Response(self.status, json={"job_types": []})

        return httpx.MockTransport(handle)


async def serve(app: Any):
    """Run the lifespan around an in-process client, as a server would."""
    transport = httpx.ASGITransport(app=app)
    return app.router.lifespan_context(app), httpx.AsyncClient(
        transport=transport, base_url="http://testserver"
    )


# --- settings -----------------------------------------------------------------------------


def test_settings_defaults_from_an_empty_environment():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.sandbox_mode
    assert settings.upstream_extensions  # development by default
    assert (settings.host, settings.port, settings.kickserv_base_url) == (
        "127.0.0.1",
        8000,
        "https://app.kickserv.com",
    )


def test_settings_read_every_variable():
    settings = Settings.from_env(
        {
            "KICKSERV_ACCOUNT": "acme",
            "KICKSERV_API_TOKEN": "tok-123456",
            "KICKSERV_BASE_URL": "https://kickserv.example/",
            "GRAPH_HOST": "0.0.0.0",
            "GRAPH_PORT": "9000",
            "GRAPH_ENV": "production",
            "GRAPH_MAX_BODY_BYTES": "5000",
            "GRAPH_LOG_LEVEL": "debug",
            "SANDBOX_CUSTOMERS": "50",
            "SANDBOX_SEED": "7",
            "SANDBOX_LATENCY_MS": "12.5",
            "SANDBOX_TODAY": "2026-11-21",
        }
    )
    assert not settings.sandbox_mode
    assert settings.kickserv_base_url == "https://kickserv.example"
    assert (settings.host, settings.port, settings.env) == ("0.0.0.0", 9000, "production")
    assert settings.max_body_bytes == 5000
    assert settings.upstream_extensions is False  # production default
    assert settings.log_level == "DEBUG"
    assert (settings.sandbox_customers, settings.sandbox_seed) == (50, 7)
    assert settings.sandbox_latency_ms == 12.5
    assert settings.sandbox_today == date(2026, 11, 21)
    assert "tok-123456" not in repr(settings)
    assert Settings.from_env({"GRAPH_UPSTREAM_EXTENSIONS": "off"}).upstream_extensions is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"KICKSERV_ACCOUNT": "acme"}, "KICKSERV_ACCOUNT is set but KICKSERV_API_TOKEN is missing"),
        ({"KICKSERV_API_TOKEN": "t"}, "KICKSERV_API_TOKEN is set but KICKSERV_ACCOUNT is missing"),
        ({"GRAPH_PORT": "http"}, "GRAPH_PORT is 'http'; it must be a whole number."),
        ({"GRAPH_MAX_BODY_BYTES": "0"}, "GRAPH_MAX_BODY_BYTES is 0; it must be at least 1."),
        ({"GRAPH_BODY_TIMEOUT_S": "soon"}, "GRAPH_BODY_TIMEOUT_S is 'soon'; it must be a number."),
        ({"GRAPH_BODY_TIMEOUT_S": "-1"}, "GRAPH_BODY_TIMEOUT_S is -1.0; it must not be negative."),
        ({"GRAPH_ENV": "staging"}, "GRAPH_ENV is 'staging'"),
        ({"GRAPH_UPSTREAM_EXTENSIONS": "maybe"}, "GRAPH_UPSTREAM_EXTENSIONS is 'maybe'"),
        ({"GRAPH_LOG_LEVEL": "loud"}, "GRAPH_LOG_LEVEL is 'LOUD'"),
        ({"SANDBOX_TODAY": "21/11/2026"}, "SANDBOX_TODAY is '21/11/2026'; it must be a date"),
    ],
)
def test_settings_errors_name_the_variable(environ, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(environ)
    assert str(caught.value).startswith(message)


def test_readme_configuration_table_matches_the_settings():
    # the table under "## Configuration" (refresh it with scripts/config_table.py)
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Configuration\n") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else None]
    assert configuration_table() in section
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == {var.name for var in ENVIRONMENT}


class _Recording(dict[str, str]):
    """An empty environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def test_every_variable_the_settings_read_is_documented():
    environ = _Recording()
    Settings.from_env(environ)
    # OpenTelemetry's own variables are the SDK's, documented under "Traces" in the README.
    ours = {name for name in environ.asked if not name.startswith("OTEL_")}
    assert len(ours) > 40
    assert ours <= {var.name for var in ENVIRONMENT}, ours - {var.name for var in ENVIRONMENT}
    readme = (ROOT / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in environ.asked - ours)


# --- the app ------------------------------------------------------------------------------


async def test_lifespan_owns_one_client_and_the_default_context_sees_it():
    kickserv = Kickserv(200)
    app = create_app(Settings(**CREDENTIALS), SCHEMA, upstream_transport=kickserv.transport())
    lifespan, client = await serve(app)
    async with lifespan as state, client:
        response = await client.post("/graphql", json={"query": "{ account sandbox }"})
        upstream = state["upstream"]
        assert upstream is app.state.upstream
        assert (upstream.base_url, upstream.account) == ("https://app.kickserv.com", "acme")
        assert "tok-123456" not in repr(upstream)
    assert response.json() == {"data": {"account": "acme", "sandbox": False}}
    assert upstream.client.is_closed


async def test_healthz_and_readyz_with_a_reachable_kickserv():
    kickserv = Kickserv(200)
    app = create_app(Settings(**CREDENTIALS), SCHEMA, upstream_transport=kickserv.transport())
    lifespan, client = await serve(app)
    async with lifespan, client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        again = await client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "upstream": "reachable"})
    assert again.status_code == 200
    assert len(kickserv.calls) == 1  # probes are cached, not one upstream call each
    probe = kickserv.calls[0]
    assert probe.url.path == "/acme/api/v2/job_types.json"
    assert probe.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("status", "reason"), [(401, "credentials rejected"), (None, "unreachable")]
)
async def test_readyz_is_503_when_kickserv_refuses_or_is_down(status, reason):
    app = create_app(
        Settings(**CREDENTIALS), SCHEMA, upstream_transport=Kickserv(status).transport()
    )
    lifespan, client = await serve(app)
    async with lifespan, client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
    assert health.status_code == 200
    assert (ready.status_code, ready.json()) == (503, {"status": "unavailable", "upstream": reason})


async def test_readyz_is_503_before_the_lifespan_ran():
    app = create_app(Settings(**CREDENTIALS), SCHEMA, upstream_transport=Kickserv(200).transport())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/readyz")).status_code == 503
        assert (await c.get("/healthz")).status_code == 200


async def test_graphql_route_answers_every_method_itself():
    app = create_app(Settings(**CREDENTIALS), SCHEMA, upstream_transport=Kickserv(200).transport())
    lifespan, client = await serve(app)
    async with lifespan, client:
        put = await client.put("/graphql", json={"query": "{ account }"})
        css = await client.get("/static/graphiql/graphiql.min.css")
    assert put.status_code == 405
    assert put.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "accept",
    [
        # what Firefox and Chrome send when navigating
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    ],
)
async def test_root_sends_a_browser_to_graphiql(accept):
    app = create_app(Settings(**CREDENTIALS), SCHEMA, upstream_transport=Kickserv(200).transport())
    lifespan, client = await serve(app)
    async with lifespan, client:
        root = await client.get("/", headers={"accept": accept})
        page = await client.get(root.headers["location"], headers={"accept": accept})
    assert root.status_code == 307
    assert root.headers["location"] == "/graphql"
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html;q=0"])
async def test_root_tells_other_clients_where_the_endpoints_are(accept):
    app = create_app(Settings(**CREDENTIALS), SCHEMA, upstream_transport=Kickserv(200).transport())
    lifespan, client = await serve(app)
    async with lifespan, client:
        headers = {"accept": accept} if accept else {}
        root = await client.get("/", headers=headers)
        head = await client.head("/", headers=headers)
        post = await client.post("/", json={"query": "{ account }"})
    assert root.status_code == 200
    assert root.json() == {
        "service": "kickserv-graph",
        "graphql": "/graphql",
        "graphiql": "open /graphql in a browser",
        "healthz": "/healthz",
        "readyz": "/readyz",
    }
    assert head.status_code == 200
    assert post.status_code == 405  # GraphQL goes to /graphql, never answered here


# --- serve --------------------------------------------------------------------------------


def test_serve_runs_uvicorn_with_uvloop_and_httptools(monkeypatch, capsys):
    # given
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        graph.server.serve.uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw})
    )
    for name in ("KICKSERV_ACCOUNT", "KICKSERV_API_TOKEN", "GRAPH_PORT", "GRAPH_HOST"):
        monkeypatch.delenv(name, raising=False)
    args = build_parser().parse_args(["serve", "--port", "8123"])
    # when
    assert args.handler(args) == 0
    # then
    (call,) = calls
    assert call["loop"] == "uvloop" and call["http"] is GuardedHttpToolsProtocol  # httptools
    assert (call["host"], call["port"]) == ("127.0.0.1", 8123)
    assert call["app"] == "graph.server.serve:create_app_from_env" and call["factory"] is True
    out = capsys.readouterr().out
    assert "GraphiQL: http://127.0.0.1:8123/graphql" in out
    assert "built-in Kickserv sandbox" in out


def test_serve_takes_the_sandbox_seed_size_and_today(monkeypatch, capsys):
    # given: SANDBOX_* set otherwise in the environment (and restored after the test)
    monkeypatch.setattr(graph.server.serve.uvicorn, "run", lambda app, **kw: None)
    for name in ("KICKSERV_ACCOUNT", "KICKSERV_API_TOKEN", "GRAPH_PASS_THROUGH"):
        monkeypatch.delenv(name, raising=False)
    for name in ("SANDBOX_CUSTOMERS", "SANDBOX_SEED", "SANDBOX_TODAY"):
        monkeypatch.setenv(name, "9")
    argv = ["serve", "--customers", "60", "--seed", "4", "--today", "2026-11-21"]
    args = build_parser().parse_args(argv)
    # when
    assert args.handler(args) == 0
    # then: the workers' factory sees them, and the console says so
    settings = Settings.from_env()
    assert (settings.sandbox_customers, settings.sandbox_seed) == (60, 4)
    assert settings.sandbox_today == date(2026, 11, 21)
    assert os.environ["SANDBOX_TODAY"] == "2026-11-21"
    out = capsys.readouterr().out
    assert "60 customers, seed 4, today 2026-11-21" in out
    assert "Ctrl-C" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--today", "tomorrow"], "argument --today"),
        (["--customers", "0"], "argument --customers: 0 is not at least 1"),
        (["--customers", "many"], "argument --customers: 'many' is not a whole number"),
    ],
)
def test_serve_refuses_sandbox_options_it_cannot_use(argv, message, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", *argv])
    assert message in capsys.readouterr().err


def test_serve_never_prints_the_token(monkeypatch, capsys):
    monkeypatch.setattr(graph.server.serve.uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setenv("KICKSERV_ACCOUNT", "acme")
    monkeypatch.setenv("KICKSERV_API_TOKEN", "tok-very-secret")
    assert graph.server.serve.run(argparse.Namespace(host="0.0.0.0", port=None, workers=1)) == 0
    out = capsys.readouterr().out
    assert "Kickserv account 'acme' at https://app.kickserv.com" in out
    assert "GraphiQL: http://127.0.0.1:8000/graphql" in out
    assert "tok-very-secret" not in out


def test_serve_stops_with_one_line_on_a_bad_keys_file(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "keys.toml"
    bad.write_text("this is [not toml")
    monkeypatch.setattr(graph.server.serve.uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setenv("GRAPH_API_KEYS_FILE", str(bad))
    assert graph.server.serve.run(argparse.Namespace(host=None, port=None, workers=1)) == 2
    err = capsys.readouterr().err
    assert err.startswith("kickserv-graph serve: ") and "Traceback" not in err


def test_serve_describes_pass_through(monkeypatch, capsys):
    for name in ("KICKSERV_ACCOUNT", "KICKSERV_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRAPH_PASS_THROUGH", "1")
    monkeypatch.setattr(graph.server.serve.uvicorn, "run", lambda app, **kw: None)
    assert graph.server.serve.run(argparse.Namespace(host=None, port=None, workers=1)) == 0
    out = capsys.readouterr().out
    assert "pass-through" in out and "None" not in out


# --- sandbox mode -------------------------------------------------------------------------


async def test_sandbox_mode_serves_the_in_process_sandbox():
    # given: no credentials, a small sandbox
    app = create_app(Settings(sandbox_customers=5, sandbox_seed=3), SCHEMA)
    lifespan, client = await serve(app)
    async with lifespan as state, client:
        # when
        graph_response = await client.post("/graphql", json={"query": "{ account sandbox }"})
        ready = await client.get("/readyz")
        upstream = state["upstream"]
        customers = await upstream.client.get(
            "/demo/api/v2/customers.json", auth=(upstream.token, upstream.token)
        )
        refused = await upstream.client.get("/demo/api/v2/customers.json", auth=("x", "x"))
    # then
    assert graph_response.json() == {"data": {"account": "demo", "sandbox": True}}
    assert (upstream.base_url, upstream.account) == ("http://sandbox.local", "demo")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready", "upstream": "sandbox"})
    assert customers.status_code == 200
    assert customers.json()["total_entries"] == 5
    assert refused.status_code == 401


async def test_sandbox_mode_pins_the_sandbox_date():
    app = create_app(Settings(sandbox_customers=5, sandbox_today=date(2026, 11, 21)), SCHEMA)
    lifespan, client = await serve(app)
    async with lifespan as state, client:
        sandbox = await state["upstream"].client.get("/__sandbox/config")
    assert sandbox.json()["today"]["demo"] == "2026-11-21"


# --- the assembled server -----------------------------------------------------------------


async def test_serve_factory_builds_the_full_server_and_graphiql_default_query_runs(monkeypatch):
    # given: the environment `serve` would see, in sandbox mode
    for name in ("KICKSERV_ACCOUNT", "KICKSERV_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANDBOX_CUSTOMERS", "6")
    app = graph.server.serve.create_app_from_env()
    lifespan, client = await serve(app)
    async with lifespan, client:
        # when: GraphiQL's default query, as the page would send it
        response = await client.post(
            "/graphql", json={"query": DEFAULT_QUERY}, headers={"accept": GRAPHQL_RESPONSE_JSON}
        )
    # then
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert body["data"]["customers"]["totalCount"] == 6
    assert body["data"]["customers"]["edges"][0]["node"]["locations"]


def test_write_timeout_setting_reaches_the_write_policy(monkeypatch):
    from graph.server.assembly import build_app, server_of

    assert Settings.from_env({"GRAPH_WRITE_TIMEOUT": "7.5"}).write_timeout == 7.5
    app = build_app(Settings(write_timeout=7.5))
    assert server_of(app).write_policy.write_timeout == 7.5
