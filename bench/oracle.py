"""The minimum a scenario costs Kickserv, computed from the seeded data alone, never from an answer.

For each scenario the oracle lists what the answer needs (``Need``: the customer page, the job
listings of the customers on it, their tasks, ...) and, for each need, every access path the Kickserv
reference offers for it (``Path``: a per-parent listing, an account-wide listing read whole and
grouped on our side, a single-record GET, nothing when the parent's listing already says it is
empty). Each path is tagged with what the reference says of it: ``confirmed`` (a source shows it) or
``likely`` (the reference marks it [I]: "POST (and probably GET)", a v1 field assumed to carry over
to v2). A plan picks one path per need; its calls are the distinct listings it reads, its rounds
the longest chain of needs each of which waits for the one it is keyed by. The oracle enumerates
every plan (a handful of needs, two or three paths each) and reports the fewest calls and the fewest
rounds, over confirmed paths only and over confirmed and likely ones. bench/README.md ("Minimums")
lists the paths and the assumptions.

The data is a ``Dataset``: what the sandbox's store holds (``dataset_of``), or a hand-made one
(tests/bench/test_oracle.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

PER_PAGE = 100  # the largest page the sandbox serves (Kickserv's maximum is unknown)
JOB_STATUSES = ("unscheduled", "scheduled", "in_progress", "on_hold", "complete", "canceled")
CONFIRMED = "confirmed"
LIKELY = "likely"


def pages(count: int, per_page: int = PER_PAGE) -> int:
    """Pages of a listing of ``count`` entries; an empty listing still costs its one page."""
    return max(1, math.ceil(count / per_page))


# --- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRow:
    id: int
    number: int
    children: tuple[int, ...] = ()  # customer ids of its sub-customers (locations)


@dataclass(frozen=True)
class JobRow:
    id: int
    number: int
    customer_id: int
    status: str = "scheduled"
    invoice_date: date | None = None
    invoice_status: str | None = None


@dataclass(frozen=True)
class TaskRow:
    id: int
    job_id: int
    day: date


@dataclass(frozen=True)
class PaymentRow:
    id: int
    customer_id: int


@dataclass
class Dataset:
    """One account's records, as far as the minimums need them, in Kickserv's listing orders."""

    customers: list[CustomerRow]
    jobs: list[JobRow]
    tasks: list[TaskRow]
    payments: list[PaymentRow] = field(default_factory=list)
    per_page: int = PER_PAGE  # the largest page a listing serves

    def pages(self, count: int) -> int:
        return pages(count, self.per_page)

    def __post_init__(self) -> None:
        self.customers = sorted(self.customers, key=lambda c: c.number)
        self.jobs = sorted(self.jobs, key=lambda j: j.number, reverse=True)  # newest first
        self._tasks_of: dict[int, int] = {}
        for task in self.tasks:
            self._tasks_of[task.job_id] = self._tasks_of.get(task.job_id, 0) + 1

    def listed_jobs(self) -> list[JobRow]:
        """/jobs.json: jobs (not opportunities), newest number first."""
        return [j for j in self.jobs if j.status in JOB_STATUSES]

    def jobs_of(self, customer_id: int) -> list[JobRow]:
        return [j for j in self.listed_jobs() if j.customer_id == customer_id]

    def tasks_of(self, job_id: int) -> int:
        return self._tasks_of.get(job_id, 0)

    def invoices(self, status: str | None = None) -> list[JobRow]:
        """/invoices.json: jobs with an invoice date, newest invoice first."""
        found = [
            j
            for j in self.jobs
            if j.invoice_date is not None and (status is None or j.invoice_status == status)
        ]
        return sorted(found, key=lambda j: (j.invoice_date, j.number), reverse=True)

    def customer(self, number: int) -> CustomerRow:
        return next(c for c in self.customers if c.number == number)


def dataset_of(store: Any) -> Dataset:
    """A ``Dataset`` from a sandbox ``AccountStore`` (read only)."""
    return Dataset(
        customers=[
            CustomerRow(c.id, c.number, tuple(k for k in c.children if k in store.customers))
            for c in store.customers.values()
        ],
        jobs=[
            JobRow(j.id, j.number, j.customer_id, j.status, j.invoice_date, j.invoice_status)
            for j in store.jobs.values()
        ],
        tasks=[TaskRow(t.id, t.job_id, t.starts_at.date()) for t in store.tasks.values()],
        payments=[PaymentRow(p.id, p.customer_id) for p in store.payments.values()],
    )


# --- plans ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    """One way to answer a need. ``key`` names the upstream reads it makes: two needs answered by
    the same reads (same key) pay for them once. ``after``: the need whose answer this path is keyed
    by (None: keyed by the query alone). ``per_round``: its calls in each of its rounds, from its
    first (an account-wide listing read whole is ``(1, pages - 1)``: page 1 tells the page count,
    then the rest together); ``ready``: the round, counted from its first, by which this need's
    answer is in (None: its last; 1 when page 1 holds it)."""

    key: str
    what: str
    per_round: tuple[int, ...]
    tier: str = CONFIRMED
    after: str | None = None
    ready: int | None = None

    @property
    def calls(self) -> int:
        return sum(self.per_round)

    @property
    def ready_round(self) -> int:
        return self.ready if self.ready is not None else len(self.per_round)


def single(
    key: str, what: str, calls: int, tier: str = CONFIRMED, after: str | None = None
) -> Path:
    """``calls`` reads that all go out together (none of them: nothing to read)."""
    return Path(key, what, (calls,) if calls else (), tier, after)


@dataclass(frozen=True)
class Need:
    name: str
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class Plan:
    paths: tuple[tuple[str, Path], ...]  # (need, path) per need
    calls: int
    rounds: int
    levels: tuple[int, ...]  # calls per round

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "rounds": self.rounds,
            "levels": list(self.levels),
            "paths": {need: f"{p.what} ({p.calls})" for need, p in self.paths},
        }


def evaluate(choice: Sequence[tuple[str, Path]]) -> Plan:
    """Calls and rounds of one plan: a need starts the round after the need it is keyed by is in."""
    start: dict[str, int] = {}
    ready: dict[str, int] = {}
    for need, path in choice:  # needs come after the needs they are keyed by
        begin = 1 if path.after is None else ready[path.after] + 1
        start[need] = begin
        ready[need] = begin + path.ready_round - 1
    per_round: dict[int, int] = {}
    seen: set[str] = set()
    for need, path in choice:
        if path.key in seen:
            continue
        seen.add(path.key)
        for offset, calls in enumerate(path.per_round):
            if calls:
                at = start[need] + offset
                per_round[at] = per_round.get(at, 0) + calls
    rounds = max(per_round, default=0)
    levels = tuple(per_round.get(r, 0) for r in range(1, rounds + 1))
    return Plan(tuple(choice), sum(levels), rounds, levels)


def plans(needs: Sequence[Need], tiers: Iterable[str]) -> list[Plan]:
    allowed = set(tiers)
    options = [[(n.name, p) for p in n.paths if p.tier in allowed] for n in needs]
    return [evaluate(choice) for choice in itertools.product(*options)]


@dataclass(frozen=True)
class Minimum:
    """The fewest calls (``by_calls``, its rounds) and the fewest rounds (``by_rounds``, its calls)
    over every plan of the tier."""

    by_calls: Plan
    by_rounds: Plan

    @property
    def calls(self) -> int:
        return self.by_calls.calls

    @property
    def rounds(self) -> int:
        return self.by_rounds.rounds


def minimum(needs: Sequence[Need], tiers: Iterable[str] = (CONFIRMED, LIKELY)) -> Minimum:
    found = plans(needs, tiers)
    return Minimum(
        by_calls=min(found, key=lambda p: (p.calls, p.rounds)),
        by_rounds=min(found, key=lambda p: (p.rounds, p.calls)),
    )


def listing(
    key: str, what: str, total: int, tier: str = CONFIRMED, ready: int | None = None
) -> Path:
    """An account-wide listing read whole: page 1, then the rest together. ``ready=1``: the need
    is in page 1 already. ``total``: its pages."""
    return Path(key, what, (1, total - 1) if total > 1 else (1,), tier, ready=ready)


# --- the scenarios ---------------------------------------------------------------------------------


def dashboard_needs(data: Dataset, customers: int = 20, jobs: int = 5) -> list[Need]:
    """20 customers, their locations (sub-customers: address only on their own record), their
    latest 5 jobs with totalCount, each job's tasks with assignees (embedded in a task)."""
    shown = data.customers[:customers]
    on_page = {c.id for c in shown}
    by_id = {c.id: c for c in data.customers}
    off_page = sorted({k for c in shown for k in c.children if k not in on_page and k in by_id})
    shown_jobs = [j for c in shown for j in data.jobs_of(c.id)[:jobs]]
    task_pages = sum(data.pages(data.tasks_of(j.id)) for j in shown_jobs)
    task_pages_known = sum(
        math.ceil(data.tasks_of(j.id) / data.per_page) for j in shown_jobs
    )  # tasks_count 0: no call
    all_customers = listing(
        "customers-all", "/customers.json, every page", data.pages(len(data.customers)), ready=1
    )
    needs = [
        Need(
            "customer page",
            (single("customers-page", f"/customers.json?per_page={customers}", 1), all_customers),
        ),
        Need(
            "locations",
            (
                single(
                    "customer-gets",
                    "GET /customers/{n}.json per sub-customer not on the page",
                    len(off_page),
                    LIKELY,  # a child's number in the parent's `children`: a sandbox choice
                    after="customer page",
                ),
                listing(
                    "customers-all", "/customers.json, every page", data.pages(len(data.customers))
                ),
            )
            if off_page
            else (single("none", "nothing: every sub-customer is on the page", 0),),
        ),
        Need(
            "jobs",
            (
                single(
                    "customer-jobs",
                    f"/customers/{{n}}/jobs.json?per_page={jobs} per customer",
                    len(shown),
                    LIKELY,
                    after="customer page",
                ),
                listing(
                    "jobs-all",
                    "/jobs.json, every page, grouped",
                    data.pages(len(data.listed_jobs())),
                ),
            ),
        ),
        Need(
            "tasks",
            (
                single(
                    "job-tasks",
                    "/tasks.json?job_id= per job shown",
                    task_pages,
                    after="jobs",
                ),
                single(
                    "job-tasks",
                    "/tasks.json?job_id= per job shown whose tasks_count is not 0",
                    task_pages_known,
                    LIKELY,
                    after="jobs",
                ),
                listing(
                    "tasks-all", "/tasks.json, every page, grouped", data.pages(len(data.tasks))
                ),
            ),
        ),
    ]
    return needs


