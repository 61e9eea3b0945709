"""CORS over real HTTP: a page of an origin listed in GRAPH_CORS_ORIGINS may call the graph with the
headers our clients send (preflight and request); any other origin gets no CORS headers; with no
origins configured there is no CORS at all."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.http_headers import CORS_HEADERS
from graph.server.settings import Settings, SettingsError
from tests.graph.conftest import uvicorn_in_thread

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"
ASKED = (
    "content-type, authorization, x-api-key, x-kickserv-account, x-kickserv-token, "
    "idempotency-key, apollo-require-preflight, x-apollo-operation-name, traceparent, x-request-id"
)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    settings = Settings(
        sandbox_customers=5,
        cors_origins=(ALLOWED, "http://localhost:5173"),
        upstream_extensions=False,
    )
    with uvicorn_in_thread(build_app(settings)) as base_url:
        yield f"{base_url}/graphql"


def preflight(url: str, origin: str, headers: str = ASKED) -> httpx.Response:
    return httpx.options(
        url,
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": headers,
        },
    )


def test_a_preflight_from_an_allowed_origin_allows_our_headers(url: str) -> None:
    response = preflight(url, ALLOWED)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert {"GET", "POST"} <= set(response.headers["access-control-allow-methods"].split(", "))
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {h.strip() for h in ASKED.split(",")} <= allowed
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["access-control-max-age"] == "600"


def test_a_preflight_from_another_origin_gets_no_cors_headers(url: str) -> None:
    response = preflight(url, OTHER)

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


def test_requests_carry_cors_headers_for_allowed_origins_only(url: str) -> None:
    body = {"query": "{ __typename }"}
    allowed = httpx.post(url, json=body, headers={"origin": ALLOWED})
    local = httpx.post(url, json=body, headers={"origin": "http://localhost:5173"})
    other = httpx.post(url, json=body, headers={"origin": OTHER})

    assert allowed.json() == other.json() == {"data": {"__typename": "Query"}}
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
    assert local.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert allowed.headers["access-control-expose-headers"] == "x-request-id"
    assert "Origin" in allowed.headers["vary"] and "Accept" in allowed.headers["vary"]
    # the browser refuses the answer to the page: no header lets it read it
    assert "access-control-allow-origin" not in other.headers


def test_without_origins_there_is_no_cors() -> None:
    with uvicorn_in_thread(build_app(Settings(sandbox_customers=5))) as base_url:
        response = preflight(f"{base_url}/graphql", ALLOWED)
        plain = httpx.post(
            f"{base_url}/graphql", json={"query": "{ __typename }"}, headers={"origin": ALLOWED}
        )

    assert response.status_code == 405  # OPTIONS is no GraphQL method
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in plain.headers


def test_the_origins_setting() -> None:
    settings = Settings.from_env({"GRAPH_CORS_ORIGINS": f" {ALLOWED}, http://localhost:5173 "})
    assert settings.cors_origins == (ALLOWED, "http://localhost:5173")
    assert Settings.from_env({"GRAPH_CORS_ORIGINS": "*"}).cors_origins == ("*",)
    assert Settings.from_env({}).cors_origins == ()
    for wrong in ("https://app.example.com/", "app.example.com", "ftp://x.example", "https://"):
        with pytest.raises(SettingsError, match="GRAPH_CORS_ORIGINS"):
            Settings.from_env({"GRAPH_CORS_ORIGINS": wrong})
    assert "x-request-id" in CORS_HEADERS and "authorization" in CORS_HEADERS
