"""Money at its bounds (issue 11): amounts with huge exponents are refused as BAD_USER_INPUT on every
money input, and the largest amounts that are accepted go through the arithmetic of invoicing and
payments without an overflow (the ledger's exact sums, quantize to cents, a tax rate of 100%).
The real app over its built-in sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph.server.assembly import build_app
from graph.server.settings import Settings

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

HUGE = ["1e99999999", "9.99e999", "1E+30", "-1e-99999", "123456789012345678901234567890"]
LARGEST = "999999999.99"  # the largest amount, quantity, price or discount a write accepts

ADD = """mutation($n: Int!, $q: Decimal, $p: Decimal, $d: Decimal) {
  addLineItems(jobNumber: $n, lineItems: [
    {description: "a", quantity: $q, pricePerUnit: $p, discount: $d, taxable: true},
    {description: "b", quantity: $q, pricePerUnit: $p, taxable: true}]) { number total } }"""
UPDATE = """mutation($n: Int!, $id: ID!, $q: Decimal) {
  updateLineItem(jobNumber: $n, lineItemId: $id, input: {quantity: $q}) { number total } }"""
INVOICE = """mutation($n: Int!, $t: Decimal) {
  invoiceJob(jobNumber: $n, input: {taxRate: $t}) { total subtotal tax balanceRemaining } }"""
PAY = """mutation($n: Int!, $a: Decimal!) {
  recordPayment(jobNumber: $n, input: {amount: $a}) { amount } }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gql() -> AsyncIterator[Any]:
    app = build_app(Settings())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60
        ) as http,
    ):

        async def send(query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
            assert response.status_code < 500, response.text[:300]
            body: dict[str, Any] = response.json()
            codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or ()}
            return body, codes

        yield send


async def uninvoiced_jobs(gql: Any) -> list[dict[str, Any]]:
    body, _ = await gql(
        "{ jobs(first: 40) { nodes { number invoice { id } lineItems { id } } } }", {}
    )
    return [j for j in body["data"]["jobs"]["nodes"] if j["invoice"] is None and j["lineItems"]]


@MODULE_LOOP
@pytest.mark.parametrize("value", HUGE)
async def test_huge_exponents_are_bad_user_input_on_every_money_input(gql: Any, value: str) -> None:
    job = (await uninvoiced_jobs(gql))[0]
    line = job["lineItems"][0]["id"]
    for query, variables in (
        (PAY, {"n": job["number"], "a": value}),
        (ADD, {"n": job["number"], "q": value, "p": "1", "d": None}),
        (ADD, {"n": job["number"], "q": "1", "p": value, "d": None}),
        (ADD, {"n": job["number"], "q": "1", "p": "1", "d": value}),
        (UPDATE, {"n": job["number"], "id": line, "q": value}),
        (INVOICE, {"n": job["number"], "t": value}),
    ):
        body, codes = await gql(query, variables)
        assert codes == {"BAD_USER_INPUT"}, (query, body)


@MODULE_LOOP
async def test_the_largest_amounts_invoice_and_pay_without_overflow(gql: Any) -> None:
    job = (await uninvoiced_jobs(gql))[1]
    n = job["number"]
    body, codes = await gql(ADD, {"n": n, "q": LARGEST, "p": LARGEST, "d": "0.01"})
    assert not codes, body
    body, codes = await gql(INVOICE, {"n": n, "t": "99.9999999999"})
    assert codes <= {"TOTALS_MISMATCH"}, body  # an exact answer or a named mismatch, never a 500
    body, codes = await gql(PAY, {"n": n, "a": LARGEST})
    assert not codes, body
    body, codes = await gql(
        "query($n: Int!) { job(number: $n) { total balanceRemaining invoice { total } } }",
        {"n": n},
    )
    assert not codes and body["data"]["job"]["total"], body