def dispatch_needs(data: Dataset, week: tuple[date, date]) -> list[Need]:
    """Every task of the week; job, customer (its service address: the location) and assignees
    come as task glue. The client follows cursors, 100 a page."""
    count = sum(1 for t in data.tasks if week[0] <= t.day < week[1])
    return [
        Need(
            "week's tasks",
            (
                listing("tasks-week", "/tasks.json?from=&to=, every page", data.pages(count)),
                listing(
                    "tasks-all", "/tasks.json, every page, filtered", data.pages(len(data.tasks))
                ),
            ),
        )
    ]


def history_needs(data: Dataset, number: int) -> list[Need]:
    """One customer (by number, from the query), its jobs (first 100) with line items and payments
    (only in the job's detail), its invoices (job listing fields), its payments (first 100)."""
    customer = data.customer(number)
    jobs = data.jobs_of(customer.id)
    shown = jobs[:100]
    return [
        Need(
            "customer",
            (
                single("customer-get", "GET /customers/{n}.json", 1),
                single("customer-filter", "/customers.json?customer_number=", 1),
            ),
        ),
        Need(
            "jobs",
            (
                single("customer-jobs", "/customers/{n}/jobs.json?per_page=100", 1, LIKELY),
                listing(
                    "jobs-all",
                    "/jobs.json, every page, grouped",
                    data.pages(len(data.listed_jobs())),
                ),
            ),
        ),
        Need(
            "job details",
            (single("job-gets", "GET /jobs/{number}.json per job", len(shown), after="jobs"),),
        ),
        Need(
            "payments",
            (
                single("customer-payments", "/payments.json?customer_id={number}&per_page=100", 1),
                listing(
                    "payments-all", "/payments.json, every page", data.pages(len(data.payments))
                ),
            ),
        ),
    ]


