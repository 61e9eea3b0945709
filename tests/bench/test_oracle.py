"""The oracle's minimums on a hand-made account, against minimums worked out by hand.

Pages hold 2 entries here, so account-wide listings take more than one page and the choice between
per-parent reads and whole listings is a real one. The hand computations are in the comments.
"""

from __future__ import annotations

from datetime import date

from bench import oracle
from bench.oracle import CONFIRMED, CustomerRow, Dataset, JobRow, PaymentRow, TaskRow

DAY = date(2026, 11, 23)


def _account() -> Dataset:
    # Customers 1, 2, 3 (3 is 1's sub-customer, a location): 2 pages.
    # Jobs, newest first: 14 (an opportunity, not listed), 13 (customer 2), 12, 11, 10 (customer 1):
    # 4 listed, 2 pages. Tasks: job 12 two, job 11 none, job 13 one, job 10 three: 6, 3 pages.
    return Dataset(
        customers=[CustomerRow(1, 1, (3,)), CustomerRow(2, 2), CustomerRow(3, 3)],
        jobs=[
            JobRow(10, 1, 1, invoice_date=date(2026, 11, 1), invoice_status="unpaid"),
            JobRow(11, 2, 1, invoice_date=date(2026, 11, 2), invoice_status="paid"),
            JobRow(12, 3, 1, invoice_date=date(2026, 11, 3), invoice_status="unpaid"),
            JobRow(13, 4, 2, invoice_date=date(2026, 11, 4), invoice_status="unpaid"),
            JobRow(14, 5, 2, status="new", invoice_date=date(2026, 11, 5), invoice_status="paid"),
        ],
        tasks=[
            TaskRow(100, 12, DAY),
            TaskRow(101, 12, DAY),
            TaskRow(102, 13, date(2026, 11, 30)),
            TaskRow(103, 10, DAY),
            TaskRow(104, 10, DAY),
            TaskRow(105, 10, date(2026, 11, 1)),
        ],
        payments=[PaymentRow(200, 1), PaymentRow(201, 1), PaymentRow(202, 2)],
        per_page=2,
    )


def test_dashboard_minimum_chooses_per_level_between_listings_and_per_parent_reads() -> None:
    # Shown: customers 1 and 2 (page of 2); sub-customer 3 is off the page; latest 2 jobs each:
    # 12, 11 (customer 1) and 13 (customer 2).
    # Fewest calls, any tier: customers read whole (2 pages; also the customer page) = 2; jobs
    # per customer (2) or whole (2) = 2; tasks per job shown with tasks_count > 0 (12, 13) = 2,
    # against 3 per job shown or 3 pages whole. 6 calls; tasks wait for the jobs: 3 rounds.
    # Fewest rounds: every listing whole (page 1, then the rest): 2 + 2 + 3 = 7 calls, 2 rounds.
    needs = oracle.dashboard_needs(_account(), customers=2, jobs=2)
    best = oracle.minimum(needs)
    assert (best.by_calls.calls, best.by_calls.rounds) == (6, 3)
    assert (best.by_rounds.calls, best.by_rounds.rounds) == (7, 2)
    assert sum(best.by_rounds.levels) == 7 and len(best.by_rounds.levels) == 2
    # Confirmed paths only: no per-customer job listing GET, no tasks_count, no child GET by number:
    # customers 2 + jobs 2 + tasks 3 (per job shown or whole) = 7, in 2 rounds.
    strict = oracle.minimum(needs, (CONFIRMED,))
    assert (strict.calls, strict.rounds) == (7, 2)


def test_dashboard_with_every_location_on_the_page_reads_no_customer_record() -> None:
    data = _account()
    needs = oracle.dashboard_needs(data, customers=3, jobs=2)
    # Customers: one page of 2 would not hold 3: the page asked for holds 3 (per_page=3 is one
    # call), so 1; jobs 2 (whole or per customer: 3) -> 2; tasks with tasks_count: 12, 13 -> 2.
    assert oracle.minimum(needs).calls == 5


def test_history_minimum() -> None:
    # Customer 1: jobs 12, 11, 10. Customer, its job listing, its payments: 3 calls keyed by the
    # number in the query; then 3 job details: 6 calls, 2 rounds. Confirmed only, the job listing
    # is /jobs.json whole (2 pages, 2 rounds), the details a third round: 7 calls, 3 rounds.
    needs = oracle.history_needs(_account(), 1)
    best = oracle.minimum(needs)
    assert (best.calls, best.rounds) == (6, 2)
    assert best.by_calls.levels == (3, 3)
    strict = oracle.minimum(needs, (CONFIRMED,))
    assert (strict.calls, strict.rounds) == (7, 3)


def test_receivable_minimum() -> None:
    # Unpaid invoices, newest first: 13, 12, 10; the first 2 -> 1 page + 2 job details, 2 rounds.
    best = oracle.minimum(oracle.receivable_needs(_account(), first=2))
    assert (best.calls, best.rounds) == (3, 2)


def test_entities_minimum_reads_the_invoice_listing_only_as_far_as_it_must() -> None:
    # Invoices, newest first: 14, 13 | 12, 11 | 10 (3 pages of 2).
    data = _account()
    on_page_one = oracle.minimum(oracle.entities_needs(data, [14, 13]))
    assert (on_page_one.calls, on_page_one.rounds) == (1, 1)
    last_page = oracle.minimum(oracle.entities_needs(data, [13, 10]))
    # Page by page: 3 calls in 3 rounds; whole: page 1, then pages 2-3: 3 calls in 2 rounds.
    assert (last_page.calls, last_page.rounds) == (3, 2)


def test_dispatch_minimum() -> None:
    # The week from DAY: tasks 100, 101, 103, 104 (102 and 105 are outside) -> 2 pages of 2.
    week = (DAY, date(2026, 11, 30))
    best = oracle.minimum(oracle.dispatch_needs(_account(), week))
    assert (best.calls, best.rounds) == (2, 2)


def test_figures_report_both_tiers_and_the_rounds_under_a_concurrency_cap() -> None:
    needs = oracle.dashboard_needs(_account(), customers=2, jobs=2)
    figures = oracle.figures(needs, concurrency=2)
    assert figures["calls"] == 6 and figures["rounds"] == 2
    assert figures["confirmed_only"] == {"calls": 7, "rounds": 2}
    # With 2 calls in flight: the 6-call plan reading customers, jobs and tasks whole has levels
    # (2, 2, 2), 3 rounds; every 2-round plan has 7 calls, at least 4 rounds under the cap.
    assert figures["rounds_with_cap"] == 3


def test_dataset_of_a_seeded_sandbox_store() -> None:
    from sandbox.seed import build_account

    store = build_account("demo", 12, 1, DAY)
    data = oracle.dataset_of(store)
    assert len(data.customers) == 12 and len(data.tasks) == len(store.tasks)
    assert [c.number for c in data.customers] == sorted(c.number for c in store.customers.values())
    assert oracle.minimum(oracle.small_needs(data)).calls == 1
