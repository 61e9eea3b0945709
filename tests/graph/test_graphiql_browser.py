"""GraphiQL in a real headless Chromium: it loads offline, runs a query, and talks only to us;
a run right after an edit sends the edited operation's name; headers outlive a reload only when
the user turns "Persist headers" on; a refused introspection is explained; the Explorer works."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import graphql
import pytest
import strawberry
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from graph.server.assembly import build_app as build_server
from graph.server.graphiql import STATIC_DIRECTORY
from graph.server.http import GraphQLEndpoint
from graph.server.settings import Settings
from tests.graph.conftest import uvicorn_in_thread

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    """Chromium is a test dependency (scripts/test installs it): in CI its absence is a failure."""
    path = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or "/nonexistent")
    if not path.exists():
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@strawberry.type
class Query:
    @strawberry.field
    async def hello(self, info: strawberry.Info[Request, None], name: str) -> str:
        headers = info.context.headers
        caller = headers.get("x-caller") or headers.get("x-api-key") or "anonymous"
        return f"Hello {name}, you are {caller}"


def build_app() -> Starlette:
    async def context_factory(request: Request) -> Request:
        return request

    endpoint = GraphQLEndpoint(strawberry.Schema(query=Query), context_factory, Settings())
    return Starlette(
        routes=[
            Route("/graphql", endpoint),
            Mount("/static", StaticFiles(directory=STATIC_DIRECTORY)),
        ]
    )


def is_local(url: str, base_url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return f"{parts.scheme}://{parts.netloc}" == base_url


def type_into_editor(page: Any, editor_selector: str, text: str) -> None:
    page.locator(f"{editor_selector} .CodeMirror:visible").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)


def test_graphiql_runs_a_query_without_leaving_localhost(live_server):
    chromium = chromium_or_skip()
    requested: list[str] = []
    page_errors: list[str] = []
    with live_server(build_app()) as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.on("pageerror", lambda error: page_errors.append(str(error)))

            # given: the page, as a browser navigates to it
            page.goto(f"{base_url}/graphql", wait_until="load")
            page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=20_000)

            # when: a query typed into the editor, a header into the headers editor, then run
            type_into_editor(page, ".graphiql-query-editor", '{ hello(name: "browser") }')
            page.locator('.graphiql-editor-tools button[data-name="headers"]').click()
            type_into_editor(page, ".graphiql-editor-tool", '{"x-caller": "a tester"}')
            page.locator(".graphiql-execute-button").click()

            # then
            result = page.locator(".graphiql-response")
            result.get_by_text("Hello browser, you are a tester").wait_for(timeout=20_000)
        finally:
            browser.close()

    assert page_errors == []
    outside = [url for url in requested if not is_local(url, base_url)]
    assert outside == []
    paths = {urlsplit(url).path for url in requested}
    assert {
        "/graphql",
        "/static/graphiql/graphiql.min.js",
        "/static/graphiql/graphiql.min.css",
        "/static/graphiql/react.production.min.js",
        "/static/graphiql/react-dom.production.min.js",
        "/static/graphiql/boot.js",
    } <= paths


# --- shared by the tests below: one browser, a fresh profile (empty localStorage) per test -------

NO_INTROSPECTION_KEY = "plain-key-0123456789"
INTROSPECTION_KEY = "schema-key-0123456789"
KEYS_FILE = f"""
[[keys]]
name = "plain"
key = "{NO_INTROSPECTION_KEY}"

