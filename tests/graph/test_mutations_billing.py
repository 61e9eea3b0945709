"""Invoicing and payments against the sandbox over HTTP: exact totals, balances, validation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kickserv import Job
from resolvers.writes.errors import TotalsMismatch
from resolvers.writes.invoicing import check_totals, exact_totals
from tests.graph.write_harness import data_of, error_of, graph_over_sandbox, unsupported

CREATE_JOB = """
mutation Create($input: CreateJobInput!) { createJob(input: $input) { number } }
"""
INVOICE = """
mutation Invoice($n: Int!, $input: InvoiceInput!, $key: String) {
  invoiceJob(jobNumber: $n, input: $input, idempotencyKey: $key) {
    id number status invoiceDate terms subtotal tax total balanceRemaining
    lineItems { description total }
  }
}"""
PAY = """
mutation Pay($n: Int!, $input: PaymentInput!, $key: String) {
  recordPayment(jobNumber: $n, input: $input, idempotencyKey: $key) {
    amount paymentType refNumber invoice { balanceRemaining status } job { balanceRemaining }
  }
}"""

LINES = [
    {"description": "Labor", "quantity": "2.5", "pricePerUnit": "79.99", "taxable": False},
    {"description": "Filter", "quantity": "3", "pricePerUnit": "19.95", "discount": "5",
     "taxable": True},
    {"description": "Coil", "pricePerUnit": "212.40", "taxable": True},
]  # fmt: skip


async def _job(h) -> int:
    spec = {
        "customerNumber": 7,
        "jobTypeId": str(next(iter(h.store.job_types))),
        "lineItems": LINES,
    }
    return data_of(await h.gql(CREATE_JOB, {"input": spec}))["createJob"]["number"]


async def test_invoice_job_totals_are_exact_and_match_kickserv():
    async with graph_over_sandbox() as h:
        number = await _job(h)
        spec = {"invoiceDate": "2026-11-21", "terms": "Net 30", "taxRate": "8.25"}
        invoice = data_of(await h.gql(INVOICE, {"n": number, "input": spec, "key": "i1"}))[
            "invoiceJob"
        ]
        # 2.5 x 79.99 = 199.975 -> 199.98; 3 x 19.95 - 5 = 54.85; 212.40: subtotal 467.23
        # tax 8.25 % of (54.85 + 212.40 = 267.25) = 22.048125 -> 22.05
        assert Decimal(invoice["subtotal"]) == Decimal("467.23")
        assert Decimal(invoice["tax"]) == Decimal("22.05")
        assert Decimal(invoice["total"]) == Decimal("489.28")
        assert invoice["status"] == "UNPAID" and invoice["terms"] == "Net 30"
        assert invoice["invoiceDate"] == "2026-11-21" and len(invoice["lineItems"]) == 3
        assert h.store.jobs_by_number[number].invoice_status == "unpaid"


async def test_invoice_input_errors():
    async with graph_over_sandbox() as h:
        negative = error_of(await h.gql(INVOICE, {"n": 1, "input": {"taxRate": "-1"}}))
        assert negative["extensions"]["invalidFields"][0]["path"] == ["input", "taxRate"]
        missing = error_of(await h.gql(INVOICE, {"n": 999999, "input": {"terms": "Net 10"}}))
        assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_payments_update_balances_and_replay_once():
    async with graph_over_sandbox() as h:
        number = await _job(h)
        await h.gql(
            INVOICE, {"n": number, "input": {"invoiceDate": "2026-11-21", "taxRate": "8.25"}}
        )
        pay = {"amount": "100.00", "paymentType": "Check", "refNumber": "1042"}
        answer = await h.gql(PAY, {"n": number, "input": pay, "key": "p1"})
        if h.strict:  # a Kickserv without POST /jobs/{n}/payments.json: refused, nothing recorded
            unsupported(answer, "POST /jobs/{n}/payments.json")
            assert h.store.jobs_by_number[number].payment_ids == []
            return
        first = data_of(answer)["recordPayment"]
        assert first["invoice"] == {"balanceRemaining": "389.28", "status": "UNPAID"}
        assert first["job"]["balanceRemaining"] == "389.28"
        again = data_of(await h.gql(PAY, {"n": number, "input": pay, "key": "p1"}))["recordPayment"]
        assert again == first and len(h.store.jobs_by_number[number].payment_ids) == 1
        rest = {"amount": "389.28", "paymentType": "Cash"}
        paid = data_of(await h.gql(PAY, {"n": number, "input": rest}))["recordPayment"]
        assert paid["invoice"] == {"balanceRemaining": "0.0", "status": "PAID"}


async def test_payment_amounts_are_checked_before_kickserv():
    async with graph_over_sandbox() as h:
        h.sandbox.reset_requests()
        for amount in ("0", "-5", "10.005"):
            error = error_of(await h.gql(PAY, {"n": 1, "input": {"amount": amount}}))
            assert error["extensions"]["invalidFields"][0]["path"] == ["input", "amount"], amount
        assert h.sandbox.requests() == []


def _charge(price: str, quantity: str, taxable: bool, discount: str = "0") -> dict:
    return {"id": 1, "quantity": quantity, "price_per_unit": price, "discount": discount,
            "taxable": taxable}  # fmt: skip


def test_totals_are_summed_exactly_and_a_difference_is_refused():
    raw = {
        "id": 9, "job_number": 9, "sales_tax_percentage": "7.5",
        "job_charges": [_charge("0.10", "3", True), _charge("19.99", "1", False, "0.99")],
        "payments": [{"id": 2, "amount": "5.00"}],
        "subtotal": "19.3", "tax": "0.02", "total": "19.32", "balance_remaining": "14.32",
    }  # fmt: skip
    totals = exact_totals(Job.from_json(raw))
    assert (totals.subtotal, totals.tax, totals.total) == (
        Decimal("19.30"), Decimal("0.02"), Decimal("19.32"),
    )  # fmt: skip
    assert check_totals(Job.from_json(raw)).total == Decimal("19.32")
    with pytest.raises(TotalsMismatch) as caught:
        check_totals(Job.from_json({**raw, "tax": "0.03", "total": "19.33"}))
    assert caught.value.extensions["computed"]["tax"] == "0.02"
    assert caught.value.extensions["kickserv"]["tax"] == "0.03"


def test_without_taxable_keys_the_tax_is_checked_within_what_the_lines_allow():
    """The reference never shows a charge's `taxable`: a taxed job still checks (issue 14)."""
    lines = [_charge("10.00", "1", True), _charge("20.00", "1", True)]
    for line in lines:
        del line["taxable"]
    raw = {
        "id": 9, "job_number": 9, "sales_tax_percentage": "10", "job_charges": lines,
        "payments": [], "subtotal": "30.0", "tax": "2.0", "total": "32.0",
        "balance_remaining": "32.0",
    }  # fmt: skip
    assert check_totals(Job.from_json(raw)).tax == Decimal("2.0")  # only the 20.00 line taxed
    untotalled = {k: v for k, v in raw.items() if k != "total"}
    assert check_totals(Job.from_json(untotalled)).balance_remaining == Decimal("32.0")
    for tax in ("3.01", "-0.01"):  # above the tax on every line, or below none
        with pytest.raises(TotalsMismatch) as caught:
            check_totals(Job.from_json({**raw, "tax": tax, "total": str(30 + Decimal(tax))}))
        assert caught.value.extensions["computed"]["tax"] == "0.00..3.00"
    with pytest.raises(TotalsMismatch):  # the subtotal is still exact
        check_totals(Job.from_json({**raw, "subtotal": "30.01", "total": "32.01"}))
