"""The read side of the read-your-writes test: 50 writes, and for each every path the graph offers
to what it changed (root fields by number and by global id, ``_entities`` by either key, listings,
relations), as queries with what to look at in their answers.

A round reads every path on replica B (which caches what it read), writes on replica A, then reads
every path on B again right after A acknowledged: each must show the write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.replicas.writes import ADD_NOTE, CREATE_JOB, PAY, Seeded

UPDATE_CUSTOMER = """mutation($n: Int!, $input: CustomerInput!, $key: String) {
  updateCustomer(number: $n, input: $input, idempotencyKey: $key) { number } }"""
UPDATE_JOB = """mutation($j: Int!, $input: JobChangesInput!, $key: String) {
  updateJob(number: $j, input: $input, idempotencyKey: $key) { number } }"""
ADD_LINE_ITEM = """mutation($j: Int!, $d: String!, $key: String) {
  addLineItems(jobNumber: $j, lineItems: [{description: $d, pricePerUnit: "5"}],
    idempotencyKey: $key) { number } }"""

RESCHEDULE = """mutation($id: ID!, $startsAt: DateTime!, $key: String) {
  rescheduleTask(id: $id, startsAt: $startsAt, idempotencyKey: $key) { id } }"""

Look = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class ReadPath:
    """One way to read what a write changes: a query and what to look at in its data."""

    name: str
    query: str
    variables: dict[str, Any]
    look: Look
    # Whether what it looked at after the write (and before it) shows the write; None: the round's.
    shows: Callable[[Any, Any], bool] | None = None


@dataclass
class Round:
    """One write on A and the paths B must show it on."""

    kind: str
    write: str
    variables: dict[str, Any]
    paths: list[ReadPath]
    shows: Callable[[Any], bool]  # of what a path looked at: does it show the write?

    def shown(self, path: ReadPath, value: Any, before: Any) -> bool:
        """Does ``value`` (read on ``path`` after the write; ``before``: read before it) show it?"""
        return self.shows(value) if path.shows is None else path.shows(value, before)


def lower(value: Any, before: Any) -> bool:
    """A balance after a payment: below what was read before it."""
    return value is not None and before is not None and Decimal(value) < Decimal(before)


def entities(typename: str, rep: dict[str, Any], selection: str) -> tuple[str, dict[str, Any]]:
    query = (
        "query($r: [_Any!]!) { _entities(representations: $r) "
        f"{{ ... on {typename} {{ {selection} }} }} }}"
    )
    return query, {"r": [{"__typename": typename, **rep}]}


def entity(data: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = data["_entities"][0] or {}
    return found


def values(items: list[dict[str, Any]] | None, key: str) -> set[Any]:
    return {item[key] for item in items or ()}


def customer_paths(customer: dict[str, Any], field: str, job: int | None = None) -> list[ReadPath]:
    """A customer's scalar ``field`` by id, by number, through ``_entities`` (both keys), in the
    customers listing and, given a job of the customer, through the job."""
    n, cid = customer["customer_number"], str(customer["id"])
    paths = [
        ReadPath(
            "customer(id)",
            f"query($id: ID) {{ customer(id: $id) {{ {field} }} }}",
            {"id": cid},
            lambda d: d["customer"][field],
        ),
        ReadPath(
            "_entities Customer(id)",
            *entities("Customer", {"id": cid}, field),
            lambda d: entity(d)[field],
        ),
        ReadPath(
            "_entities Customer(number)",
            *entities("Customer", {"number": n}, field),
            lambda d: entity(d)[field],
        ),
        ReadPath(
            "customer(number)",
            f"query($n: Int) {{ customer(number: $n) {{ {field} }} }}",
            {"n": n},
            lambda d: d["customer"][field],
        ),
        ReadPath(
            "customers(first: 100)",
            f"query {{ customers(first: 100) {{ nodes {{ number {field} }} }} }}",
            {},
            lambda d: next((c[field] for c in d["customers"]["nodes"] if c["number"] == n), None),
        ),
    ]
    if job is not None:
        paths.append(
            ReadPath(
                "job(number).customer",
                f"query($j: Int) {{ job(number: $j) {{ customer {{ {field} }} }} }}",
                {"j": job},
                lambda d: d["job"]["customer"][field],
            )
        )
    return paths


def job_paths(job: dict[str, Any], selection: str, look: Look) -> list[ReadPath]:
    """A job's ``selection`` by id, by number and through ``_entities`` (both keys); ``look``
    takes the job object."""
    j, jid = job["job_number"], str(job["id"])
    return [
        ReadPath(
            "job(id)",
            f"query($id: ID) {{ job(id: $id) {{ {selection} }} }}",
            {"id": jid},
            lambda d: look(d["job"]),
        ),
        ReadPath(
            "_entities Job(id)",
            *entities("Job", {"id": jid}, selection),
            lambda d: look(entity(d)),
        ),
        ReadPath(
            "_entities Job(number)",
            *entities("Job", {"number": j}, selection),
            lambda d: look(entity(d)),
        ),
        ReadPath(
            "job(number)",
            f"query($j: Int) {{ job(number: $j) {{ {selection} }} }}",
            {"j": j},
            lambda d: look(d["job"]),
        ),
    ]


def rename(customer: dict[str, Any], job: int | None, new: str) -> Round:
    """A name: glue other records embed (jobs, payments, tasks)."""
    variables = {"n": customer["customer_number"], "input": {"name": new}}
    paths = customer_paths(customer, "name", job)
    return Round("rename customer", UPDATE_CUSTOMER, variables, paths, lambda v: v == new)


def new_mobile(customer: dict[str, Any], mobile: str) -> Round:
    """A field of the customer's own record only (nothing else embeds it)."""
    variables = {"n": customer["customer_number"], "input": {"mobile": mobile}}
    paths = customer_paths(customer, "mobile")
    return Round("customer mobile", UPDATE_CUSTOMER, variables, paths, lambda v: v == mobile)


