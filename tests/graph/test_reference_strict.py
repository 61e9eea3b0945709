"""The graph against the strict reference sandbox, in every test run (scripts/test also runs the
query and mutation suites against it): writes to URLs the reference does not confirm answer
UPSTREAM_UNSUPPORTED with nothing applied, and a taxed invoice checks without `taxable` keys."""

from __future__ import annotations

from decimal import Decimal

from tests.graph.test_mutations_billing import INVOICE, PAY, _job
from tests.graph.write_harness import data_of, graph_over_sandbox, unsupported


async def test_a_write_kickserv_lacks_is_unsupported_and_applies_nothing():
    async with graph_over_sandbox(reference_strict=True) as h:
        number = await _job(h)
        h.sandbox.reset_requests()
        answer = await h.gql(PAY, {"n": number, "input": {"amount": "10.00"}})
        unsupported(answer, "POST /jobs/{n}/payments.json")
        assert "not confirm" in answer["errors"][0]["message"]
        assert [(w["method"], w["status"]) for w in h.writes()] == [("POST", 404)]  # sent once
        assert h.store.jobs_by_number[number].payment_ids == []


async def test_a_taxed_invoice_checks_without_taxable_keys():
    async with graph_over_sandbox(reference_strict=True) as h:
        number = await _job(h)
        detail = h.store.jobs_by_number[number]
        assert detail.charge_ids  # (the sandbox still knows which lines are taxable; it never says)
        spec = {"invoiceDate": "2026-11-21", "taxRate": "8.25"}
        invoice = data_of(await h.gql(INVOICE, {"n": number, "input": spec}))["invoiceJob"]
        assert Decimal(invoice["tax"]) == Decimal("22.05")
        assert Decimal(invoice["total"]) == Decimal("489.28")
