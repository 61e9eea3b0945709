"""The scenarios: what a client asks, and the fewest upstream calls and rounds that answer it.

A minimum is derived from the answer itself plus facts of the seeded data (``Facts``), so it follows
the data at any scale. The reasoning behind each is in bench/README.md ("Minimums").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PER_PAGE = 100  # the largest page Kickserv serves


def example(name: str) -> str:
    return (EXAMPLES / f"{name}.graphql").read_text()


@dataclass(frozen=True)
class Facts:
    """What the seeded sandbox holds, read from its store before any measurement."""

    customers: int
    invoices: int
    today: date
    history_customer: int  # the customer with the most jobs
    invoice_ids: tuple[int, ...]  # spread over the whole invoice listing

    @property
    def week(self) -> tuple[date, date]:
        monday = self.today - timedelta(days=self.today.weekday())
        return monday, monday + timedelta(days=7)


def facts_of(store: Any, today: date, entity_count: int = 100) -> Facts:
    invoiced = sorted(j.id for j in store.jobs.values() if j.invoice_status is not None)
    step = max(1, len(invoiced) // entity_count)
    busiest = max(store.customers.values(), key=lambda c: (len(c.job_ids), -c.number))
    return Facts(
        customers=len(store.customers),
        invoices=len(invoiced),
        today=today,
        history_customer=busiest.number,
        invoice_ids=tuple(invoiced[::step][:entity_count]),
    )


@dataclass(frozen=True)
class Minimum:
    """``levels``: the calls of each dependent round (a round needs an answer of the one before)."""

    levels: tuple[int, ...]
    why: str

    @property
    def calls(self) -> int:
        return sum(self.levels)

    @property
    def rounds(self) -> int:
        return len(self.levels)

    def rounds_with_cap(self, concurrency: int) -> int:
        """Rounds when at most ``concurrency`` calls may be in flight (KICKSERV_CONCURRENCY)."""
        return sum(math.ceil(level / concurrency) for level in self.levels)

    def as_dict(self, concurrency: int) -> dict[str, object]:
        return {
            "calls": self.calls,
            "rounds": self.rounds,
            "levels": list(self.levels),
            "rounds_with_cap": self.rounds_with_cap(concurrency),
            "why": self.why,
        }


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    query: str
    variables: Callable[[Facts], dict[str, Any]]
    minimum: Callable[[list[dict[str, Any]], Facts], Minimum]
    concurrency: int = 8
    paginate: str | None = None  # root field whose pages the client follows with `after`
    stock: bool = False  # bench.stock serves this query too


def _data(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r.get("data") or {} for r in responses]


def _dashboard_minimum(responses: list[dict[str, Any]], facts: Facts) -> Minimum:
    nodes = [e["node"] for d in _data(responses) for e in d["customers"]["edges"]]
    listed = {n["id"] for n in nodes}
    children = {loc["id"] for n in nodes for loc in n["locations"] if not loc["isPrimary"]} - listed
    jobs = sum(len(n["jobs"]["nodes"]) for n in nodes)
    levels = (1, len(children) + len(nodes), jobs)
    return Minimum(
        tuple(level for level in levels if level),
        f"1 customer page + {len(children)} child customers not on it (their address) + "
        f"{len(nodes)} job listings (one per customer) + {jobs} task listings (one per job); "
        "assignees come with the tasks. Rounds: page -> children and jobs -> tasks.",
    )


def _dispatch_minimum(responses: list[dict[str, Any]], facts: Facts) -> Minimum:
    total = _data(responses)[0]["schedule"]["totalCount"]
    pages = len(responses)
    calls = max(1, math.ceil(total / PER_PAGE))
    return Minimum(
        (1,) * (pages - 1) + (calls - pages + 1,),
        f"{total} tasks in pages of {PER_PAGE}; job, customer, location and assignees come with "
        f"each task. Rounds: the client follows {pages} page cursor(s) one after another.",
    )


def _history_minimum(responses: list[dict[str, Any]], facts: Facts) -> Minimum:
    customer = _data(responses)[0]["customer"]
    jobs = len(customer["jobs"]["nodes"])
    listing = max(1, math.ceil(min(customer["jobs"]["totalCount"], PER_PAGE) / PER_PAGE))
    return Minimum(
        (2 + listing, jobs) if jobs else (2 + listing,),
        f"the customer + {listing} job listing page + {jobs} job details (line items and "
        "payments live only there) + 1 payments page; all but the details are keyed by the "
        "customer number in the query. Rounds: customer, jobs and payments -> job details.",
    )


def _receivable_minimum(responses: list[dict[str, Any]], facts: Facts) -> Minimum:
    invoices = len(_data(responses)[0]["invoices"]["nodes"])
    return Minimum(
        (1, invoices) if invoices else (1,),
        f"1 unpaid-invoice page (it carries the customer and the total owed) + {invoices} job "
        "details (an invoice's payments live only there). Rounds: page -> details.",
    )


def _entities_minimum(responses: list[dict[str, Any]], facts: Facts) -> Minimum:
    pages = max(1, math.ceil(facts.invoices / PER_PAGE))
    return Minimum(
        (1, pages - 1) if pages > 1 else (1,),
        f"Kickserv cannot fetch an invoice by id: the whole listing ({facts.invoices} invoices, "
        f"{pages} pages) once. Rounds: page 1 (tells the page count) -> the rest.",
    )


def _small_minimum(responses: list[dict[str, Any]], facts: Facts) -> Minimum:
    return Minimum((1,), "one customer page")


ENTITIES_QUERY = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Invoice { id number status total balanceRemaining customer { id name } }
  }
}"""

SMALL_QUERY = """query Small {
  customers(first: 10) { totalCount nodes { id number name email phone balance } }
}"""


def scenarios() -> list[Scenario]:
    return [
        Scenario(
            "dashboard",
            "Dashboard: 20 customers, locations, latest 5 jobs, tasks, assignees",
            example("dashboard"),
            lambda f: {"customers": 20, "jobs": 5},
            _dashboard_minimum,
            stock=True,
        ),
        Scenario(
            "dispatch",
            "Dispatch week: every task of this week with job, customer, location, assignees",
            example("dispatch_week"),
            lambda f: {"from": f.week[0].isoformat(), "to": f.week[1].isoformat(), "first": 100},
            _dispatch_minimum,
            paginate="schedule",
        ),
        Scenario(
            "history",
            "Customer history: one customer, all jobs, line items, invoices, payments",
            example("customer_history"),
            lambda f: {"number": f.history_customer},
            _history_minimum,
        ),
        Scenario(
            "receivable",
            "Accounts receivable: unpaid invoices, customers, balances, payments",
            example("accounts_receivable"),
            lambda f: {"first": 50},
            _receivable_minimum,
        ),
        Scenario(
            "entities",
            "Federation: _entities for 100 invoices by id (cold index, then warm)",
            ENTITIES_QUERY,
            lambda f: {
                "representations": [{"__typename": "Invoice", "id": str(i)} for i in f.invoice_ids]
            },
            _entities_minimum,
        ),
        Scenario(
            "small",
            "Warm small query: customers(first: 10), 32 concurrent clients",
            SMALL_QUERY,
            lambda f: {},
            _small_minimum,
            concurrency=32,
            stock=True,
        ),
    ]
