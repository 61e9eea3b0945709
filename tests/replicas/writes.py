"""The client side of the exactly-once test: 200 keyed mutations, how a careful client retries
them across replicas, and how the sandbox's records are counted afterwards (one marker each).

A mutation's marker is in what it writes (a customer's or job's name, a note's text, a payment's
reference), so counting the sandbox's records by marker tells duplicates (more than one), lost
writes (acknowledged, none), and writes reported failed that were applied.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from tests.replicas.harness import ACCOUNT, Answer, Replica, Sandbox, fault, post

RETRIABLE = {
    "UPSTREAM_UNAVAILABLE",
    "UPSTREAM_RATE_LIMITED",
    "IDEMPOTENCY_KEY_IN_USE",
    "STATE_UNAVAILABLE",
}
MAX_ATTEMPTS = 12
MANY = 100_000  # a fault rule's `times`: what is left of it says how often it fired
ONCE = range(150, 170)  # the mutations sent once by a client that does not retry


def faults(hard_paths: list[str]) -> list[dict[str, Any]]:
    """The sandbox's fault rules. One roll per request and moment; each rule fires on its slice of
    [0, 1) (the first matching rule whose probability is above the roll wins): 15 % of writes fail
    before they apply, 15 % after; on ``hard_paths`` 70 % before and 60 % after, so that writes
    sent there fail even after the server's own attempts."""
    hard = [
        rule
        for path in hard_paths
        for rule in (
            fault("before", "error", 0.2, status=500, path=path),
            fault("before", "drop", 0.45, path=path),
            fault("before", "timeout", 0.7, hang_s=3.0, path=path),
            fault("after", "error", 0.2, status=500, path=path),
            fault("after", "drop", 0.4, path=path),
            fault("after", "timeout", 0.6, hang_s=3.0, path=path),
        )
    ]
    return [
        {**rule, "times": MANY}
        for rule in [
            *hard,
            fault("before", "error", 0.05, status=500),
            fault("before", "drop", 0.10),
            fault("before", "timeout", 0.15, hang_s=3.0),
            fault("after", "error", 0.05, status=500),
            fault("after", "drop", 0.10),
            fault("after", "timeout", 0.15, hang_s=3.0),
        ]
    ]


def fired(rules: list[dict[str, Any]]) -> dict[str, int]:
    """How often each kind of fault fired (rules read back from the sandbox after the run)."""
    counts: Counter[str] = Counter()
    for rule in rules:
        hard = "" if rule["path"].endswith("/*") else " (hard)"
        counts[f"{rule['when']} {rule['action']}{hard}"] += MANY - int(rule["times"])
    return dict(counts)


CREATE_CUSTOMER = """mutation($name: String!, $key: String) {
  createCustomer(input: {name: $name}, idempotencyKey: $key) { id number name } }"""
CREATE_JOB = """mutation($input: CreateJobInput!, $key: String) {
  createJob(input: $input, idempotencyKey: $key) {
    id number name lineItems { description pricePerUnit } } }"""
ADD_NOTE = """mutation($j: Int!, $body: String!, $key: String) {
  addJobNote(jobNumber: $j, input: {body: $body}, idempotencyKey: $key) { id body } }"""
PAY = """mutation($j: Int!, $input: PaymentInput!, $key: String) {
  recordPayment(jobNumber: $j, input: $input, idempotencyKey: $key) { id amount refNumber } }"""
RENAME = """mutation($n: Int!, $name: String!, $key: String) {
  updateCustomer(number: $n, input: {name: $name}, idempotencyKey: $key) { number name } }"""


def run_id() -> str:
    return uuid.uuid4().hex[:6]


# -- what the sandbox holds -------------------------------------------------------------------------


@dataclass
class Seeded:
    """The sandbox records the mutations are made on."""

    customers: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    job_type: str
    tasks: list[dict[str, Any]]

    @classmethod
    def read(cls, sandbox: Sandbox) -> Seeded:
        customers = sorted(
            sandbox.list_all("customers.json", "customers"), key=lambda c: c["customer_number"]
        )
        jobs = sorted(sandbox.list_all("jobs.json", "jobs"), key=lambda j: j["job_number"])
        job_type = str(sandbox.get("job_types.json")["job_types"][0]["id"])
        tasks = sorted(sandbox.list_all("tasks.json", "tasks"), key=lambda t: t["id"])
        return cls(customers, jobs, job_type, tasks)

    @property
    def unpaid(self) -> list[dict[str, Any]]:
        """Invoiced jobs with money still owed (1.00 payments go on them)."""
        return [
            j
            for j in self.jobs
            if j["invoice_status"] == "unpaid" and Decimal(j["balance_remaining"] or 0) >= 20
        ]


