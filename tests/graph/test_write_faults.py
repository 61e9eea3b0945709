"""200 mutations retried through injected failures, then the sandbox's records counted.

The sandbox fails writes before they apply (a 429, a dropped connection, a hang past the client's
timeout) and after they apply (a 500, a dropped connection mid-answer, a hang), at modest rates.
Each mutation is retried by the client with its idempotency key until it succeeds (its first attempt twice at
once, so concurrent duplicates meet faults too). Afterwards every write must be in the sandbox
exactly once: zero duplicates, zero lost.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

from resolvers.writes.steps import WritePolicy
from sandbox.knobs import FaultRule
from tests.graph.write_harness import graph_over_sandbox

WRITES = "P*"  # POST and PUT; reads are never failed here, they have their own retries
BEFORE = [
    FaultRule(method=WRITES, when="before", action="error", status=429, probability=0.06),
    FaultRule(method=WRITES, when="before", action="drop", probability=0.09),
    FaultRule(method=WRITES, when="before", action="timeout", probability=0.12),
]
AFTER = [  # one roll per request: each rule fires on its slice of [0, 1)
    FaultRule(method=WRITES, when="after", action="error", status=500, probability=0.06),
    FaultRule(method=WRITES, when="after", action="drop", probability=0.10),
    FaultRule(method=WRITES, when="after", action="timeout", probability=0.13),
]
RETRIABLE = {"UPSTREAM_UNAVAILABLE", "UPSTREAM_RATE_LIMITED", "IDEMPOTENCY_KEY_IN_USE"}
MAX_ATTEMPTS = 40
# One send per step and request: every failure goes back to the client, whose retry must resume
# from the journal (the looking-before-re-sending still happens within the request).
ONE_SEND = WritePolicy(write_timeout=0.3, attempts=1, max_rate_wait=0.0, settle=0.0)

CREATE_JOB = """mutation($input: CreateJobInput!, $key: String) {
  createJob(input: $input, idempotencyKey: $key) { number } }"""
PAY = """mutation($n: Int!, $input: PaymentInput!, $key: String) {
  recordPayment(jobNumber: $n, input: $input, idempotencyKey: $key) { id } }"""
NOTE = """mutation($c: Int!, $body: String!, $key: String) {
  addCustomerNote(customerNumber: $c, input: {body: $body}, idempotencyKey: $key) { id } }"""
CUSTOMER = """mutation($name: String!, $key: String) {
  createCustomer(input: {name: $name}, idempotencyKey: $key) { number } }"""


def plan(store) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, query, variables) for 200 mutations: 80 job creates (2 line items and a task each),
    40 payments, 40 customer notes, 40 customer creates."""
    job_type = str(next(iter(store.job_types)))
    employee = str(sorted(store.employees)[0])
    unpaid = sorted(j.number for j in store.jobs.values() if j.invoice_status == "unpaid")
    customers = sorted(store.customers_by_number)
    mutations = []
    for i in range(80):
        spec = {
            "customerNumber": customers[i % len(customers)],
            "jobTypeId": job_type,
            "name": f"Fault job {i}",
            "description": f"Booked online #{i}",
            "lineItems": [
                {"description": "Labor", "quantity": "1.5", "pricePerUnit": "80"},
                {"description": "Parts", "pricePerUnit": f"{10 + i}.25"},
            ],
            "tasks": [
                {"startsAt": f"2026-12-{1 + i % 28:02d}T09:00:00-05:00", "assigneeIds": [employee]}
            ],
        }
        mutations.append(("job", CREATE_JOB, {"input": spec}))
    for i in range(40):
        payment = {"amount": "1.00", "paymentType": "Check", "refNumber": f"R{i}"}
        mutations.append(("payment", PAY, {"n": unpaid[i % len(unpaid)], "input": payment}))
    for i in range(40):
        body = {"c": customers[i % len(customers)], "body": f"Fault note {i}"}
        mutations.append(("note", NOTE, body))
    for i in range(40):
        mutations.append(("customer", CUSTOMER, {"name": f"Fault Customer {i}"}))
    return mutations


