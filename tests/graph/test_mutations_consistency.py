"""Read-your-writes: after a mutation, queries that had been answered (and cached) before it see the
write, along each of Kickserv's relationships the write touches."""

from __future__ import annotations

from tests.graph.write_harness import data_of, error_of, graph_over_sandbox, unsupported

CREATE_JOB = """
mutation Create($input: CreateJobInput!) { createJob(input: $input) { id number } }
"""


def job_spec(h, customer: int = 8, **changes) -> dict:
    spec = {"customerNumber": customer, "jobTypeId": str(next(iter(h.store.job_types)))}
    return {**spec, **changes}


async def _create_job(h, **changes) -> dict:
    return data_of(await h.gql(CREATE_JOB, {"input": job_spec(h, **changes)}))["createJob"]


MONEY_VIEWS = """
query Money($n: Int!, $id: ID!, $c: Int!, $cid: ID!) {
  job(number: $n) { balanceRemaining }
  invoice(id: $id) { balanceRemaining }
  invoices(status: UNPAID, first: 100) { totalBalanceRemaining nodes { id balanceRemaining } }
  customer(number: $c) { balance }
  byId: customer(id: $cid) { balance }
}"""
INVOICE = """
mutation Invoice($n: Int!) { invoiceJob(jobNumber: $n, input: {invoiceDate: "2026-11-21"}) { id } }
"""
PAY = """
mutation Pay($n: Int!) { recordPayment(jobNumber: $n, input: {amount: "40.00"}) { id } }
"""


async def test_a_payment_changes_the_invoice_the_job_the_customer_and_the_listing():
    async with graph_over_sandbox() as h:
        # given: an invoiced job of 100.00, and every view of its money read (and cached)
        job = await _create_job(h, lineItems=[{"description": "Work", "pricePerUnit": "100"}])
        data_of(await h.gql(INVOICE, {"n": job["number"]}))
        customer = h.store.customers_by_number[8]
        variables = {"n": job["number"], "id": job["id"], "c": 8, "cid": str(customer.id)}
        before = data_of(await h.gql(MONEY_VIEWS, variables))
        assert before["job"]["balanceRemaining"] == "100.0"
        assert before["invoice"]["balanceRemaining"] == "100.0"
        # when
        paid = await h.gql(PAY, {"n": job["number"]})
        if h.strict:  # a Kickserv without POST /jobs/{n}/payments.json: refused, nothing changed
            unsupported(paid, "POST /jobs/{n}/payments.json")
            assert data_of(await h.gql(MONEY_VIEWS, variables)) == before
            return
        data_of(paid)
        after = data_of(await h.gql(MONEY_VIEWS, variables))
        # then
        assert after["job"]["balanceRemaining"] == "60.0"
        assert after["invoice"]["balanceRemaining"] == "60.0"
        entry = next(n for n in after["invoices"]["nodes"] if n["id"] == job["id"])
        assert entry["balanceRemaining"] == "60.0"
        owed = lambda d: float(d["invoices"]["totalBalanceRemaining"])  # noqa: E731
        assert round(owed(before) - owed(after), 2) == 40.0
        for view in ("customer", "byId"):
            drop = float(before[view]["balance"]) - float(after[view]["balance"])
            assert round(drop, 2) == 40.0, view


SCHEDULES = """
query Schedules($a: Int!, $b: Int!) {
  a: employee(number: $a) { tasks(from: "2026-11-23", to: "2026-11-30") { id } }
  b: employee(number: $b) { tasks(from: "2026-11-23", to: "2026-11-30") { id } }
  schedule(from: "2026-11-23", to: "2026-11-30", first: 100) { nodes { id } }
}"""
SCHEDULE_TASK = """
mutation Task($n: Int!, $who: ID!) {
  scheduleTask(jobNumber: $n, input: {startsAt: "2026-11-27T07:00:00-05:00", assigneeIds: [$who]}) { id }
}"""
REASSIGN = """
mutation Reassign($id: ID!, $who: ID!) { reassignTask(id: $id, assigneeIds: [$who]) { id } }
"""
JOB_TASKS = """query Tasks($n: Int!) { job(number: $n) { status tasks { id } } }"""


