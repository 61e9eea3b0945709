"""Jobs and invoices, read back after they are written (PO number, tax rate, invoice notes), and a
status change that records when work started and was completed; over the sandbox on a real port."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.choices import STRICT
from tests.graph.write_harness import Harness, data_of, error_of, graph_over_sandbox

CREATE = """mutation($input: CreateJobInput!) { createJob(input: $input) { number poNumber } }"""
UPDATE = """mutation($n: Int!, $input: JobChangesInput!) {
  updateJob(number: $n, input: $input) { status poNumber startedOn completedOn } }"""
JOB = """query($n: Int!) { job(number: $n) { poNumber taxRate startedOn completedOn } }"""


async def new_job(h: Harness, **extra: Any) -> int:
    customer = next(iter(h.store.customers.values())).number
    spec = {
        "customerNumber": customer,
        "jobTypeId": str(next(iter(h.store.job_types))),
        "name": "Boiler Service",
        "lineItems": [{"description": "Labor", "pricePerUnit": "120", "taxable": True}],
        **extra,
    }
    created = data_of(await h.gql(CREATE, {"input": spec}))["createJob"]
    number: int = created["number"]
    return number


async def test_a_po_number_is_read_back() -> None:
    async with graph_over_sandbox() as h:
        number = await new_job(h, poNumber="PO-7781")
        assert data_of(await h.gql(JOB, {"n": number}))["job"]["poNumber"] == "PO-7781"
        data_of(await h.gql(UPDATE, {"n": number, "input": {"poNumber": "PO-7782"}}))
        assert data_of(await h.gql(JOB, {"n": number}))["job"]["poNumber"] == "PO-7782"
        listed = data_of(await h.gql("{ jobs(first: 5) { nodes { number poNumber } } }"))
        assert {"number": number, "poNumber": "PO-7782"} in listed["jobs"]["nodes"]


async def test_a_status_change_records_start_and_completion_times() -> None:
    async with graph_over_sandbox() as h:
        number = await new_job(h)
        started = "2026-11-21T08:12:05-05:00"
        moved = data_of(
            await h.gql(
                UPDATE, {"n": number, "input": {"status": "IN_PROGRESS", "startedAt": started}}
            )
        )["updateJob"]
        assert moved["status"] == "in_progress" and moved["startedOn"] is not None
        completed = "2026-11-21T10:55:12-05:00"
        done = data_of(
            await h.gql(
                UPDATE, {"n": number, "input": {"status": "COMPLETE", "completedAt": completed}}
            )
        )["updateJob"]
        read = data_of(await h.gql(JOB, {"n": number}))["job"]
        assert done["status"] == "complete"
        assert (read["startedOn"], read["completedOn"]) == (done["startedOn"], done["completedOn"])
        kept = h.store.jobs_by_number[number]
        assert kept.completed_on is not None
        assert read["completedOn"] == kept.completed_on.isoformat()  # what Kickserv kept, shown
        if h.store.choices is STRICT:  # Kickserv stamps its own times and ignores the ones sent
            assert datetime.fromisoformat(read["startedOn"]) != datetime.fromisoformat(started)
        else:
            assert datetime.fromisoformat(read["startedOn"]) == datetime.fromisoformat(started)
            assert datetime.fromisoformat(read["completedOn"]) == datetime.fromisoformat(completed)


async def test_completion_before_start_is_refused_before_any_write() -> None:
    async with graph_over_sandbox() as h:
        number = await new_job(h)
        h.sandbox.reset_requests()
        times = {
            "startedAt": "2026-11-21T10:00:00-05:00",
            "completedAt": "2026-11-21T09:00:00-05:00",
        }
        refused = error_of(await h.gql(UPDATE, {"n": number, "input": times}))
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert h.writes() == []


async def test_invoice_notes_tax_rate_and_po_number_are_read_back() -> None:
    async with graph_over_sandbox() as h:
        number = await new_job(h, poNumber="PO-1")
        invoice = """mutation($n: Int!) { invoiceJob(jobNumber: $n, input: {
            invoiceDate: "2026-11-21", notes: "Thank you for your business.", taxRate: "7.5"
          }) { id notes taxRate poNumber } }"""
        answered = data_of(await h.gql(invoice, {"n": number}))["invoiceJob"]
        want = {"notes": "Thank you for your business.", "taxRate": "7.5", "poNumber": "PO-1"}
        assert {k: answered[k] for k in want} == {**want, "taxRate": answered["taxRate"]}
        assert Decimal(answered["taxRate"]) == Decimal("7.5")
        by_id = """query($id: ID!) { invoice(id: $id) { notes taxRate poNumber } }"""
        found = data_of(await h.gql(by_id, {"id": answered["id"]}))["invoice"]
        listed = data_of(
            await h.gql("{ invoices(first: 5) { nodes { id notes taxRate poNumber } } }")
        )["invoices"]["nodes"]
        entry = next(i for i in listed if i["id"] == answered["id"])
        through_job = data_of(
            await h.gql(
                "query($n: Int!) { job(number: $n) { taxRate invoice { notes } } }", {"n": number}
            )
        )["job"]
        for seen in (found, {k: entry[k] for k in want}):
            assert seen["notes"] == want["notes"] and seen["poNumber"] == "PO-1"
            assert Decimal(seen["taxRate"]) == Decimal("7.5")
        assert through_job["invoice"]["notes"] == want["notes"]
        assert Decimal(through_job["taxRate"]) == Decimal("7.5")


async def test_a_jobs_payment_request() -> None:
    async with graph_over_sandbox(customers=80) as h:  # enough invoices for a payment request
        job = next(j for j in h.store.jobs.values() if j.payment_request_cents is not None)
        other = next(j for j in h.store.jobs.values() if j.payment_request_cents is None)
        query = "query($n: Int!) { job(number: $n) { paymentRequest { amount paid } } }"
        found = data_of(await h.gql(query, {"n": job.number}))["job"]["paymentRequest"]
        assert job.payment_request_cents is not None
        assert Decimal(found["amount"]) == Decimal(job.payment_request_cents) / 100
        assert found["paid"] is False
        none = data_of(await h.gql(query, {"n": other.number}))["job"]["paymentRequest"]
        assert none is None


async def test_each_status_move_leaves_its_time() -> None:
    async with graph_over_sandbox() as h:
        number = await new_job(h)
        times = "onHoldSince canceledOn"
        query = f"query($n: Int!) {{ job(number: $n) {{ {times} }} }}"
        assert data_of(await h.gql(query, {"n": number}))["job"] == {
            "onHoldSince": None, "canceledOn": None,
        }  # fmt: skip
        for status in ("ON_HOLD", "CANCELED"):
            data_of(await h.gql(UPDATE, {"n": number, "input": {"status": status}}))
        moved = data_of(await h.gql(query, {"n": number}))["job"]
        kept = h.store.jobs_by_number[number]
        assert kept.on_hold is not None and kept.canceled_on is not None
        assert moved == {
            "onHoldSince": kept.on_hold.isoformat(), "canceledOn": kept.canceled_on.isoformat(),
        }  # fmt: skip
        opportunity = next(j for j in h.store.jobs.values() if j.status == "new")
        won = """mutation($n: Int!) { markOpportunityWon(number: $n) { wonOn lostOn } }"""
        answer = data_of(await h.gql(won, {"n": opportunity.number}))["markOpportunityWon"]
        assert answer == {"wonOn": "2026-11-21", "lostOn": None}
        read = """query($n: Int!) { opportunity(number: $n) { wonOn } }"""
        assert data_of(await h.gql(read, {"n": opportunity.number}))["opportunity"] == {
            "wonOn": "2026-11-21"
        }
