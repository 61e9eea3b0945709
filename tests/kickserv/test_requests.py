"""What goes on the wire: URL, Basic auth token:token, query parameters and write bodies."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal

import httpx

from kickserv import KickservClient, credential_fingerprint

from .conftest import TOKEN, customer


def capture():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/jobs.json") and request.method == "POST":
            return httpx.Response(200, json={"id": 1, "job_number": 1001, "customer_id": 3})
        if request.method == "GET" and "page" in request.url.params:
            return httpx.Response(200, json=[])
        if request.url.path.endswith("tags.json"):
            return httpx.Response(200, json={"tags": json.loads(request.content)["tags"]})
        return httpx.Response(200, json=customer(1))

    return handler, seen


async def test_auth_is_basic_token_token_and_url_has_account_prefix(make_client):
    handler, seen = capture()
    ks = make_client(handler)
    await ks.customers.get(42)
    request = seen[0]
    expected = base64.b64encode(f"{TOKEN}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert str(request.url) == "https://kickserv.test/demo/api/v2/customers/42.json"


async def test_job_create_puts_customer_number_beside_the_job(make_client):
    handler, seen = capture()
    ks = make_client(handler)
    job = await ks.jobs.create(8, job_type_id=24551, description="Fix", total=Decimal("1.50"))
    assert job.job_number == 1001
    assert json.loads(seen[0].content) == {
        "job": {"job_type_id": 24551, "description": "Fix", "total": "1.50"},
        "customer_number": 8,
    }
    assert seen[0].headers["Content-Type"] == "application/json"


async def test_list_filters_become_query_parameters(make_client):
    handler, seen = capture()
    ks = make_client(handler)
    await ks.tasks.list(job_id=5, from_=date(2024, 3, 1), to=date(2024, 3, 8), per_page=10).page(2)
    await ks.payments.list(customer_number=2673, sort_by="created_at", sort_order="DESC").page()
    await ks.job_types.list(all=True).page()
    tasks, payments, job_types = (dict(r.url.params) for r in seen)
    assert tasks == {
        "job_id": "5",
        "from": "2024-03-01",
        "to": "2024-03-08",
        "page": "2",
        "per_page": "10",
    }
    assert payments["customer_id"] == "2673" and payments["sort_order"] == "DESC"
    assert "customer_number" not in payments
    assert job_types["all"] == "true"


async def test_tags_are_replaced_wholesale(make_client):
    handler, seen = capture()
    ks = make_client(handler)
    tags = await ks.customers.replace_tags(3, ["vip", "gate"])
    assert tags == ("vip", "gate")
    assert seen[0].method == "PUT"
    assert json.loads(seen[0].content) == {"tags": ["vip", "gate"]}


async def test_own_http_client_is_opened_and_closed():
    async with KickservClient("demo", TOKEN, base_url="http://127.0.0.1:9") as ks:
        http = ks._transport._http
        assert not http.is_closed
    assert http.is_closed


async def test_injected_http_client_is_left_open(make_client):
    handler, _ = capture()
    ks = make_client(handler)
    http = ks._transport._http
    await ks.aclose()
    assert not http.is_closed


def test_fingerprint_is_stable_short_and_secret_free():
    a = credential_fingerprint("demo", TOKEN)
    assert a == credential_fingerprint("demo", TOKEN)
    assert a != credential_fingerprint("acme", TOKEN)
    assert a != credential_fingerprint("demo", TOKEN + "x")
    assert len(a) == 16 and TOKEN not in a
    ks = KickservClient("demo", TOKEN)
    assert ks.credential_fingerprint == a
    assert TOKEN not in repr(ks)