def job_charges(sandbox: Sandbox, number: int) -> list[dict[str, Any]]:
    return sandbox.list_all(f"jobs/{number}/job_charges.json", "job_charges")


# -- exactly once under faults and crashes ----------------------------------------------------------


@dataclass
class Mutation:
    index: int
    kind: str  # customer, job, note, payment
    query: str
    variables: dict[str, Any]
    marker: str  # what identifies its record in the sandbox
    key: str
    once: bool = False  # sent once, never retried: a failure it is answered must be true
    answers: list[Answer] = field(default_factory=list)
    outcome: str = "pending"  # ok | refused | gave up | failed once (not retried)

    @property
    def successes(self) -> list[Answer]:
        return [a for a in self.answers if a.ok]

    def result_id(self) -> Any:
        """The record the acknowledged answer names (customer number, job number, id)."""
        data = self.successes[0].data
        value = next(iter(data.values()))
        return value.get("number", value.get("id"))


def plan(seeded: Seeded, run: str) -> list[Mutation]:
    """200 mutations: 70 createJob (two line items each), 50 createCustomer, 30 addJobNote and
    30 recordPayment interleaved, and at ``ONCE`` 20 addJobNote on two jobs of their own (their
    ``hard_paths`` are failed hard)."""
    numbers = [c["customer_number"] for c in seeded.customers if not c.get("parent_id")]
    note_jobs = [j["job_number"] for j in seeded.jobs[:10]]
    hard_jobs = [j["job_number"] for j in seeded.jobs[10:12]]
    unpaid = [j["job_number"] for j in seeded.unpaid]
    assert numbers and note_jobs and unpaid, "the sandbox has no customers, jobs or unpaid jobs"
    kinds = itertools.cycle(["job", "customer", "job", "note", "payment"] * 2 + ["job", "customer"])
    counts: Counter[str] = Counter()
    wanted = {"job": 70, "customer": 50, "note": 30, "payment": 30}
    mutations: list[Mutation] = []
    while len(mutations) < 200:
        i = len(mutations)
        key = f"x1-{run}-{i}"
        if i in ONCE:
            marker = f"RX {run} note {i}"
            variables = {"j": hard_jobs[i % 2], "body": marker}
            mutations.append(Mutation(i, "note", ADD_NOTE, variables, marker, key, once=True))
            continue
        kind = next(kinds)
        if counts[kind] == wanted[kind]:
            continue
        n = counts[kind]
        counts[kind] += 1
        if kind == "job":
            marker = f"RX {run} job {i}"
            spec = {
                "customerNumber": numbers[n % len(numbers)],
                "jobTypeId": seeded.job_type,
                "name": marker,
                "lineItems": [
                    {"description": "Labor", "quantity": "1.5", "pricePerUnit": "80"},
                    {"description": "Parts", "pricePerUnit": f"{10 + n}.25"},
                ],
            }
            mutations.append(Mutation(i, kind, CREATE_JOB, {"input": spec}, marker, key))
        elif kind == "customer":
            marker = f"RX {run} customer {i}"
            mutations.append(Mutation(i, kind, CREATE_CUSTOMER, {"name": marker}, marker, key))
        elif kind == "note":
            marker = f"RX {run} note {i}"
            variables = {"j": note_jobs[n % len(note_jobs)], "body": marker}
            mutations.append(Mutation(i, kind, ADD_NOTE, variables, marker, key))
        else:
            marker = f"RX{run}-{i}"
            payment = {"amount": "1.00", "paymentType": "Check", "refNumber": marker}
            variables = {"j": unpaid[n % len(unpaid)], "input": payment}
            mutations.append(Mutation(i, kind, PAY, variables, marker, key))
    return mutations


def hard_paths(mutations: list[Mutation]) -> list[str]:
    """Where the writes sent once go: the note listings of their two jobs."""
    jobs = sorted({m.variables["j"] for m in mutations if m.once})
    return [f"/{ACCOUNT}/api/v2/jobs/{j}/notes.json" for j in jobs]


def verdict(answer: Answer) -> str:
    """ok, retry (no answer, or only codes a client retries) or refused."""
    if answer.ok:
        return "ok"
    if answer.body is None:
        return "retry"  # refused, reset or dropped: the replica is down or died meanwhile
    codes = answer.codes
    if codes and codes <= RETRIABLE:
        return "retry"
    if not codes and (answer.status or 500) >= 500:
        return "retry"
    return "refused"


