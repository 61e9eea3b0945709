"""HTTP Basic with the token as username and password; 401 otherwise, also across accounts."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from sandbox.app import sandbox_state

UNAUTHORIZED = {"errors": ["Invalid Username, Account or password."]}


def _client(app: Starlette, account: str, auth: tuple[str, str] | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=f"http://sandbox/{account}/api/v2",
        auth=auth,
    )


async def test_missing_wrong_and_mismatched_credentials_are_401(app):
    for auth in (None, ("nope", "nope"), ("demo-token", "other"), ("demo-token", "")):
        async with _client(app, "demo", auth) as http:
            response = await http.get("/customers.json")
        assert response.status_code == 401, auth
        assert response.json() == UNAUTHORIZED


async def test_a_token_of_another_account_is_401(app):
    async with _client(app, "demo", ("acme-token", "acme-token")) as http:
        assert (await http.get("/customers.json")).status_code == 401
    async with _client(app, "acme", ("demo-token", "demo-token")) as http:
        assert (await http.get("/customers.json")).status_code == 401
    async with _client(app, "nosuchaccount", ("demo-token", "demo-token")) as http:
        assert (await http.get("/customers.json")).status_code == 401


async def test_accounts_hold_different_data_in_disjoint_id_ranges(app):
    async with _client(app, "demo", ("demo-token", "demo-token")) as http:
        demo = (await http.get("/customers.json", params={"per_page": 100})).json()
    async with _client(app, "acme", ("acme-token", "acme-token")) as http:
        acme = (await http.get("/customers.json", params={"per_page": 100})).json()
    assert demo["total_entries"] == 40
    assert acme["total_entries"] == 12
    assert {c["id"] for c in demo["customers"]}.isdisjoint({c["id"] for c in acme["customers"]})
    assert demo["customers"][0]["created_at"].endswith("-05:00")
    assert acme["customers"][0]["created_at"].endswith("-07:00")


async def test_every_active_employee_token_works_and_inactive_ones_do_not(app):
    async with _client(app, "demo", None) as http:
        tokens = (await http.get("http://sandbox/__sandbox/tokens")).json()["demo"]
        assert tokens[0]["token"] == "demo-token" and tokens[0]["employee_number"] == 1
        for entry in tokens:
            token = entry["token"]
            response = await http.get("/employees.json", auth=(token, token))
            assert response.status_code == (200 if entry["active"] else 401), entry
    assert any(not e["active"] for e in tokens)


async def test_every_response_has_a_request_id(client):
    for path in ("/customers.json", "/customers/999999.json", "/nothing.json"):
        response = await client.get(path)
        assert len(response.headers["X-Request-Id"]) >= 16
    unauthorized = await client.get("/customers.json", auth=("x", "x"))
    assert unauthorized.headers["X-Request-Id"]


async def test_log_names_the_employee_but_never_the_token(app, client):
    await client.get("/customers.json")
    entry = sandbox_state(app).log.entries()[-1]
    assert entry.employee_number == 1 and entry.account == "demo"
    assert entry.token and "demo-token" not in entry.token
