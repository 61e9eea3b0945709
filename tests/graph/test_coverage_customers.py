"""Customers the way Supergood's document finds them (email, phone, active or inactive, tags, with
their primary contact), over the sandbox on a real port; the graph checks these filters itself, so
the answers are the same whichever sandbox personality (lenient or reference-strict) runs."""

from __future__ import annotations

import re
from typing import Any

from sandbox.shapes import is_active
from tests.graph.write_harness import Harness, data_of, error_of, graph_over_sandbox

FIND = """query($f: CustomerFilter, $first: Int = 100) {
  customers(filter: $f, first: $first) { totalCount nodes { number } } }"""


async def numbers(h: Harness, **given: Any) -> tuple[set[int], int]:
    found = data_of(await h.gql(FIND, {"f": given}))["customers"]
    return {n["number"] for n in found["nodes"]}, found["totalCount"]


async def test_by_email_whole_and_case_insensitive() -> None:
    async with graph_over_sandbox() as h:
        customer = next(c for c in h.store.customers.values() if c.email_address)
        assert customer.email_address is not None
        found, total = await numbers(h, email=customer.email_address.upper())
        want = {
            c.number for c in h.store.customers.values()
            if (c.email_address or "").lower() == customer.email_address.lower()
        }  # fmt: skip
        assert found == want and total == len(want) and customer.number in found
        assert await numbers(h, email=customer.email_address[1:]) == (set(), 0)


async def test_by_phone_digits_whatever_the_punctuation() -> None:
    async with graph_over_sandbox() as h:
        customer = next(iter(h.store.customers.values()))
        digits = re.sub(r"\D", "", customer.phone_number)[-10:]
        spelled = f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
        found, _ = await numbers(h, phone=spelled)
        assert customer.number in found
        for number in found:
            c = h.store.customers_by_number[number]
            phones = [re.sub(r"\D", "", p)[-10:] for p in (c.phone_number, c.mobile) if p]
            assert digits in phones


async def test_active_and_inactive_partition_the_customers() -> None:
    async with graph_over_sandbox() as h:
        everyone = {c.number for c in h.store.customers.values()}
        inactive = {c.number for c in h.store.customers.values() if not is_active(h.store, c)}
        assert await numbers(h, active=False) == (inactive, len(inactive))
        assert await numbers(h, active=True) == (everyone - inactive, len(everyone - inactive))
        state = next(iter(h.store.customers.values())).service_state
        in_state = {c.number for c in h.store.customers.values() if c.service_state == state}
        found, _ = await numbers(h, active=True, serviceState=state)
        assert found == in_state - inactive  # Kickserv's own filter, then the graph's


async def test_by_tags_every_one_of_them() -> None:
    async with graph_over_sandbox() as h:
        tagged = {c.number for c in h.store.customers.values() if "Commercial" in c.tags}
        assert tagged, "the seed tags company customers Commercial"
        assert await numbers(h, tags=["Commercial"]) == (tagged, len(tagged))
        pair = next(c for c in h.store.customers.values() if len(c.tags) > 1)
        both = {c.number for c in h.store.customers.values() if set(pair.tags) <= set(c.tags)}
        found, _ = await numbers(h, tags=list(pair.tags))
        assert found == both and pair.number in found
        first_page = data_of(await h.gql(FIND, {"f": {"tags": ["Commercial"]}, "first": 2}))
        assert len(first_page["customers"]["nodes"]) == min(2, len(tagged))
        assert first_page["customers"]["totalCount"] == len(tagged)


async def test_a_tag_filter_over_too_many_candidates_is_refused() -> None:
    async with graph_over_sandbox(customers=220) as h:
        refused = error_of(await h.gql(FIND, {"f": {"tags": ["Commercial"]}}))
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert refused["extensions"]["candidates"] == len(h.store.customers)


async def test_primary_contact_and_tags_of_a_customer() -> None:
    async with graph_over_sandbox() as h:
        customer = next(c for c in h.store.customers.values() if c.contact and c.tags)
        assert customer.contact is not None
        query = """query($n: Int!) { customer(number: $n) {
          tags primaryContact { name email phone } } }"""
        found = data_of(await h.gql(query, {"n": customer.number}))["customer"]
        assert found["tags"] == customer.tags
        assert found["primaryContact"] == {
            "name": f"{customer.contact.first_name} {customer.contact.last_name}",
            "email": customer.email_address,
            "phone": customer.phone_number,
        }
        without = next(c for c in h.store.customers.values() if c.contact is None)
        none = data_of(await h.gql(query, {"n": without.number}))["customer"]
        assert none["primaryContact"] is None


async def test_by_when_they_last_changed() -> None:
    async with graph_over_sandbox() as h:
        stamps = sorted({c.updated_at for c in h.store.customers.values()})
        middle = stamps[len(stamps) // 2]
        since = {c.number for c in h.store.customers.values() if c.updated_at >= middle}
        before = {c.number for c in h.store.customers.values() if c.updated_at < middle}
        assert since and before
        assert await numbers(h, updatedFrom=middle.isoformat()) == (since, len(since))
        assert await numbers(h, updatedTo=middle.isoformat()) == (before, len(before))
        naive = error_of(await h.gql(FIND, {"f": {"updatedFrom": "2026-11-01T00:00:00"}}))
        assert naive["extensions"]["code"] == "BAD_USER_INPUT"


async def test_by_service_address_and_source_and_last_completed_job() -> None:
    async with graph_over_sandbox() as h:
        customer = next(c for c in h.store.customers.values() if c.customer_source_id)
        found, _ = await numbers(h, serviceAddress=customer.service_address.upper())
        assert customer.number in found
        same_source = {
            c.number
            for c in h.store.customers.values()
            if c.customer_source_id == customer.customer_source_id
        }
        source = str(customer.customer_source_id)
        assert await numbers(h, customerSourceId=source) == (same_source, len(same_source))
        done = next(
            c for c in h.store.customers.values()
            if any(h.store.jobs[j].completed_on for j in c.job_ids)
        )  # fmt: skip
        last = max(h.store.jobs[j].completed_on or h.store.jobs[j].created_at for j in done.job_ids
                   if h.store.jobs[j].completed_on)  # fmt: skip
        query = "query($n: Int!) { customer(number: $n) { lastJobCompletedAt } }"
        answer = data_of(await h.gql(query, {"n": done.number}))["customer"]
        assert answer["lastJobCompletedAt"] == last.isoformat()