async def test_a_new_task_and_a_reassignment_change_both_schedules_and_the_job():
    async with graph_over_sandbox() as h:
        job = await _create_job(h)
        a, b = (h.store.employees[i] for i in sorted(h.store.employees)[:2])
        variables = {"a": a.number, "b": b.number}
        before = data_of(await h.gql(SCHEDULES, variables))
        assert data_of(await h.gql(JOB_TASKS, {"n": job["number"]}))["job"]["tasks"] == []
        task = data_of(await h.gql(SCHEDULE_TASK, {"n": job["number"], "who": str(a.id)}))
        task_id = task["scheduleTask"]["id"]
        placed = data_of(await h.gql(SCHEDULES, variables))
        assert {"id": task_id} in placed["a"]["tasks"] and {"id": task_id} not in placed["b"][
            "tasks"
        ]
        assert {"id": task_id} in placed["schedule"]["nodes"]
        assert {"id": task_id} not in before["schedule"]["nodes"]
        seen = data_of(await h.gql(JOB_TASKS, {"n": job["number"]}))["job"]
        assert seen == {"status": "scheduled", "tasks": [{"id": task_id}]}
        data_of(await h.gql(REASSIGN, {"id": task_id, "who": str(b.id)}))
        moved = data_of(await h.gql(SCHEDULES, variables))
        assert {"id": task_id} not in moved["a"]["tasks"] and {"id": task_id} in moved["b"]["tasks"]


JOB_VIEWS = """
query Jobs($c: Int!, $id: ID!, $n: Int!) {
  customer(number: $c) { jobs(first: 100) { totalCount nodes { number } } }
  jobs(first: 5) { nodes { number } }
  byId: job(id: $id) { number name }
  job(number: $n) { total lineItems { description } tags notes { body } }
}"""
ADD_ITEMS = """
mutation Items($n: Int!) {
  addLineItems(jobNumber: $n, lineItems: [{description: "Extra", pricePerUnit: "25"}]) { number }
  tagJob(jobNumber: $n, add: ["rush"]) { number }
  addJobNote(jobNumber: $n, input: {body: "Call first"}) { id }
  updateJob(number: $n, input: {name: "Renamed"}) { number }
}"""
# The same writes one by one, for the strict sandbox (a refused non-null field nulls the data).
ADD_ITEMS_ONLY = """
mutation Items($n: Int!) {
  addLineItems(jobNumber: $n, lineItems: [{description: "Extra", pricePerUnit: "25"}]) { number }
  updateJob(number: $n, input: {name: "Renamed"}) { number }
}"""
TAG_RUSH = """mutation Tag($n: Int!) { tagJob(jobNumber: $n, add: ["rush"]) { number } }"""
NOTE_CALL = (
    """mutation Note($n: Int!) { addJobNote(jobNumber: $n, input: {body: "Call first"}) { id } }"""
)


async def test_a_new_job_and_its_changes_show_in_every_job_view():
    async with graph_over_sandbox() as h:
        old = await _create_job(h)
        variables = {"c": 8, "id": old["id"], "n": old["number"]}
        before = data_of(await h.gql(JOB_VIEWS, variables))
        job = await _create_job(h)
        after = data_of(await h.gql(JOB_VIEWS, {**variables, "id": job["id"]}))
        count = lambda d: d["customer"]["jobs"]["totalCount"]  # noqa: E731
        assert count(after) == count(before) + 1
        assert {"number": job["number"]} in after["customer"]["jobs"]["nodes"]
        assert after["jobs"]["nodes"][0] == {"number": job["number"]}
        assert after["byId"]["number"] == job["number"]
        tags, notes = ["rush"], [{"body": "Call first"}]
        if h.strict:  # no tag or job-note write URL there: those two refused, the rest done
            data_of(await h.gql(ADD_ITEMS_ONLY, {"n": old["number"]}))
            unsupported(await h.gql(TAG_RUSH, {"n": old["number"]}), "PUT /jobs/{n}/tags.json")
            note = await h.gql(NOTE_CALL, {"n": old["number"]})
            unsupported(note, "POST /jobs/{n}/notes.json")
            tags, notes = [], []
        else:
            data_of(await h.gql(ADD_ITEMS, {"n": old["number"]}))
        changed = data_of(await h.gql(JOB_VIEWS, variables))
        assert changed["job"] == {
            "total": "25.0", "lineItems": [{"description": "Extra"}], "tags": tags, "notes": notes,
        }  # fmt: skip
        assert changed["byId"]["name"] == "Renamed"


