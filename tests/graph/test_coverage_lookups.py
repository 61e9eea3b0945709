"""Coverage of the community reference's single-record reads, over the sandbox on a real port:
an opportunity by number, a vendor by id (and its delete), a task of a job, an inactive employee,
the schedule by task type, an item search's full names, and status words as enums."""

from __future__ import annotations

from sandbox.knobs import FaultRule
from tests.graph.write_harness import data_of, error_of, graph_over_sandbox


async def test_employee_by_number_answers_an_inactive_employee() -> None:
    async with graph_over_sandbox() as h:
        inactive = next(e for e in h.store.employees.values() if not e.active)
        query = "query($n: Int!) { employee(number: $n) { number name active } }"
        found = data_of(await h.gql(query, {"n": inactive.number}))["employee"]
        assert found == {"number": inactive.number, "name": inactive.name, "active": False}
        listed = data_of(await h.gql("{ employees { number } }"))["employees"]
        assert inactive.number not in [e["number"] for e in listed]
        missing = error_of(await h.gql(query, {"n": 9999}))
        assert missing["extensions"]["code"] == "NOT_FOUND"


async def test_item_search_answers_full_names() -> None:
    async with graph_over_sandbox() as h:
        item = next(iter(h.store.items.values()))
        query = "query($q: String!) { items(name: $q, first: 50) { nodes { id fullName } } }"
        nodes = data_of(await h.gql(query, {"q": item.name[:4]}))["items"]["nodes"]
        assert nodes and all(n["fullName"] for n in nodes)
        assert {"id": str(item.id), "fullName": item.full_name} in nodes


async def test_opportunity_by_number() -> None:
    async with graph_over_sandbox() as h:
        opportunity = next(j for j in h.store.jobs.values() if j.status == "new")
        job = next(j for j in h.store.jobs.values() if j.status == "complete")
        query = "query($n: Int!) { opportunity(number: $n) { number status customer { number } } }"
        found = data_of(await h.gql(query, {"n": opportunity.number}))["opportunity"]
        owner = h.store.customers[opportunity.customer_id].number
        assert found == {
            "number": opportunity.number,
            "status": "new",
            "customer": {"number": owner},
        }
        not_one = error_of(await h.gql(query, {"n": job.number}))
        assert not_one["extensions"]["code"] == "NOT_FOUND"
        assert "not an opportunity" in not_one["message"]


async def test_vendor_by_id_then_deleted() -> None:
    async with graph_over_sandbox() as h:
        vendor = next(iter(h.store.vendors.values()))
        query = "query($id: ID!) { vendor(id: $id) { id name } }"
        found = data_of(await h.gql(query, {"id": str(vendor.id)}))["vendor"]
        assert found == {"id": str(vendor.id), "name": vendor.name}
        delete = "mutation($id: ID!) { deleteVendor(id: $id) { id name } }"
        deleted = data_of(await h.gql(delete, {"id": str(vendor.id)}))["deleteVendor"]
        assert deleted == found
        assert vendor.id not in h.store.vendors
        gone = error_of(await h.gql(query, {"id": str(vendor.id)}))
        assert gone["extensions"]["code"] == "NOT_FOUND"
        listed = data_of(await h.gql("{ vendors(first: 100) { nodes { id } } }"))["vendors"]
        assert {"id": str(vendor.id)} not in listed["nodes"]
        bad = error_of(await h.gql(query, {"id": "x1"}))
        assert bad["extensions"]["code"] == "BAD_USER_INPUT"


async def test_task_of_a_job() -> None:
    async with graph_over_sandbox() as h:
        task = next(iter(h.store.tasks.values()))
        job = h.store.jobs[task.job_id]
        other = next(j for j in h.store.jobs.values() if j.id != job.id)
        query = "query($id: ID!, $j: Int) { task(id: $id, jobNumber: $j) { id job { number } } }"
        found = data_of(await h.gql(query, {"id": str(task.id), "j": job.number}))["task"]
        assert found == {"id": str(task.id), "job": {"number": job.number}}
        wrong = error_of(await h.gql(query, {"id": str(task.id), "j": other.number}))
        assert wrong["extensions"]["code"] == "NOT_FOUND"


async def test_schedule_by_task_type() -> None:
    async with graph_over_sandbox() as h:
        week = {"from": "2026-11-16", "to": "2026-11-30"}
        in_week = [
            t
            for t in h.store.tasks.values()
            if "2026-11-16" <= str(t.starts_at.date()) < "2026-11-30"
        ]
        kinds = {t.task_type_id for t in in_week}
        assert len(kinds) > 1, "the seed should have several task types in a fortnight"
        kind = sorted(k for k in kinds if k is not None)[0]
        query = """query($from: Date!, $to: Date!, $tt: ID) {
          schedule(from: $from, to: $to, taskTypeId: $tt, first: 100) { totalCount nodes { id } } }"""
        typed = data_of(await h.gql(query, {**week, "tt": str(kind)}))["schedule"]
        wanted = {str(t.id) for t in in_week if t.task_type_id == kind}
        assert {n["id"] for n in typed["nodes"]} == wanted
        assert typed["totalCount"] == len(wanted)
        everything = data_of(await h.gql(query, {**week, "tt": None}))["schedule"]
        assert everything["totalCount"] == len(in_week) > len(wanted)


async def test_a_customers_jobs_by_status_take_an_enum() -> None:
    async with graph_over_sandbox() as h:
        customer = next(
            c for c in h.store.customers.values()
            if any(h.store.jobs[j].status == "complete" for j in c.job_ids)
        )  # fmt: skip
        query = """query($c: Int!, $s: JobStatus) {
          customer(number: $c) { jobs(status: $s, first: 100) { nodes { number status } } } }"""
        done = data_of(await h.gql(query, {"c": customer.number, "s": "COMPLETE"}))
        nodes = done["customer"]["jobs"]["nodes"]
        assert nodes and {n["status"] for n in nodes} == {"complete"}
        bogus = error_of(await h.gql(query, {"c": customer.number, "s": "bogus"}))
        assert "JobStatus" in bogus["message"]


async def test_a_vendor_delete_kickserv_does_not_serve_says_so() -> None:
    async with graph_over_sandbox() as h:
        vendor = next(iter(h.store.vendors.values()))
        refusal = FaultRule(method="DELETE", path="*/vendors/*", action="error", status=405)
        h.sandbox.state.knobs.faults = [refusal]
        delete = "mutation($id: ID!) { deleteVendor(id: $id) { id } }"
        refused = error_of(await h.gql(delete, {"id": str(vendor.id)}))
        assert refused["extensions"]["code"] == "UPSTREAM_UNSUPPORTED"
        assert vendor.id in h.store.vendors