def count_faults(knobs) -> Counter[str]:
    """Wraps the sandbox's fault roll so each fired rule is counted."""
    fired: Counter[str] = Counter()
    roll = knobs.fault_for

    def counted(method: str, path: str, when: str, dice: float) -> FaultRule | None:
        rule = roll(method, path, when, dice)
        if rule is not None:
            fired[f"{rule.when} {rule.action} {rule.status if rule.action == 'error' else ''}"] += 1
        return rule

    knobs.fault_for = counted
    return fired


async def test_200_retried_mutations_leave_no_duplicate_and_lose_nothing():
    async with graph_over_sandbox(ONE_SEND, customers=30) as h:
        store = h.store
        mutations = plan(store)
        jobs_before = len(store.jobs)
        payments_before = len(store.payments)
        knobs = h.sandbox.state.knobs
        fired = count_faults(knobs)
        knobs.faults = [*BEFORE, *AFTER]
        attempts: list[int] = []
        refused: list[Any] = []
        turns = asyncio.Semaphore(10)

        async def until_done(index: int, query: str, variables: dict[str, Any]) -> None:
            variables = {**variables, "key": f"fault-{index}"}
            async with turns:
                for attempt in range(1, MAX_ATTEMPTS + 1):
                    copies = 2 if attempt == 1 else 1  # a duplicate racing the first attempt
                    answers = await asyncio.gather(
                        *(h.gql(query, variables) for _ in range(copies))
                    )
                    codes = {e["extensions"]["code"] for a in answers for e in a.get("errors", ())}
                    if codes - RETRIABLE:
                        refused.append((index, answers))
                        return
                    if any("errors" not in a for a in answers):
                        attempts.append(attempt)
                        return
                refused.append((index, "gave up"))

        await asyncio.gather(*(until_done(i, q, v) for i, (_, q, v) in enumerate(mutations)))
        knobs.faults = []

        # then: count what the sandbox holds
        assert refused == []
        assert len(attempts) == 200
        jobs = Counter(j.name for j in store.jobs.values() if j.name.startswith("Fault job "))
        charges_ok = tasks_ok = clean = 0
        for job in store.jobs.values():
            if not job.name.startswith("Fault job "):
                continue
            i = int(job.name.rsplit(" ", 1)[1])
            prices = sorted(store.charges[c].price_per_unit for c in job.charge_ids)
            charges_ok += prices == sorted([Decimal("80"), Decimal(f"{10 + i}.25")])
            tasks_ok += len(job.task_ids) == 1
            clean += job.description == f"Booked online #{i}"
        payments = Counter(p.ref_number for p in store.payments.values() if p.ref_number)
        notes = Counter(n.body for n in store.notes.values() if n.body.startswith("Fault note "))
        customers = Counter(
            c.name for c in store.customers.values() if c.name.startswith("Fault Customer ")
        )
        expected = {
            "job": (jobs, [f"Fault job {i}" for i in range(80)]),
            "payment": (payments, [f"R{i}" for i in range(40)]),
            "note": (notes, [f"Fault note {i}" for i in range(40)]),
            "customer": (customers, [f"Fault Customer {i}" for i in range(40)]),
        }
        duplicates = {k: sum(max(0, c[n] - 1) for n in names) for k, (c, names) in expected.items()}
        lost = {k: sum(c[n] == 0 for n in names) for k, (c, names) in expected.items()}
        faults = sum(fired.values())
        print(
            f"\n200 mutations, {sum(attempts)} attempts (max {max(attempts)}), "
            f"{faults} injected faults {dict(fired)}; duplicates {duplicates}, lost {lost}; "
            f"jobs with both line items {charges_ok}/80, with their task {tasks_ok}/80, "
            f"without marker {clean}/80"
        )
        assert sum(duplicates.values()) == 0 and sum(lost.values()) == 0
        assert charges_ok == tasks_ok == clean == 80
        assert len(store.jobs) == jobs_before + 80
        assert len(store.payments) == payments_before + 40
        assert faults >= 50  # the faults really happened (about a quarter of the writes)
        assert max(attempts) > 1
