"""The scenarios: what a client asks, and what its answer needs of Kickserv.

A scenario's minimum comes from bench.oracle over the seeded data (``Dataset``) and the facts the
query is built from (``Facts``), never from a server's answer. The reasoning is in bench/README.md
("Minimums").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import oracle
from bench.oracle import Dataset, Need

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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
class Scenario:
    key: str
    title: str
    query: str
    variables: Callable[[Facts], dict[str, Any]]
    needs: Callable[[Dataset, Facts], list[Need]]  # what the answer needs (bench.oracle)
    concurrency: int = 8
    paginate: str | None = None  # root field whose pages the client follows with `after`
    stock: bool = False  # bench.stock serves this query too

    def minimum(self, data: Dataset, facts: Facts, concurrency: int) -> dict[str, Any]:
        """The oracle's minimum over the seeded data (never from an answer)."""
        return oracle.figures(self.needs(data, facts), concurrency)


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
            lambda d, f: oracle.dashboard_needs(d, 20, 5),
            stock=True,
        ),
        Scenario(
            "dispatch",
            "Dispatch week: every task of this week with job, customer, location, assignees",
            example("dispatch_week"),
            lambda f: {"from": f.week[0].isoformat(), "to": f.week[1].isoformat(), "first": 100},
            lambda d, f: oracle.dispatch_needs(d, f.week),
            paginate="schedule",
        ),
        Scenario(
            "history",
            "Customer history: one customer, all jobs, line items, invoices, payments",
            example("customer_history"),
            lambda f: {"number": f.history_customer},
            lambda d, f: oracle.history_needs(d, f.history_customer),
        ),
        Scenario(
            "receivable",
            "Accounts receivable: unpaid invoices, customers, balances, payments",
            example("accounts_receivable"),
            lambda f: {"first": 50},
            lambda d, f: oracle.receivable_needs(d, 50),
        ),
        Scenario(
            "entities",
            "Federation: _entities for 100 invoices by id (cold index, then warm)",
            ENTITIES_QUERY,
            lambda f: {
                "representations": [{"__typename": "Invoice", "id": str(i)} for i in f.invoice_ids]
            },
            lambda d, f: oracle.entities_needs(d, f.invoice_ids),
        ),
        Scenario(
            "small",
            "Warm small query: customers(first: 10), 32 concurrent clients",
            SMALL_QUERY,
            lambda f: {},
            lambda d, f: oracle.small_needs(d),
            concurrency=32,
            stock=True,
        ),
    ]
