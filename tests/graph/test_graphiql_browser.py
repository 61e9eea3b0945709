"""GraphiQL in a real headless Chromium: it loads offline, runs a query, and talks only to us."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import strawberry
from playwright.sync_api import sync_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from graph.server.graphiql import STATIC_DIRECTORY
from graph.server.http import GraphQLEndpoint
from graph.server.settings import Settings

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
        caller = info.context.headers.get("x-caller", "anonymous")
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