def receivable_needs(data: Dataset, first: int = 50) -> list[Need]:
    """The first 50 unpaid invoices (customer glue, totals and total_balance_remaining in the
    listing) and each one's payments (only in its job's detail; /payments.json names no job)."""
    shown = data.invoices("unpaid")[:first]
    return [
        Need(
            "invoice page",
            (single("invoices-page", f"/invoices.json?invoice_status=unpaid&per_page={first}", 1),),
        ),
        Need(
            "payments",
            (
                single(
                    "job-gets",
                    "GET /jobs/{number}.json per invoice",
                    len(shown),
                    after="invoice page",
                ),
            ),
        ),
    ]


def entities_needs(data: Dataset, invoice_ids: Sequence[int]) -> list[Need]:
    """Invoices by id: Kickserv has no invoice-by-id, so the invoice listing until every one is
    found: whole (page 1, then the rest), or page by page up to the last page holding one (fewer
    calls, a round a page)."""
    listed = data.invoices()
    wanted = set(invoice_ids)
    last = max((i // data.per_page + 1 for i, j in enumerate(listed) if j.id in wanted), default=1)
    return [
        Need(
            "invoices",
            (
                listing("invoices-all", "/invoices.json, every page", data.pages(len(listed))),
                Path("invoices-seq", f"/invoices.json, pages 1..{last} one by one", (1,) * last),
            ),
        )
    ]


def small_needs(data: Dataset) -> list[Need]:
    return [Need("customer page", (single("customers-page", "/customers.json?per_page=10", 1),))]


def rounds_with_cap(levels: Sequence[int], cap: int) -> int:
    """Rounds when at most ``cap`` calls may be in flight (KICKSERV_CONCURRENCY)."""
    return sum(math.ceil(level / cap) for level in levels)


def figures(needs: Sequence[Need], concurrency: int) -> dict[str, Any]:
    """What the bench reports of a scenario's minimum: calls and rounds over confirmed and likely
    paths (``calls``/``rounds``, the targets), the same over confirmed paths only, the plans behind
    them, and the fewest rounds when at most ``concurrency`` calls may be in flight."""
    found = plans(needs, (CONFIRMED, LIKELY))
    best = minimum(needs)
    strict = minimum(needs, (CONFIRMED,))
    under_cap = min(rounds_with_cap(p.levels, concurrency) for p in found)
    why = "; ".join(f"{need}: {path.what} ({path.calls})" for need, path in best.by_calls.paths)
    return {
        "calls": best.calls,
        "rounds": best.rounds,
        "levels": list(best.by_rounds.levels),
        "rounds_with_cap": under_cap,
        "why": why,
        "fewest_calls": best.by_calls.as_dict(),
        "fewest_rounds": best.by_rounds.as_dict(),
        "confirmed_only": {"calls": strict.calls, "rounds": strict.rounds},
    }