def job_note(job: dict[str, Any], body: str) -> Round:
    paths = job_paths(job, "notes { body }", lambda o: values(o["notes"], "body"))
    variables = {"j": job["job_number"], "body": body}
    return Round("add job note", ADD_NOTE, variables, paths, lambda v: body in v)


def line_item(job: dict[str, Any], description: str) -> Round:
    look: Look = lambda o: values(o["lineItems"], "description")  # noqa: E731
    paths = job_paths(job, "lineItems { description }", look)
    customer = job["customer_number"]
    paths.append(
        ReadPath(
            "customer(number).jobs.lineItems",
            "query($n: Int) { customer(number: $n) { jobs(first: 100) "
            "{ nodes { number lineItems { description } } } } }",
            {"n": customer},
            lambda d: set().union(*(look(o) for o in d["customer"]["jobs"]["nodes"])),
        )
    )
    variables = {"j": job["job_number"], "d": description}
    return Round("add line item", ADD_LINE_ITEM, variables, paths, lambda v: description in v)


def job_description(job: dict[str, Any], text: str) -> Round:
    j = job["job_number"]
    paths = job_paths(job, "description", lambda o: o["description"])
    paths.append(
        ReadPath(
            "customer(number).jobs",
            "query($n: Int) { customer(number: $n) { jobs(first: 100) "
            "{ nodes { number description } } } }",
            {"n": job["customer_number"]},
            lambda d: next(
                (o["description"] for o in d["customer"]["jobs"]["nodes"] if o["number"] == j),
                None,
            ),
        )
    )
    variables = {"j": j, "input": {"description": text}}
    return Round("edit job", UPDATE_JOB, variables, paths, lambda v: v == text)


def new_job(customer: dict[str, Any], job_type: str, name: str) -> Round:
    n, cid = customer["customer_number"], str(customer["id"])
    jobs = "jobs(first: 100) { nodes { name } }"
    paths = [
        ReadPath(
            "_entities Customer(id).jobs",
            *entities("Customer", {"id": cid}, jobs),
            lambda d: values(entity(d)["jobs"]["nodes"], "name"),
        ),
        ReadPath(
            "customer(number).jobs",
            f"query($n: Int) {{ customer(number: $n) {{ {jobs} }} }}",
            {"n": n},
            lambda d: values(d["customer"]["jobs"]["nodes"], "name"),
        ),
        ReadPath(
            "jobs(first: 30)",
            "query { jobs(first: 30) { nodes { name } } }",
            {},
            lambda d: values(d["jobs"]["nodes"], "name"),
        ),
    ]
    spec = {"customerNumber": n, "jobTypeId": job_type, "name": name}
    return Round("create job", CREATE_JOB, {"input": spec}, paths, lambda v: name in v)