INVOICE_VIEWS = """
query Invoices($id: ID!) {
  invoice(id: $id) { number total }
  invoices(first: 5) { totalCount nodes { id } }
}"""


async def test_an_invoiced_job_appears_in_the_listing_and_by_id():
    async with graph_over_sandbox() as h:
        job = await _create_job(h, lineItems=[{"description": "Work", "pricePerUnit": "75"}])
        before = await h.gql(INVOICE_VIEWS, {"id": job["id"]})
        assert error_of(before)["extensions"]["code"] == "NOT_FOUND"
        data_of(await h.gql(INVOICE, {"n": job["number"]}))
        after = data_of(await h.gql(INVOICE_VIEWS, {"id": job["id"]}))
        assert after["invoice"] == {"number": job["number"], "total": "75.0"}
        assert after["invoices"]["nodes"][0] == {"id": job["id"]}
        assert after["invoices"]["totalCount"] == before["data"]["invoices"]["totalCount"] + 1


OPPORTUNITY_VIEWS = """
query Opps($cid: ID!) {
  opportunities(first: 100) { nodes { number status } }
  customer(id: $cid) { opportunities { number status } }
}"""
NEW_OPPORTUNITY = """
mutation Opp($t: ID!) { createOpportunity(input: {customerNumber: 8, jobTypeId: $t}) { number } }
"""
WON = """mutation Won($n: Int!) { markOpportunityWon(number: $n) { number } }"""


async def test_opportunities_show_in_the_listing_and_on_the_customer():
    async with graph_over_sandbox() as h:
        cid = str(h.store.customers_by_number[8].id)
        data_of(await h.gql(OPPORTUNITY_VIEWS, {"cid": cid}))
        made = await h.gql(NEW_OPPORTUNITY, {"t": str(next(iter(h.store.job_types)))})
        number = data_of(made)["createOpportunity"]["number"]
        after = data_of(await h.gql(OPPORTUNITY_VIEWS, {"cid": cid}))
        assert {"number": number, "status": "new"} in after["opportunities"]["nodes"]
        assert {"number": number, "status": "new"} in after["customer"]["opportunities"]
        data_of(await h.gql(WON, {"n": number}))
        won = data_of(await h.gql(OPPORTUNITY_VIEWS, {"cid": cid}))
        assert {"number": number, "status": "won"} in won["opportunities"]["nodes"]
        assert {"number": number, "status": "won"} in won["customer"]["opportunities"]


CUSTOMER_VIEWS = """
query Customer($c: Int!, $cid: ID!) {
  customer(number: $c) { name notes { body } }
  byId: customer(id: $cid) { name }
  customers(filter: {number: $c}) { nodes { name } }
  vendors(first: 100) { nodes { name } }
}"""
CUSTOMER_WRITES = """
mutation Writes($c: Int!) {
  updateCustomer(number: $c, input: {name: "Renamed Co"}) { number }
  addCustomerNote(customerNumber: $c, input: {body: "Prefers email"}) { id }
  createVendor(input: {name: "Acme Pipe"}) { id }
}"""
DELETE = """mutation Delete($c: Int!) { deleteCustomer(number: $c) { number } }"""


async def test_customer_changes_notes_vendors_and_deletion_are_seen():
    async with graph_over_sandbox() as h:
        customer = h.store.customers_by_number[9]
        variables = {"c": 9, "cid": str(customer.id)}
        data_of(await h.gql(CUSTOMER_VIEWS, variables))
        data_of(await h.gql(CUSTOMER_WRITES, {"c": 9}))
        after = data_of(await h.gql(CUSTOMER_VIEWS, variables))
        assert after["customer"]["name"] == after["byId"]["name"] == "Renamed Co"
        assert after["customers"]["nodes"] == [{"name": "Renamed Co"}]
        assert {"body": "Prefers email"} in after["customer"]["notes"]
        assert {"name": "Acme Pipe"} in after["vendors"]["nodes"]
        data_of(await h.gql(DELETE, {"c": 9}))
        gone = await h.gql(CUSTOMER_VIEWS, variables)
        assert error_of(gone)["extensions"]["code"] == "NOT_FOUND"
        assert gone["data"]["customers"]["nodes"] == []
