"""Queries beyond the examples, over a real sandbox: connections over pages, errors on their path,
the shared cache across requests, the invoice index, the cheapest source, and the relations Kickserv
makes awkward (locations, an employee's visits, a payment's job, a customer's opportunities)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from graph.server.assembly import server_of
from resolvers import resources
from resolvers.connections import decode_cursor, encode_cursor
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore
from sandbox.knobs import FaultRule
from sandbox.testing import RunningSandbox, running_sandbox
from tests.graph.example_runs import count_rounds, example, graph_server

TODAY = date(2026, 11, 21)
WEEK = {"from": "2026-11-16", "to": "2026-11-23"}
CONFIG: dict[str, Any] = {"customers": 60, "seed": 4, "today": TODAY}


@pytest.fixture(scope="module")
def sb() -> Iterator[RunningSandbox]:
    with running_sandbox(SandboxConfig(**CONFIG)) as sandbox:
        yield sandbox


@pytest.fixture
def store(sb: RunningSandbox) -> AccountStore:
    return sb.store("demo")


@pytest.fixture
def knobs(sb: RunningSandbox) -> Iterator[Any]:
    """The sandbox's run-time knobs, put back as they were after the test."""
    saved = sb.state.knobs.as_json()
    yield sb.state.knobs
    sb.state.knobs.update({k: v for k, v in saved.items() if k != "faults"})
    sb.state.knobs.faults = []


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    return [(e["extensions"]["code"], e.get("path") or []) for e in errors]


def numbers(store: AccountStore) -> list[int]:
    return list(store.customers_by_number)


# -- connections over pages ---------------------------------------------------------------------

PAGE = """query ($first: Int, $after: String) {
  customers(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { number } }
  }
}"""


def test_a_window_fetches_only_the_pages_it_overlaps_concurrently():
    async def scenario() -> None:
        with running_sandbox(SandboxConfig(**CONFIG, latency_ms=100)) as slow:
            store = slow.store("demo")
            async with graph_server(slow, kickserv_max_per_page=10) as graph:
                # when: items 15..29 of a listing served 10 per page
                run = await graph.run(PAGE, {"first": 15, "after": encode_cursor(14)})
            # then: pages 2 and 3 only, sent together (one round); customers name the page twice
            assert run.errors == []
            assert sorted(e["query"] for e in run.log) == [
                "page=2&customers_page=2&per_page=10",
                "page=3&customers_page=3&per_page=10",
            ]
            assert count_rounds(run.log) == 1
            page = run.data["customers"]
            assert [e["node"]["number"] for e in page["edges"]] == numbers(store)[15:30]
            assert [decode_cursor(e["cursor"]) for e in page["edges"]] == list(range(15, 30))
            assert page["pageInfo"]["hasPreviousPage"] and page["pageInfo"]["hasNextPage"]
            assert page["totalCount"] == len(store.customers)

    asyncio.run(scenario())