class Driver:
    """Sends mutations the way a careful client does: the same key on every attempt."""

    def __init__(self, client: httpx.AsyncClient, a: Replica, b: Replica) -> None:
        self.client = client
        self.a, self.b = a, b

    async def send(self, m: Mutation, replica: Replica) -> Answer:
        answer = await post(self.client, replica, m.query, {**m.variables, "key": m.key})
        m.answers.append(answer)
        return answer

    async def until_done(self, m: Mutation, order: Sequence[Replica]) -> None:
        """Attempts on ``order``'s replicas in turn (cycling) until one succeeds or refuses."""
        for replica in itertools.islice(itertools.cycle(order), MAX_ATTEMPTS):
            result = verdict(await self.send(m, replica))
            if result != "retry":
                m.outcome = result
                return
            await asyncio.sleep(0.05)
        m.outcome = "gave up"

    async def once(self, m: Mutation, replica: Replica) -> None:
        """One attempt, whatever it answers (a client that does not retry)."""
        m.outcome = "ok" if (await self.send(m, replica)).ok else "failed once"

    async def first_then_elsewhere(self, m: Mutation, race: bool) -> None:
        """The first attempt on A (raced by a copy on B when ``race``), then on B whatever A
        answered (a client that lost A's answer), then both in turn until done."""
        firsts = [self.send(m, self.a)] + ([self.send(m, self.b)] if race else [])
        answers = await asyncio.gather(*firsts)
        results = {verdict(a) for a in answers}
        if "refused" in results:
            m.outcome = "refused"
            return
        await self.until_done(m, [self.b, self.a])


@dataclass
class Counted:
    """What the sandbox holds of the mutations' markers, and what that means."""

    duplicates: dict[str, int]
    lost: list[int]
    applied_but_failed: list[int]
    not_applied: list[int]  # reported failed and not applied: a failure, but an honest one
    wrong_record: list[int]  # acknowledged with a record other than the one holding the marker
    orphans: list[int]  # jobs without both of their line items
    replays_differ: list[int]
    faults: dict[str, int]

    def clean(self) -> bool:
        return not (
            sum(self.duplicates.values())
            or self.lost
            or self.applied_but_failed
            or self.wrong_record
            or self.orphans
            or self.replays_differ
        )


def count_records(
    sandbox: Sandbox, mutations: list[Mutation], rules: list[dict[str, Any]]
) -> Counted:
    customers: dict[str, list[Any]] = {}
    for c in sandbox.list_all("customers.json", "customers"):
        customers.setdefault(c["name"], []).append(c["customer_number"])
    jobs: dict[str, list[Any]] = {}
    for j in sandbox.list_all("jobs.json", "jobs"):
        jobs.setdefault(j["name"] or "", []).append(j["job_number"])
    payments: dict[str, list[Any]] = {}
    for p in sandbox.list_all("payments.json", "payments"):
        payments.setdefault(p["ref_number"] or "", []).append(str(p["id"]))
    notes: dict[str, list[Any]] = {}
    for number in {m.variables["j"] for m in mutations if m.kind == "note"}:
        for n in sandbox.list_all(f"jobs/{number}/notes.json", "notes"):
            notes.setdefault(n["body"], []).append(str(n["id"]))
    held = {"customer": customers, "job": jobs, "payment": payments, "note": notes}

    duplicates: Counter[str] = Counter()
    lost, applied_but_failed, not_applied, wrong, orphans, differ = [], [], [], [], [], []
    for m in mutations:
        found = held[m.kind].get(m.marker, [])
        duplicates[m.kind] += max(0, len(found) - 1)
        if len({json.dumps(a.data, sort_keys=True) for a in m.successes}) > 1:
            differ.append(m.index)
        if m.outcome == "ok":
            if not found:
                lost.append(m.index)
            elif m.result_id() not in found:
                wrong.append(m.index)
        elif found:
            applied_but_failed.append(m.index)
        else:
            not_applied.append(m.index)
        if m.kind == "job":
            for number in found:
                prices = sorted(Decimal(c["price_per_unit"]) for c in job_charges(sandbox, number))
                parts = Decimal(m.variables["input"]["lineItems"][1]["pricePerUnit"])
                if prices != sorted([Decimal("80"), parts]):
                    orphans.append(m.index)
    return Counted(
        dict(duplicates),
        lost,
        applied_but_failed,
        not_applied,
        wrong,
        orphans,
        differ,
        fired(rules),
    )


def describe_failures(mutations: list[Mutation], indexes: list[int], limit: int = 4) -> str:
    lines = []
    for index in indexes[:limit]:
        m = mutations[index]
        lines.append(
            f"  #{index} {m.kind} {m.outcome}: " + " | ".join(a.describe() for a in m.answers)
        )
    return "\n".join(lines)
