"""Incremental sync (issue 13, Deliver 4) over the sandbox on a real port: ``updatedSince`` on the
customers, jobs, invoices and payments connections, and the sync cursor (``customersChangedSince``
and its siblings) a warehouse stores and resumes from, with changes made straight on the sandbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.graph.write_harness import Harness, data_of, error_of, graph_over_sandbox
from tests.watch.conftest import Kickserv

SINCE = """query($since: DateTime) {
  customers(updatedSince: $since, first: 100) { totalCount nodes { number updatedAt } }
  jobs(updatedSince: $since, first: 100) { totalCount nodes { number updatedAt } }
  invoices(updatedSince: $since, first: 100) { totalCount nodes { number updatedAt } }
}"""
PAYMENTS = """query($since: DateTime, $sort: PaymentSort) {
  payments(updatedSince: $since, sort: $sort, first: 100) { totalCount nodes { id createdAt } }
}"""
SYNC = """query($cursor: String, $since: DateTime, $first: Int) {
  customersChangedSince(cursor: $cursor, since: $since, first: $first) {
    nodes { number updatedAt } nextCursor hasMore
  }
}"""


def kickserv(h: Harness) -> Kickserv:
    return Kickserv(h.sandbox.base_url)


def changed_since(records: Any, since: datetime) -> set[int]:
    return {r.number for r in records if r.updated_at >= since}


async def test_updated_since_answers_what_changed_at_or_after_the_moment() -> None:
    async with graph_over_sandbox() as h:
        ks = kickserv(h)
        first = ks.call("PUT", "customers/3.json", {"customer": {"name": "Changed Once"}})
        since = datetime.fromisoformat(first["updated_at"])
        ks.call("PUT", "customers/5.json", {"customer": {"name": "Changed Too"}})
        job = next(j for j in h.store.jobs_by_number.values() if j.status == "scheduled")
        ks.call("PUT", f"jobs/{job.number}.json", {"job": {"status": "in_progress"}})

        found = data_of(await h.gql(SINCE, {"since": since.isoformat()}))
        customers = {n["number"] for n in found["customers"]["nodes"]}
        assert {3, 5} <= customers
        assert customers == changed_since(h.store.customers.values(), since)
        assert found["customers"]["totalCount"] == len(customers)
        jobs = {n["number"] for n in found["jobs"]["nodes"]}
        assert job.number in jobs
        listed = [j for j in h.store.jobs_by_number.values() if j.status != "new"]
        assert jobs <= changed_since(listed, since)
        for node in [*found["customers"]["nodes"], *found["jobs"]["nodes"]]:
            assert datetime.fromisoformat(node["updatedAt"]) >= since
        invoices = found["invoices"]["nodes"]
        assert all(datetime.fromisoformat(n["updatedAt"]) >= since for n in invoices)


async def test_payments_since_read_newest_first_and_only_the_pages_needed() -> None:
    async with graph_over_sandbox() as h:
        ks = kickserv(h)
        invoice = ks.first("invoices.json", "invoices", invoice_status="unpaid")
        payment = ks.call(
            "POST", f"jobs/{invoice['job_number']}/payments.json", {"payment": {"amount": "1.00"}}
        )
        since = payment["created_at"]
        h.sandbox.reset_requests()
        found = data_of(await h.gql(PAYMENTS, {"since": since}))["payments"]
        assert [n["id"] for n in found["nodes"]] == [str(payment["id"])]
        payments = [r for r in h.sandbox.requests() if r["path"].endswith("/payments.json")]
        assert len(payments) == 1  # the newest page reached back past the moment
        assert "sort_by=created_at" in payments[0]["query"]
        refused = error_of(await h.gql(PAYMENTS, {"since": since, "sort": "AMOUNT_DESC"}))
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_moment_without_an_offset_is_refused() -> None:
    async with graph_over_sandbox() as h:
        for query in (SINCE, PAYMENTS, SYNC):
            error = error_of(await h.gql(query, {"since": "2026-11-20T09:00:00"}))
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert "offset" in error["message"]


async def sync(h: Harness, cursor: str | None, first: int = 10) -> tuple[list[int], str]:
    """Every page until ``hasMore`` is false: the numbers handed out, and the cursor to store."""
    numbers: list[int] = []
    while True:
        page = data_of(await h.gql(SYNC, {"cursor": cursor, "first": first}))
        changes = page["customersChangedSince"]
        numbers += [n["number"] for n in changes["nodes"]]
        cursor = changes["nextCursor"]
        if not changes["hasMore"]:
            assert cursor is not None
            return numbers, cursor


async def test_a_sync_cursor_hands_out_everything_then_only_what_changed() -> None:
    async with graph_over_sandbox() as h:
        everyone = {c.number for c in h.store.customers.values()}
        numbers, cursor = await sync(h, None)
        assert set(numbers) == everyone  # the first sync: every customer, oldest change first
        again, cursor = await sync(h, cursor)
        assert set(again) <= everyone and len(again) < len(everyone)  # the newest seconds only

        head = max(c.updated_at for c in h.store.customers.values())
        ks = kickserv(h)
        ks.call("PUT", "customers/7.json", {"customer": {"name": "Synced Later"}})
        ks.call("POST", "customers.json", {"customer": {"first_name": "New", "last_name": "One"}})
        new = max(c.number for c in h.store.customers.values())
        changed, cursor = await sync(h, cursor)
        assert {7, new} <= set(changed)  # at least once: never skipped
        for number in set(changed) - {7, new}:  # besides: the newest seconds of the last sync
            updated = h.store.customers_by_number[number].updated_at
            assert (head - updated).total_seconds() <= 2


async def test_a_cursor_that_is_not_ours_or_of_another_kind_is_refused() -> None:
    async with graph_over_sandbox() as h:
        jobs = data_of(
            await h.gql("{ jobsChangedSince(first: 1) { nextCursor hasMore nodes { number } } }")
        )
        jobs_cursor = jobs["jobsChangedSince"]["nextCursor"]
        for cursor in ("not-a-cursor", jobs_cursor):
            error = error_of(await h.gql(SYNC, {"cursor": cursor}))
            assert error["extensions"]["code"] == "BAD_USER_INPUT"
            assert error["extensions"]["argument"] == "cursor"
        error = error_of(await h.gql(SYNC, {"first": 0}))
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