[[keys]]
name = "schema-reader"
key = "{INTROSPECTION_KEY}"
introspection = true
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = chromium_or_skip()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def hello_server() -> Iterator[str]:
    with uvicorn_in_thread(build_app()) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole server (in-process sandbox) with API keys: one may introspect, one may not."""
    keys = tmp_path_factory.mktemp("keys") / "keys.toml"
    keys.write_text(KEYS_FILE)
    settings = Settings(sandbox_customers=5, api_keys_file=str(keys))
    with uvicorn_in_thread(build_server(settings)) as base_url:
        yield base_url


@contextmanager
def graphiql(browser: Browser, base_url: str) -> Iterator[tuple[Page, list[Any]]]:
    """GraphiQL loaded in a new browser profile; yields the page and the requests it made. On
    leaving: no script error, and nothing was asked of any other origin."""
    context = browser.new_context()
    requests: list[Any] = []
    page_errors: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: requests.append(request))
        page.on("pageerror", lambda error: page_errors.append(str(error)))
        load(page, f"{base_url}/graphql")
        yield page, requests
    finally:
        context.close()
    assert page_errors == []
    assert [r.url for r in requests if not is_local(r.url, base_url)] == []


def load(page: Page, url: str | None = None) -> None:
    if url is None:
        page.reload(wait_until="load")
    else:
        page.goto(url, wait_until="load")
    page.locator(".graphiql-query-editor .CodeMirror").wait_for(timeout=20_000)


def editor_text(page: Page, editor_selector: str) -> str:
    text: str = page.locator(f"{editor_selector} .CodeMirror:visible").first.evaluate(
        "element => element.CodeMirror.getValue()"
    )
    return text


def open_headers(page: Page) -> None:
    page.locator('.graphiql-editor-tools button[data-name="headers"]').click()


def enter_key(page: Page, key: str) -> None:
    """An API key typed into the headers editor, as a user does."""
    open_headers(page)
    type_into_editor(page, ".graphiql-editor-tool", json.dumps({"X-API-Key": key}))


def wait_for_response(page: Page, expected: str) -> str:
    """The response editor's text, once it shows ``expected`` or errors (a previous run's answer,
    still shown for a moment after Ctrl-Enter, has neither)."""
    page.wait_for_function(
        """expected => {
          const text = document.querySelector(".graphiql-response .CodeMirror").CodeMirror.getValue();
          return text.includes(expected) || text.includes('"errors"');
        }""",
        arg=expected,
        timeout=20_000,
    )
    return editor_text(page, ".graphiql-response")


def stored(page: Page) -> dict[str, str]:
    values: dict[str, str] = page.evaluate("() => ({...window.localStorage})")
    return values


def test_a_run_right_after_an_edit_sends_the_edited_operations_name(browser, hello_server):
    with graphiql(browser, hello_server) as (page, requests):
        for run in range(1, 6):
            # when: a new named operation pasted (odd runs) or typed (even runs) over the old one,
            # run at once with Ctrl-Enter, well inside GraphiQL's 100 ms operation-name debounce
            text = f'query Greeting{run} {{ hello(name: "run {run}") }}'
            page.locator(".graphiql-query-editor .CodeMirror").first.click()
            page.keyboard.press("Control+A")
            if run % 2:
                page.keyboard.insert_text(text)
            else:
                page.keyboard.press("Delete")
                page.keyboard.type(text)
            page.keyboard.press("Control+Enter")

            # then: every run answers its own operation
            answer = f"Hello run {run}, you are anonymous"
            assert answer in wait_for_response(page, answer)

        sent = [
            json.loads(r.post_data)
            for r in requests
            if r.method == "POST" and "Greeting" in (r.post_data or "")
        ]
    assert len(sent) == 5
    for body in sent:
        names = [
            op.name.value if op.name else None
            for op in graphql.parse(body["query"]).definitions
            if isinstance(op, graphql.OperationDefinitionNode)
        ]
        assert body.get("operationName") in names


def test_with_several_operations_the_one_under_the_cursor_runs(browser, hello_server):
    with graphiql(browser, hello_server) as (page, _):
        page.locator(".graphiql-query-editor .CodeMirror").first.click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(
            'query First { hello(name: "first") }\nquery Second { hello(name: "second") }'
        )
        page.keyboard.press("Control+End")  # the cursor in Second
        page.keyboard.press("Control+Enter")

        answer = "Hello second"
        assert answer in wait_for_response(page, answer)


def test_headers_outlive_a_reload_only_once_persist_headers_is_on(browser, hello_server):
    key = "k-remembered-0123"
    with graphiql(browser, hello_server) as (page, _):
        # given: "Persist headers" switched on in Settings, then a key in the headers editor.
        # (In the other order the test timed out twice in 3 days, waiting for the key to reach both
        # of GraphiQL's stores: likely its debounced save of the tabs still seeing the switch off,
        # not reproduced on demand. A user who switches it on first meets no such race.)
        type_into_editor(page, ".graphiql-query-editor", '{ hello(name: "again") }')
        page.get_by_label("Open settings dialog").click()
        page.locator("#enable-persist-headers").click()
        page.keyboard.press("Escape")
        enter_key(page, key)
        page.wait_for_function(  # both places GraphiQL restores headers from
            """key => ["graphiql:headers", "graphiql:tabState"].every(
                name => (localStorage.getItem(name) || "").includes(key))""",
            arg=key,
        )

        # when
        load(page)

        # then: the key is back, and sent
        open_headers(page)
        assert key in editor_text(page, ".graphiql-editor-tool")
        page.locator(".graphiql-execute-button").click()
        answer = f"you are {key}"
        assert answer in wait_for_response(page, answer)


def test_without_persist_headers_a_key_is_kept_nowhere_in_the_browser(browser, hello_server):
    key = "k-forgotten-0123"
    with graphiql(browser, hello_server) as (page, _):
        # given: a query run with a key (GraphiQL's history keeps each run, headers included)
        type_into_editor(page, ".graphiql-query-editor", '{ hello(name: "history") }')
        enter_key(page, key)
        page.locator(".graphiql-execute-button").click()
        answer = f"you are {key}"
        assert answer in wait_for_response(page, answer)
        page.wait_for_function(
            "() => (localStorage.getItem('graphiql:queries') || '').includes('history')"
        )
        before_reload = stored(page)

        # when
        load(page)

        # then: the history is there, the key is not: not in storage, not in the editor
        open_headers(page)
        headers = editor_text(page, ".graphiql-editor-tool")
        after_reload = stored(page)
    assert "history" in before_reload["graphiql:queries"]
    assert [name for name, value in before_reload.items() if key in value] == []
    assert [name for name, value in after_reload.items() if key in value] == []
    assert key not in headers


def test_a_refused_introspection_says_why_and_what_to_do(browser, keyed_server):
    notice = "#graphiql-notice"
    with graphiql(browser, keyed_server) as (page, _):
        # given: no key yet, so the server refused GraphiQL's introspection with 401
        page.get_by_text("This server needs an API key").wait_for(timeout=20_000)

        # when: a key without introspection, then the schema fetched again
        enter_key(page, NO_INTROSPECTION_KEY)
        page.get_by_label("Re-fetch GraphQL schema").click()

        # then
        page.get_by_text("Introspection is disabled for this API key").wait_for(timeout=20_000)
        assert "schema.graphql" in page.locator(notice).inner_text()

        # and when: a key that may introspect, the hint goes and Docs has the schema
        enter_key(page, INTROSPECTION_KEY)
        page.get_by_label("Re-fetch GraphQL schema").click()
        page.locator(notice).wait_for(state="hidden", timeout=20_000)
        page.get_by_label("Show Documentation Explorer").click()
        page.locator(".graphiql-doc-explorer").get_by_text("Query", exact=True).wait_for(
            timeout=20_000
        )


def test_the_explorer_lists_the_root_fields_and_builds_a_query(browser, keyed_server):
    with graphiql(browser, keyed_server) as (page, requests):
        # given: a key that may introspect, and the schema fetched with it
        enter_key(page, INTROSPECTION_KEY)
        page.get_by_label("Re-fetch GraphQL schema").click()

        # when
        page.get_by_label("Show GraphiQL Explorer").click()

        # then: the root fields are there, and clicking one writes it into the query
        explorer = page.locator(".graphiql-explorer-root")
        for field in ("customers", "jobs", "invoices"):
            explorer.locator(f'[data-field-name="{field}"]').first.wait_for(timeout=20_000)
        explorer.locator('[data-field-name="jobs"]').first.click()
        page.wait_for_function(
            """() => document.querySelector(".graphiql-query-editor .CodeMirror")
                       .CodeMirror.getValue().includes("jobs")"""
        )
    paths = {urlsplit(r.url).path for r in requests}
    assert {
        "/static/graphiql/graphiql-plugin-explorer.umd.js",
        "/static/graphiql/graphiql-plugin-explorer.css",
    } <= paths