def payment(job: dict[str, Any], ref: str) -> Round:
    paths = job_paths(job, "payments { refNumber }", lambda o: values(o["payments"], "refNumber"))
    customer = job["customer_number"]
    paths += [
        ReadPath(
            "payments(customerNumber)",
            "query($n: Int) { payments(customerNumber: $n, first: 100) { nodes { refNumber } } }",
            {"n": customer},
            lambda d: values(d["payments"]["nodes"], "refNumber"),
        ),
        ReadPath(
            "customer(number).payments",
            "query($n: Int) { customer(number: $n) "
            "{ payments(first: 100) { nodes { refNumber } } } }",
            {"n": customer},
            lambda d: values(d["customer"]["payments"]["nodes"], "refNumber"),
        ),
    ]
    jid = str(job["id"])
    invoice = "{ balanceRemaining }"
    paths += [  # the money a payment moves: lower after it than before, wherever it is read
        ReadPath(
            "job(number).balanceRemaining",
            "query($j: Int) { job(number: $j) { balanceRemaining } }",
            {"j": job["job_number"]},
            lambda d: d["job"]["balanceRemaining"],
            lower,
        ),
        ReadPath(
            "customer(number).balance",
            "query($n: Int) { customer(number: $n) { balance } }",
            {"n": customer},
            lambda d: d["customer"]["balance"],
            lower,
        ),
        ReadPath(
            "invoice(id).balanceRemaining",
            f"query($id: ID!) {{ invoice(id: $id) {invoice} }}",
            {"id": jid},
            lambda d: d["invoice"]["balanceRemaining"],
            lower,
        ),
        ReadPath(
            "_entities Invoice(id).balanceRemaining",
            *entities("Invoice", {"id": jid}, "balanceRemaining"),
            lambda d: entity(d)["balanceRemaining"],
            lower,
        ),
        ReadPath(
            "invoices(UNPAID).balanceRemaining",
            "query { invoices(status: UNPAID, first: 100) { nodes { id balanceRemaining } } }",
            {},
            lambda d: next(
                (i["balanceRemaining"] for i in d["invoices"]["nodes"] if i["id"] == jid), None
            ),
            lower,
        ),
    ]
    variables = {"j": job["job_number"], "input": {"amount": "1.00", "refNumber": ref}}
    return Round("record payment", PAY, variables, paths, lambda v: ref in v)


def reschedule(task: dict[str, Any], starts_at: str) -> Round:
    tid, j = str(task["id"]), task["job"]["job_number"]
    paths = [
        ReadPath(
            "task(id)",
            "query($id: ID!) { task(id: $id) { startsAt } }",
            {"id": tid},
            lambda d: d["task"]["startsAt"],
        ),
        ReadPath(
            "_entities Task(id)",
            *entities("Task", {"id": tid}, "startsAt"),
            lambda d: entity(d)["startsAt"],
        ),
        ReadPath(
            "job(number).tasks",
            "query($j: Int) { job(number: $j) { tasks { id startsAt } } }",
            {"j": j},
            lambda d: next((t["startsAt"] for t in d["job"]["tasks"] if t["id"] == tid), None),
        ),
        ReadPath(
            "schedule(week)",
            'query { schedule(from: "2026-12-14", to: "2026-12-21", first: 100) '
            "{ nodes { id startsAt } } }",
            {},
            lambda d: next((t["startsAt"] for t in d["schedule"]["nodes"] if t["id"] == tid), None),
        ),
    ]
    variables = {"id": tid, "startsAt": starts_at}
    return Round("reschedule task", RESCHEDULE, variables, paths, lambda v: v == starts_at)


def rounds_of(seeded: Seeded, run: str) -> list[Round]:
    """50 writes: 10 renames, 6 mobile numbers, 6 new jobs (distinct customers); 6 notes, 6 line
    items, 6 descriptions (distinct jobs not invoiced); 4 tasks moved (of other jobs); 6 payments
    on the few unpaid jobs in turn (concurrent rounds only ever add to what another one reads, and
    lower what it owes)."""
    number_of = {c["id"]: c["customer_number"] for c in seeded.customers}
    top = [c for c in seeded.customers if not c.get("parent_id")]
    jobs = [{**j, "customer_number": number_of[j["customer_id"]]} for j in seeded.jobs]
    job_of: dict[int, int] = {}
    for job in jobs:
        job_of.setdefault(job["customer_id"], job["job_number"])
    plain = [j for j in jobs if not j["invoice_status"]][-18:]
    unpaid = [j for j in jobs if j["job_number"] in {u["job_number"] for u in seeded.unpaid}]
    taken = {j["id"] for j in plain + unpaid}
    tasks: list[dict[str, Any]] = []
    for task in seeded.tasks:
        if not task["completed"] and task["job_id"] not in taken and len(tasks) < 4:
            tasks.append(task)
            taken.add(task["job_id"])
    enough = len(top) >= 22 and len(plain) == 18 and unpaid and len(tasks) == 4
    assert enough, "the sandbox is too small for 50 rounds"
    minute = int(run, 16) % 60
    rounds = [rename(c, job_of.get(c["id"]), f"RYW {run} name {i}") for i, c in enumerate(top[:10])]
    rounds += [new_mobile(c, f"555-{run}-{i}") for i, c in enumerate(top[10:16])]
    rounds += [new_job(c, seeded.job_type, f"RYW {run} job {i}") for i, c in enumerate(top[16:22])]
    rounds += [job_note(j, f"RYW {run} note {i}") for i, j in enumerate(plain[:6])]
    rounds += [line_item(j, f"RYW {run} item {i}") for i, j in enumerate(plain[6:12])]
    rounds += [job_description(j, f"RYW {run} text {i}") for i, j in enumerate(plain[12:])]
    rounds += [payment(unpaid[i % len(unpaid)], f"RYW{run}-{i}") for i in range(6)]
    rounds += [
        reschedule(t, f"2026-12-{15 + i}T10:{minute:02d}:00-05:00") for i, t in enumerate(tasks)
    ]
    return rounds