async def test_paging_with_end_cursors_when_kickserv_clamps_per_page(
    sb: RunningSandbox, store: AccountStore, knobs: Any
):
    # given: Kickserv serves at most 7 per page, whatever we ask
    knobs.update({"max_per_page": 7})
    seen: list[int] = []
    calls = 0
    async with graph_server(sb) as graph:
        after = None
        while True:
            # when
            run = await graph.run(PAGE, {"first": 20, "after": after})
            assert run.errors == []
            calls += run.calls
            page = run.data["customers"]
            seen += [e["node"]["number"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    # then: every customer once, in order, each page of 7 read once (the clamped first answer too)
    assert seen == numbers(store)
    assert calls == -(-len(store.customers) // 7)


async def test_first_zero_counts_without_items(sb: RunningSandbox, store: AccountStore):
    async with graph_server(sb) as graph:
        run = await graph.run(PAGE, {"first": 0})
    assert run.errors == []
    assert run.data["customers"]["edges"] == []
    assert run.data["customers"]["totalCount"] == len(store.customers)
    assert run.data["customers"]["pageInfo"]["hasNextPage"] is True


BOTH = """query ($after: String) {
  customers(first: 3, after: $after) {
    nodes { number }
    edges { cursor node { number } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    again: pageInfo { startCursor }
  }
  invoices(first: 2, after: $after) {
    totalCount totalBalanceRemaining
    edges { cursor node { id } }
    nodes { id }
    pageInfo { hasPreviousPage endCursor }
  }
}"""


async def test_edges_and_page_info_are_made_from_the_page_when_asked(
    sb: RunningSandbox, store: AccountStore
):
    async with graph_server(sb) as graph:
        run = await graph.run(BOTH, {"after": encode_cursor(4)})
    assert run.errors == []
    customers, invoices = run.data["customers"], run.data["invoices"]
    # the same items as nodes and as edges, each edge's cursor its place in the whole list
    assert [e["node"] for e in customers["edges"]] == customers["nodes"]
    assert [c["number"] for c in customers["nodes"]] == numbers(store)[5:8]
    assert [decode_cursor(e["cursor"]) for e in customers["edges"]] == [5, 6, 7]
    assert customers["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": True,
        "startCursor": customers["edges"][0]["cursor"],
        "endCursor": customers["edges"][-1]["cursor"],
    }
    assert customers["again"] == {"startCursor": encode_cursor(5)}
    # a connection with fields of its own (invoices) has them too
    assert [e["node"] for e in invoices["edges"]] == invoices["nodes"]
    assert [decode_cursor(e["cursor"]) for e in invoices["edges"]] == [5, 6]
    assert invoices["pageInfo"] == {"hasPreviousPage": True, "endCursor": encode_cursor(6)}
    assert invoices["totalBalanceRemaining"] is not None


async def test_past_the_end_is_an_empty_page(sb: RunningSandbox, store: AccountStore):
    async with graph_server(sb) as graph:
        run = await graph.run(PAGE, {"first": 5, "after": encode_cursor(len(store.customers) + 40)})
    assert run.errors == []
    assert run.data["customers"]["edges"] == []
    assert run.data["customers"]["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("first", "after"),
    [(5, "not-a-cursor"), (5, "a3M6LTE"), (-1, None)],
    ids=["garbage", "negative-offset", "negative-first"],
)
async def test_bad_arguments_are_bad_user_input_on_their_path_only(
    sb: RunningSandbox, first: int, after: str | None
):
    query = """query ($first: Int, $after: String) {
      bad: customers(first: $first, after: $after) { totalCount }
      good: customer(number: 1) { number }
    }"""
    async with graph_server(sb) as graph:
        run = await graph.run(query, {"first": first, "after": after})
    assert codes(run.errors) == [("BAD_USER_INPUT", ["bad"])]
    assert run.data == {"bad": None, "good": {"number": 1}}


@pytest.mark.parametrize(
    "query",
    [
        "{ customers(first: 101) { totalCount } }",
        "{ customer(number: 1) { jobs(first: 500) { totalCount } } }",
    ],
)
async def test_first_above_the_cap_is_refused(sb: RunningSandbox, query: str):
    async with graph_server(sb) as graph:
        run = await graph.run(query)
    # A page size past the cap is a limit (issue 12): refused before execution, with its rule.
    assert run.status == 400
    assert [e["extensions"]["code"] for e in run.errors] == ["QUERY_TOO_COMPLEX"]
    extensions = run.errors[0]["extensions"]
    assert (extensions["rule"], extensions["limit"]) == ("pageSize", 100)
    assert extensions["measure"] > 100
    assert run.calls == 0


# -- errors stay on their path ------------------------------------------------------------------


async def test_missing_records_are_null_with_not_found_never_a_500(
    sb: RunningSandbox, store: AccountStore
):
    plain_job = next(j for j in store.jobs.values() if j.invoice_date is None)
    query = f"""{{
      customer(number: 99999) {{ name }}
      job(number: 1) {{ name }}
      invoice(id: "{plain_job.id}") {{ number }}
      task(id: "1") {{ id }}
      employee(number: 999) {{ name }}
      found: customer(number: 1) {{ number }}
    }}"""
    async with graph_server(sb) as graph:
        run = await graph.run(query)
    assert run.status == 200
    assert sorted(codes(run.errors)) == [
        ("NOT_FOUND", ["customer"]),
        ("NOT_FOUND", ["employee"]),
        ("NOT_FOUND", ["invoice"]),
        ("NOT_FOUND", ["job"]),
        ("NOT_FOUND", ["task"]),
    ]
    assert run.data == {
        "customer": None,
        "job": None,
        "invoice": None,
        "task": None,
        "employee": None,
        "found": {"number": 1},
    }


async def test_an_upstream_failure_nulls_only_its_branch(
    sb: RunningSandbox, store: AccountStore, knobs: Any
):
    # given: Kickserv fails every read of customer 3's jobs
    knobs.faults = [FaultRule(path="/demo/api/v2/customers/3/jobs.json", status=500)]
    query = """{
      customers(first: 5) { nodes { number jobs(first: 2) { totalCount } } }
      employees { number }
    }"""
    async with graph_server(sb) as graph:
        # when
        run = await graph.run(query)
    # then
    assert codes(run.errors) == [("UPSTREAM_UNAVAILABLE", ["customers", "nodes", 2, "jobs"])]
    nodes = run.data["customers"]["nodes"]
    assert [n["number"] for n in nodes] == numbers(store)[:5]
    assert nodes[2]["jobs"] is None
    assert all(n["jobs"] is not None for i, n in enumerate(nodes) if i != 2)
    assert len(run.data["employees"]) == sum(e.active for e in store.employees.values())


async def test_a_failed_root_field_leaves_its_siblings_and_is_not_cached(
    sb: RunningSandbox, store: AccountStore, knobs: Any
):
    # given: /jobs.json fails for one whole read (every retry of it), then recovers
    knobs.faults = [FaultRule(path="/demo/api/v2/jobs.json", status=503, times=4)]
    query = "{ jobs(first: 3) { totalCount } customers(first: 3) { totalCount } }"
    async with graph_server(sb) as graph:
        failed = await graph.run(query)
        again = await graph.run(query)
    assert codes(failed.errors) == [("UPSTREAM_UNAVAILABLE", ["jobs"])]
    assert failed.data == {"jobs": None, "customers": {"totalCount": len(store.customers)}}
    # the failure was not cached: the next request asks Kickserv again and succeeds
    assert again.errors == []
    assert again.paths() == ["/jobs.json"]


# -- the shared cache across requests -----------------------------------------------------------


async def test_concurrent_identical_requests_cost_the_calls_of_one():
    with running_sandbox(SandboxConfig(**CONFIG, latency_ms=50)) as slow:
        async with graph_server(slow) as alone:
            single = await alone.run(example("dashboard"), {"customers": 5, "jobs": 2})
        async with graph_server(slow) as graph:
            slow.reset_requests()
            body = {"query": example("dashboard"), "variables": {"customers": 5, "jobs": 2}}
            # when: eight clients ask the same thing at the same time
            answers = await asyncio.gather(
                *(graph.http.post("/graphql", json=body) for _ in range(8))
            )
            calls = slow.request_count()
    assert all(a.json()["data"] == single.data for a in answers)
    assert calls == single.calls
    reported = [a.json()["extensions"]["upstream"] for a in answers]
    assert sum(r["calls"] for r in reported) == single.calls
    assert sum(r["cacheHits"] for r in reported) >= 7 * single.calls


async def test_upstream_extension_is_on_in_development_and_off_when_disabled(sb: RunningSandbox):
    async with graph_server(sb) as graph:
        run = await graph.run("{ customer(number: 1) { number } }")
    assert set(run.upstream) == {"calls", "pages", "cacheHits", "ms", "rounds"}
    assert run.upstream["calls"] == run.calls == 1
    async with graph_server(sb, env="production", upstream_extensions=False) as graph:
        run = await graph.run("{ customer(number: 1) { number } }")
    assert "upstream" not in (run.body.get("extensions") or {})


# -- invoice by id, from the index --------------------------------------------------------------


def invoice_query(ids: list[int]) -> str:
    fields = "\n".join(f'i{n}: invoice(id: "{i}") {{ id number total }}' for n, i in enumerate(ids))
    return "{" + fields + "}"


async def test_fifty_invoices_by_id_cost_the_listing_pages_once(
    sb: RunningSandbox, store: AccountStore
):
    # given: 50 invoices, and a listing read 10 per page
    invoiced = [j for j in store.jobs.values() if j.invoice_date is not None]
    assert len(invoiced) >= 50
    pages = -(-len(invoiced) // 10)
    first, second = invoiced[:50], invoiced[-50:]
    async with graph_server(
        sb, kickserv_max_per_page=10, max_aliases=50, max_root_fields=50
    ) as graph:
        # when: cold, then warm in the same query shape, then other ids in another request
        cold = await graph.run(invoice_query([j.id for j in first]))
        warm = await graph.run(invoice_query([j.id for j in first]))
        other = await graph.run(invoice_query([j.id for j in second]))
    # then
    assert cold.errors == [] and other.errors == []
    assert cold.calls == pages and set(cold.paths()) == {"/invoices.json"}
    assert warm.calls == 0 and other.calls == 0
    assert [cold.data[f"i{n}"]["number"] for n in range(50)] == [j.number for j in first]
    assert [other.data[f"i{n}"]["number"] for n in range(50)] == [j.number for j in second]


async def test_a_miss_refreshes_the_index_once_not_per_lookup(
    sb: RunningSandbox, store: AccountStore
):
    plain = [j.id for j in store.jobs.values() if j.invoice_date is None][:20]
    async with graph_server(sb, kickserv_max_per_page=10) as graph:
        built = await graph.run(invoice_query([next(iter(store.jobs))]))
        assert built.calls > 1
        # when: twenty ids that are no invoice, twice
        misses = await graph.run(invoice_query(plain))
        again = await graph.run(invoice_query(plain))
        # and once the refresh interval has passed
        tenant = server_of(graph.http._transport.app).registry.get("demo", "demo-token")  # type: ignore[attr-defined,union-attr]
        index = tenant.index(resources.INVOICE_INDEX)
        index.refresh_interval = 0.0
        later = await graph.run(invoice_query(plain))
    assert [e["extensions"]["code"] for e in misses.errors] == ["NOT_FOUND"] * 20
    assert misses.calls == 0 and again.calls == 0  # just built: nothing new to look for
    assert later.calls == 1 and later.paths() == ["/invoices.json"]  # one bounded refresh


# -- the cheapest source ------------------------------------------------------------------------


async def test_dispatch_week_with_glue_fields_only_is_one_call(sb: RunningSandbox):
    async with graph_server(sb) as graph:
        run = await graph.run(example("dispatch_week"), WEEK)
    assert run.errors == []
    assert run.paths() == ["/tasks.json"]


async def test_a_field_the_glue_lacks_costs_one_call_per_distinct_record(
    sb: RunningSandbox, store: AccountStore
):
    query = example("dispatch_week").replace("customer { id number name }", "customer { email }")
    start, end = date.fromisoformat(WEEK["from"]), date.fromisoformat(WEEK["to"])
    customers = {
        store.jobs[t.job_id].customer_id
        for t in store.tasks.values()
        if start <= t.starts_at.date() < end
    }
    async with graph_server(sb) as graph:
        run = await graph.run(query, WEEK)
    assert run.errors == []
    assert run.calls == 1 + len(customers)
    emails = {n["customer"]["email"] for n in run.data["schedule"]["nodes"]}
    assert emails == {store.customers[c].email_address for c in customers}


# -- relations Kickserv makes awkward -----------------------------------------------------------


async def test_locations_are_the_customer_and_its_children_each_with_its_own_jobs(
    sb: RunningSandbox, store: AccountStore
):
    parent = next(c for c in store.customers_by_number.values() if len(c.children) >= 2)
    query = """query ($n: Int!) { customer(number: $n) {
      id parent { number }
      children { number parent { number } }
      locations { id name isPrimary customer { number } jobs(first: 50) { nodes { number } } }
    } }"""
    async with graph_server(sb) as graph:
        run = await graph.run(query, {"n": parent.number})
        child = await graph.run(query, {"n": store.customers[parent.children[0]].number})
    assert run.errors == [] and child.errors == []
    customer = run.data["customer"]
    kids = [store.customers[k] for k in parent.children]
    assert customer["parent"] is None
    assert customer["children"] == [
        {"number": k.number, "parent": {"number": parent.number}} for k in kids
    ]

    def jobs_of(c: Any) -> list[dict[str, int]]:
        return [
            {"number": store.jobs[j].number}
            for j in reversed(c.job_ids)
            if store.jobs[j].status not in ("new", "sent", "viewed", "won", "lost")
        ]

    assert customer["locations"] == [
        {
            "id": str(c.id),
            "name": c.name,
            "isPrimary": c is parent,
            "customer": {"number": parent.number},
            "jobs": {"nodes": jobs_of(c)},
        }
        for c in [parent, *kids]
    ]
    assert child.data["customer"]["parent"] == {"number": parent.number}


def test_children_cost_one_round_however_many():
    async def scenario() -> None:
        with running_sandbox(SandboxConfig(**CONFIG, latency_ms=100)) as slow:
            store = slow.store("demo")
            parent = max(store.customers_by_number.values(), key=lambda c: len(c.children))
            async with graph_server(slow) as graph:
                run = await graph.run(
                    "query ($n: Int!) { customer(number: $n) { children { number email } } }",
                    {"n": parent.number},
                )
            kids = [store.customers[k] for k in parent.children]
            assert len(kids) >= 3
            assert run.data["customer"]["children"] == [
                {"number": k.number, "email": k.email_address} for k in kids
            ]
            assert (run.calls, run.rounds) == (1 + len(kids), 2)

    asyncio.run(scenario())


async def test_a_task_location_is_the_site_of_its_job(sb: RunningSandbox, store: AccountStore):
    child = next(c for c in store.customers.values() if c.parent_id is not None and c.job_ids)
    task = next(
        store.tasks[t] for j in child.job_ids for t in store.jobs[j].task_ids if store.tasks[t]
    )
    query = f"""{{ task(id: "{task.id}") {{
      location {{ id isPrimary customer {{ number }} jobs(first: 50) {{ totalCount }} }}
    }} }}"""
    async with graph_server(sb) as graph:
        run = await graph.run(query)
    assert run.errors == []
    listed = [
        j
        for j in child.job_ids
        if store.jobs[j].status not in ("new", "sent", "viewed", "won", "lost")
    ]
    assert run.data["task"]["location"] == {
        "id": str(child.id),
        "isPrimary": False,
        "customer": {"number": store.customers[child.parent_id or 0].number},
        "jobs": {"totalCount": len(listed)},
    }


async def test_an_employee_tasks_are_their_visits_of_the_period(
    sb: RunningSandbox, store: AccountStore
):
    employee = max(
        store.employees.values(),
        key=lambda e: sum(e.id in t.employee_ids for t in store.tasks.values()),
    )
    start, end = date.fromisoformat(WEEK["from"]), date.fromisoformat(WEEK["to"])
    query = """query ($n: Int!, $from: Date!, $to: Date!) {
      employee(number: $n) { tasks(from: $from, to: $to) { id assignees { number } } }
    }"""
    async with graph_server(sb) as graph:
        run = await graph.run(query, {"n": employee.number, **WEEK})
    assert run.errors == []
    expected = [
        t
        for t in store.tasks_by_start()
        if employee.id in t.employee_ids and start <= t.starts_at.date() < end
    ]
    assert expected
    tasks = run.data["employee"]["tasks"]
    assert [t["id"] for t in tasks] == [str(t.id) for t in expected]
    assert all({"number": employee.number} in t["assignees"] for t in tasks)


async def test_a_payment_knows_its_job_and_invoice(sb: RunningSandbox, store: AccountStore):
    assert len(store.payments) <= 100
    query = "{ payments(first: 100) { nodes { id job { number } invoice { number } customer { number } } } }"
    async with graph_server(sb) as graph:
        run = await graph.run(query)
    assert run.errors == []
    for node in run.data["payments"]["nodes"]:
        payment = store.payments[int(node["id"])]
        job = store.jobs[payment.job_id]
        assert node["job"] == {"number": job.number}
        assert node["invoice"] == ({"number": job.number} if job.invoice_date else None)
        assert node["customer"] == {"number": store.customers[payment.customer_id].number}


async def test_opportunities_of_a_customer_come_from_the_index(
    sb: RunningSandbox, store: AccountStore
):
    query = "{ customers(first: 30) { nodes { number opportunities { number status } } } }"
    async with graph_server(sb) as graph:
        run = await graph.run(query)
    assert run.errors == []
    assert run.paths().count("/opportunities.json") == -(
        -sum(j.status in ("new", "sent", "viewed", "won", "lost") for j in store.jobs.values())
        // 100
    )
    for node in run.data["customers"]["nodes"]:
        customer = store.customers_by_number[node["number"]]
        expected = {
            (store.jobs[j].number, store.jobs[j].status)
            for j in customer.job_ids
            if store.jobs[j].status in ("new", "sent", "viewed", "won", "lost")
        }
        assert {(o["number"], o["status"]) for o in node["opportunities"]} == expected


async def test_a_customer_invoices_and_a_job_invoice_cost_no_lookup_of_the_customer(
    sb: RunningSandbox, store: AccountStore
):
    customer = max(
        store.customers_by_number.values(),
        key=lambda c: sum(store.jobs[j].invoice_date is not None for j in c.job_ids),
    )
    query = """query ($n: Int!) { customer(number: $n) {
      invoices { number status customer { number name } }
      jobs(first: 50) { nodes { number invoice { number customer { number name } } customer { name } } }
    } }"""
    async with graph_server(sb) as graph:
        run = await graph.run(query, {"n": customer.number})
    assert run.errors == []
    invoiced = [store.jobs[j] for j in reversed(customer.job_ids) if store.jobs[j].invoice_date]
    got = run.data["customer"]
    assert [i["number"] for i in got["invoices"]] == [j.number for j in invoiced]
    who = {"number": customer.number, "name": customer.name}
    assert all(i["customer"] == who for i in got["invoices"])
    assert all(
        n["invoice"] is None or n["invoice"]["customer"] == who for n in got["jobs"]["nodes"]
    )
    # the customer, its jobs listing: nothing else (no customer index, no job details)
    assert sorted(run.paths()) == sorted(
        [f"/customers/{customer.number}.json", f"/customers/{customer.number}/jobs.json"]
    )
