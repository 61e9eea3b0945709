"""Every mutation, then every way to read what it changed: the new value, right away.

For each mutation of the schema (taken from the schema: a new mutation without a case here fails),
a case arranges the records the write touches, reads each of them by every path the graph offers
(root fields, relations, ``_entities``, single-record lookups), which warms the shared cache, the
indexes and the response cache of the server; then it writes, and reads the same paths again through
the same server. Each read must show the new value, and must have shown another before (so it really
was read, and cached, before the write).

The reads after the write run in the order given, one request each. Global-id paths come first:
listings and index lookups prime the by-id records, which would hide a stale by-id entry from a
later read.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from graph.schema.query import build_schema, graphql_schema
from graph.server.assembly import server_of
from sandbox.choices import STRICT
from tests.graph.write_harness import Harness, data_of, graph_over_sandbox
from tests.push.conftest import status_change

Ctx = dict[str, Any]
Pick = Callable[[Mapping[str, Any], Ctx], Any]
Expect = Callable[[Ctx, Any], Any]

WEEK = {"from": "2026-11-23", "to": "2026-11-30"}  # the week after the sandbox's today
NEXT_WEEK = {"later_from": "2026-12-01", "later_to": "2026-12-08"}
UNKNOWN_ID = "1"  # an id no record has: what a read of a record the write will create sees before


# -- reads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One path to a value a write changes: a query (variables from the context) and what to take
    from its answer; ``expect`` gives the value after the write (from the context and the value
    before)."""

    path: str
    query: str
    pick: Pick
    expect: Expect
    variables: Callable[[Ctx], dict[str, Any]] | None = None


ABSENT = "absent"  # what a path through a list finds when no entry matches

# A step into an answer: a key, a list index, or (key, var): the entry whose key is the context's var.
Step = str | int | tuple[str, str]


def outcome(body: Mapping[str, Any]) -> Any:
    """The data of an answer, or ``error:CODE`` when it failed (a deleted record, say)."""
    if body.get("errors"):
        return "error:" + str(body["errors"][0].get("extensions", {}).get("code"))
    return body["data"]


def walk(value: Any, path: tuple[Step, ...], ctx: Ctx) -> Any:
    for step in path:
        if value is None or value == ABSENT:
            return value
        if isinstance(step, tuple):
            key, var = step
            value = next((e for e in value if e[key] == ctx[var]), ABSENT)
        else:
            value = value[step]
    return value


def at(*path: Step) -> Pick:
    """The value at ``path`` of the data, or the error of the answer."""

    def pick(body: Mapping[str, Any], ctx: Ctx) -> Any:
        data = outcome(body)
        return data if isinstance(data, str) else walk(data, path, ctx)

    return pick


def has(*path: Step, key: str, var: str) -> Pick:
    """Whether the list at ``path`` has an entry whose ``key`` is the context's ``var``."""
    find = at(*path, (key, var))
    return lambda body, ctx: find(body, ctx) != ABSENT


def count(*path: Step) -> Pick:
    find = at(*path)
    return lambda body, ctx: len(find(body, ctx) or ())


def is_(value: Any) -> Expect:
    return lambda ctx, before: value


def plus_one(ctx: Ctx, before: Any) -> Any:
    return before + 1


def entity(typename: str, key: str, var: str, selection: str) -> tuple[str, Callable[[Ctx], Any]]:
    """An ``_entities`` query for one representation, and its variables."""
    query = (
        f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on {typename} "
        f"{{ {selection} }} }} }}"
    )
    return query, lambda ctx: {"r": [{"__typename": typename, key: ctx[var]}]}


def read_entity(
    path: str, typename: str, key: str, var: str, selection: str, pick: Pick, expect: Expect
) -> Read:
    query, variables = entity(typename, key, var, selection)
    return Read(path, query, pick, expect, variables)


def variables_of(query: str, ctx: Ctx) -> dict[str, Any]:
    names = set(re.findall(r"\$(\w+)\s*:", query))
    return {name: ctx[name] for name in names}


async def observe(h: Harness, read: Read, ctx: Ctx) -> Any:
    variables = read.variables(ctx) if read.variables else variables_of(read.query, ctx)
    return read.pick(await h.gql(read.query, variables), ctx)


# -- cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """``arrange`` makes what the write touches and gives the context; ``write`` is the mutation
    (variables from the context); ``learn`` adds what its answer says (new ids) to the context."""

    arrange: Callable[[Harness], Awaitable[Ctx]]
    write: str
    reads: tuple[Read, ...]
    learn: Callable[[dict[str, Any]], Ctx] = lambda answer: {}
    unobservable: str | None = None  # why no read can show what the write changes
    # The error code the write answers against the reference-strict sandbox (a route or payload
    # the reference does not confirm, absent there); None: it succeeds in both personalities.
    strict_refusal: str | None = None
    webhooks: bool = False  # the server runs beside a webhook receiver it may send to


CREATE_CUSTOMER = (
    """mutation($input: CustomerInput!) { createCustomer(input: $input) { id number } }"""
)
CREATE_JOB = """
mutation($input: CreateJobInput!) {
  createJob(input: $input) { id number tasks { id } lineItems { id } }
}"""
INVOICE = """mutation($j: Int!) { invoiceJob(jobNumber: $j, input: {invoiceDate: "2026-11-21"}) { id } }"""
PAY = """mutation($j: Int!) { recordPayment(jobNumber: $j, input: {amount: "10.00"}) { id } }"""
CREATE_OPPORTUNITY = """
mutation($c: Int!, $jt: ID!) {
  createOpportunity(input: {customerNumber: $c, jobTypeId: $jt, name: "Estimate"}) { id number }
}"""


def people(h: Harness, customer: int) -> Ctx:
    """A customer, two technicians, a job type: what most cases start from."""
    first, second = (h.store.employees[i] for i in sorted(h.store.employees)[:2])
    return {
        "c": customer,
        "cid": str(h.store.customers_by_number[customer].id),
        "e": first.number,
        "eid": str(first.id),
        "e2": second.number,
        "e2id": str(second.id),
        "jt": str(next(iter(h.store.job_types))),
        **WEEK,
        **NEXT_WEEK,
    }


async def job_for(h: Harness, ctx: Ctx, *, tasks: bool = True, invoiced: bool = False) -> Ctx:
    """A job of the context's customer with one line item (100.00) and, unless told not to, one
    task of the first technician in ``WEEK``; invoiced and paid 10.00 when asked."""
    spec: dict[str, Any] = {
        "customerNumber": ctx["c"],
        "jobTypeId": ctx["jt"],
        "name": "Boiler Service",
        "lineItems": [{"description": "Work", "pricePerUnit": "100"}],
    }
    if tasks:
        start = {"startsAt": "2026-11-24T09:00:00-05:00", "endsAt": "2026-11-24T10:00:00-05:00"}
        spec["tasks"] = [{**start, "assigneeIds": [ctx["eid"]]}]
    job = data_of(await h.gql(CREATE_JOB, {"input": spec}))["createJob"]
    made = {"j": job["number"], "jid": job["id"], "li": job["lineItems"][0]["id"]}
    if tasks:
        made["t"] = job["tasks"][0]["id"]
    if invoiced and h.strict:  # no POST /jobs/{n}/payments.json there: paid in Kickserv's UI
        made["payid"] = str(h.seed_payment(job["number"], "10.00"))
        data_of(await h.gql(INVOICE, {"j": job["number"]}))
    elif invoiced:
        data_of(await h.gql(INVOICE, {"j": job["number"]}))
        made["payid"] = data_of(await h.gql(PAY, {"j": job["number"]}))["recordPayment"]["id"]
    return {**ctx, **made}


async def family(h: Harness) -> Ctx:
    """A child customer (a location of customer 8) with an invoiced, part-paid job that has a task,
    and an opportunity: every record that embeds a customer's glue."""
    parent = h.store.customers_by_number[8]
    child_input = {"name": "Cherry Site", "parentId": str(parent.id)}
    child = data_of(await h.gql(CREATE_CUSTOMER, {"input": child_input}))["createCustomer"]
    ctx = {**people(h, child["number"]), "p": parent.number, "pid": str(parent.id)}
    ctx = await job_for(h, ctx, invoiced=True)
    opportunity = data_of(await h.gql(CREATE_OPPORTUNITY, ctx))["createOpportunity"]
    return {**ctx, "o": opportunity["number"], "oid": opportunity["id"]}


def money(pick: Pick) -> Pick:
    """An amount as a float (whatever places Kickserv wrote), or what ``pick`` gave otherwise."""

    def amount(body: Mapping[str, Any], ctx: Ctx) -> Any:
        value = pick(body, ctx)
        try:
            return float(value)
        except (TypeError, ValueError):
            return value

    return amount


def by(delta: float) -> Expect:
    return lambda ctx, before: round(before + delta, 2)


NOT_FOUND = is_("error:NOT_FOUND")
GONE = is_(False)
THERE = is_(True)


# -- customers ---------------------------------------------------------------------------------------

SITE = "Renamed Site"
NAMED = is_(SITE)
BOTH_NAMED = is_({"customer": {"name": SITE}, "location": {"name": SITE}})

update_customer = Case(
    family,
    """mutation($c: Int!) { updateCustomer(number: $c, input: {name: "Renamed Site"}) { name } }""",
    (
        Read("customer(id)", "query($cid: ID!) { customer(id: $cid) { name } }",
              at("customer", "name"), NAMED),
        read_entity("_entities Customer(id)", "Customer", "id", "cid", "name",
                    at("_entities", 0, "name"), NAMED),
        Read("customer(id: parent).children",
              "query($pid: ID!) { customer(id: $pid) { children { id name } } }",
              at("customer", "children", ("id", "cid"), "name"), NAMED),
        Read("job(id).customer", "query($jid: ID!) { job(id: $jid) { customer { name } } }",
              at("job", "customer", "name"), NAMED),
        read_entity("_entities Job(id).customer", "Job", "id", "jid", "customer { name }",
                    at("_entities", 0, "customer", "name"), NAMED),
        read_entity("_entities Invoice(id).customer", "Invoice", "id", "jid", "customer { name }",
                    at("_entities", 0, "customer", "name"), NAMED),
        read_entity("_entities Payment(id).customer", "Payment", "id", "payid",
                    "customer { name }", at("_entities", 0, "customer", "name"), NAMED),
        read_entity("_entities Opportunity(id).customer", "Opportunity", "id", "oid",
                    "customer { name }", at("_entities", 0, "customer", "name"), NAMED),
        read_entity("_entities Task(id).customer", "Task", "id", "t",
                    "customer { name } location { name }", at("_entities", 0), BOTH_NAMED),
        Read("invoice(id).customer", "query($jid: ID!) { invoice(id: $jid) { customer { name } } }",
              at("invoice", "customer", "name"), NAMED),
        Read("customer(number)", "query($c: Int!) { customer(number: $c) { name } }",
              at("customer", "name"), NAMED),
        read_entity("_entities Customer(number)", "Customer", "number", "c", "name",
                    at("_entities", 0, "name"), NAMED),
        Read("job(number).customer",
              "query($j: Int!) { job(number: $j) { customer { name } location { name } } }",
              at("job"), BOTH_NAMED),
        Read("job(number).payments.customer",
              "query($j: Int!) { job(number: $j) { payments { customer { name } } } }",
              at("job", "payments", 0, "customer", "name"), NAMED),
        Read("task(id).customer",
              "query($t: ID!) { task(id: $t) { customer { name } location { name } } }",
              at("task"), BOTH_NAMED),
        Read("customer(number: parent).children",
              "query($p: Int!) { customer(number: $p) { children { id name } } }",
              at("customer", "children", ("id", "cid"), "name"), NAMED),
        Read("customer(number: parent).locations",
              "query($p: Int!) { customer(number: $p) { locations { id name } } }",
              at("customer", "locations", ("id", "cid"), "name"), NAMED),
        read_entity("_entities Customer(number: parent).children", "Customer", "number", "p",
                    "children { id name }",
                    at("_entities", 0, "children", ("id", "cid"), "name"), NAMED),
        Read("customers(filter: number)",
              "query($c: Int!) { customers(filter: {number: $c}) { nodes { name } } }",
              at("customers", "nodes", 0, "name"), NAMED),
        Read("customers", "{ customers(first: 100) { nodes { number name } } }",
              at("customers", "nodes", ("number", "c"), "name"), NAMED),
        Read("schedule.customer",
              """query($from: Date!, $to: Date!) {
                   schedule(from: $from, to: $to, first: 100) {
                     nodes { id customer { name } location { name } } } }""",
              at("schedule", "nodes", ("id", "t")),
              lambda ctx, before: {"id": ctx["t"], **BOTH_NAMED(ctx, before)}),
        Read("employee.tasks.customer",
              """query($e: Int!, $from: Date!, $to: Date!) {
                   employee(number: $e) { tasks(from: $from, to: $to) { id customer { name } } } }""",
              at("employee", "tasks", ("id", "t"), "customer", "name"), NAMED),
        Read("job(number).tasks.customer",
              "query($j: Int!) { job(number: $j) { tasks { customer { name } } } }",
              at("job", "tasks", 0, "customer", "name"), NAMED),
        Read("invoices.customer", "{ invoices(first: 100) { nodes { id customer { name } } } }",
              at("invoices", "nodes", ("id", "jid"), "customer", "name"), NAMED),
        Read("opportunities.customer",
              "{ opportunities(first: 100) { nodes { number customer { name } } } }",
              at("opportunities", "nodes", ("number", "o"), "customer", "name"),
              NAMED),
        Read("customer.opportunities.customer",
              "query($c: Int!) { customer(number: $c) { opportunities { customer { name } } } }",
              at("customer", "opportunities", 0, "customer", "name"), NAMED),
        Read("payments.customer",
              "query($c: Int!) { payments(customerNumber: $c) { nodes { customer { name } } } }",
              at("payments", "nodes", 0, "customer", "name"), NAMED),
        Read("customer.invoices.customer",
              "query($c: Int!) { customer(number: $c) { invoices { customer { name } } } }",
              at("customer", "invoices", 0, "customer", "name"), NAMED),
    ),
)  # fmt: skip


async def parent_of_a_new_child(h: Harness) -> Ctx:
    parent = h.store.customers_by_number[8]
    return {
        "p": 8, "pid": str(parent.id), "next": h.store.next_customer_number,
        "new_id": UNKNOWN_ID, "new_name": "New Site",
    }  # fmt: skip


NEW_SITE = is_("New Site")
create_customer = Case(
    parent_of_a_new_child,
    """mutation($pid: ID!) {
         createCustomer(input: {name: "New Site", parentId: $pid}) { id number } }""",
    (
        Read("customer(id: new)", "query($new_id: ID!) { customer(id: $new_id) { name } }",
              at("customer", "name"), NEW_SITE),
        read_entity("_entities Customer(id: new)", "Customer", "id", "new_id", "name",
                    at("_entities", 0, "name"), NEW_SITE),
        Read("customer(id: parent).children",
              "query($pid: ID!) { customer(id: $pid) { children { name } } }",
              has("customer", "children", key="name", var="new_name"), THERE),
        Read("customer(number: new)", "query($next: Int!) { customer(number: $next) { name } }",
              at("customer", "name"), NEW_SITE),
        read_entity("_entities Customer(number: new)", "Customer", "number", "next", "name",
                    at("_entities", 0, "name"), NEW_SITE),
        Read("customer(number: parent).children",
              "query($p: Int!) { customer(number: $p) { children { name } } }",
              has("customer", "children", key="name", var="new_name"), THERE),
        Read("customer(number: parent).locations",
              "query($p: Int!) { customer(number: $p) { locations { name } } }",
              has("customer", "locations", key="name", var="new_name"), THERE),
        read_entity("_entities Customer(number: parent).children", "Customer", "number", "p",
                    "children { name }",
                    has("_entities", 0, "children", key="name", var="new_name"), THERE),
        Read("customers(filter: name)",
              """{ customers(filter: {name: "New Site"}) { nodes { name } } }""",
              count("customers", "nodes"), is_(1)),
        Read("customers.totalCount", "{ customers(first: 100) { totalCount } }",
              at("customers", "totalCount"), plus_one),
    ),
    learn=lambda answer: {"new_id": answer["createCustomer"]["id"]},
)  # fmt: skip


delete_customer = Case(
    family,
    """mutation($c: Int!) { deleteCustomer(number: $c) { number } }""",
    (
        Read("customer(id)", "query($cid: ID!) { customer(id: $cid) { name } }",
              at("customer", "name"), NOT_FOUND),
        read_entity("_entities Customer(id)", "Customer", "id", "cid", "name",
                    at("_entities", 0, "name"), NOT_FOUND),
        Read("customer(id: parent).children",
              "query($pid: ID!) { customer(id: $pid) { children { id } } }",
              has("customer", "children", key="id", var="cid"), GONE),
        Read("job(id)", "query($jid: ID!) { job(id: $jid) { number } }", at("job"), NOT_FOUND),
        read_entity("_entities Job(id)", "Job", "id", "jid", "number", at("_entities", 0),
                    NOT_FOUND),
        read_entity("_entities Invoice(id)", "Invoice", "id", "jid", "number",
                    at("_entities", 0), NOT_FOUND),
        read_entity("_entities Payment(id)", "Payment", "id", "payid", "amount",
                    at("_entities", 0), NOT_FOUND),
        read_entity("_entities Opportunity(id)", "Opportunity", "id", "oid", "number",
                    at("_entities", 0), NOT_FOUND),
        read_entity("_entities Task(id)", "Task", "id", "t", "id", at("_entities", 0), NOT_FOUND),
        Read("invoice(id)", "query($jid: ID!) { invoice(id: $jid) { number } }", at("invoice"),
              NOT_FOUND),
        Read("customer(number)", "query($c: Int!) { customer(number: $c) { name } }",
              at("customer"), NOT_FOUND),
        read_entity("_entities Customer(number)", "Customer", "number", "c", "name",
                    at("_entities", 0), NOT_FOUND),
        Read("job(number)", "query($j: Int!) { job(number: $j) { number } }", at("job"),
              NOT_FOUND),
        Read("task(id)", "query($t: ID!) { task(id: $t) { id } }", at("task"), NOT_FOUND),
        Read("customer(number: parent).children",
              "query($p: Int!) { customer(number: $p) { children { id } locations { id } } }",
              has("customer", "children", key="id", var="cid"), GONE),
        Read("customer(number: parent).locations",
              "query($p: Int!) { customer(number: $p) { locations { id } } }",
              has("customer", "locations", key="id", var="cid"), GONE),
        Read("customers(filter: number)",
              "query($c: Int!) { customers(filter: {number: $c}) { nodes { name } } }",
              count("customers", "nodes"), is_(0)),
        Read("customers", "{ customers(first: 100) { nodes { number } } }",
              has("customers", "nodes", key="number", var="c"), GONE),
        Read("schedule", "query($from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, first: 100) { nodes { id } } }",
              has("schedule", "nodes", key="id", var="t"), GONE),
        Read("employee.tasks", "query($e: Int!, $from: Date!, $to: Date!) "
              "{ employee(number: $e) { tasks(from: $from, to: $to) { id } } }",
              has("employee", "tasks", key="id", var="t"), GONE),
        Read("invoices", "{ invoices(first: 100) { nodes { id } } }",
              has("invoices", "nodes", key="id", var="jid"), GONE),
        Read("opportunities", "{ opportunities(first: 100) { nodes { number } } }",
              has("opportunities", "nodes", key="number", var="o"), GONE),
        Read("payments", "{ payments(first: 100, sort: RECENTLY_RECORDED) { nodes { id } } }",
              has("payments", "nodes", key="id", var="payid"), GONE),
        Read("jobs", "{ jobs(first: 100) { nodes { number } } }",
              has("jobs", "nodes", key="number", var="j"), GONE),
    ),
)  # fmt: skip


async def customer_with_a_job(h: Harness) -> Ctx:
    return {**await job_for(h, people(h, 9), tasks=False), "note": "Prefers email"}


def noted(*path: Step) -> Pick:
    return has(*path, key="body", var="note")


add_customer_note = Case(
    customer_with_a_job,
    """mutation($c: Int!, $note: String!) {
         addCustomerNote(customerNumber: $c, input: {body: $note}) { id } }""",
    (
        Read("customer(id).notes", "query($cid: ID!) { customer(id: $cid) { notes { body } } }",
              noted("customer", "notes"), THERE),
        read_entity("_entities Customer(id).notes", "Customer", "id", "cid", "notes { body }",
                    noted("_entities", 0, "notes"), THERE),
        Read("job(id).customer.notes",
              "query($jid: ID!) { job(id: $jid) { customer { notes { body } } } }",
              noted("job", "customer", "notes"), THERE),
        Read("customer(number).notes",
              "query($c: Int!) { customer(number: $c) { notes { body } } }",
              noted("customer", "notes"), THERE),
        read_entity("_entities Customer(number).notes", "Customer", "number", "c",
                    "notes { body }", noted("_entities", 0, "notes"), THERE),
        Read("customers(filter: number).notes",
              "query($c: Int!) { customers(filter: {number: $c}) { nodes { notes { body } } } }",
              noted("customers", "nodes", 0, "notes"), THERE),
        Read("job(number).customer.notes",
              "query($j: Int!) { job(number: $j) { customer { notes { body } } } }",
              noted("job", "customer", "notes"), THERE),
    ),
)  # fmt: skip


async def a_customer(h: Harness) -> Ctx:
    return people(h, 9)


def vip(*path: Step) -> Pick:
    find = at(*path)
    return lambda body, ctx: "vip" in (find(body, ctx) or ())


tag_customer = Case(
    a_customer,
    """mutation($c: Int!) { tagCustomer(customerNumber: $c, add: ["vip"]) }""",
    (
        Read("customer(number).tags", "query($c: Int!) { customer(number: $c) { tags } }",
              vip("customer", "tags"), THERE),
        Read("customer(id).tags", "query($cid: ID!) { customer(id: $cid) { tags } }",
              vip("customer", "tags"), THERE),
        Read("customers(filter: tags)",
              """query($c: Int!) { customers(filter: {number: $c, tags: ["vip"]}) {
                   nodes { number } } }""",
              count("customers", "nodes"), is_(1)),
    ),
    strict_refusal="UPSTREAM_UNSUPPORTED",
)  # fmt: skip


# -- jobs ------------------------------------------------------------------------------------------


async def customer_of_a_new_job(h: Harness) -> Ctx:
    ctx = people(h, 10)
    return {**ctx, "next": h.store.next_job_number, "new_jid": UNKNOWN_ID, "new_t": UNKNOWN_ID}


FRESH = is_("Fresh Job")
create_job = Case(
    customer_of_a_new_job,
    """mutation($c: Int!, $jt: ID!, $eid: ID!) {
         createJob(input: {customerNumber: $c, jobTypeId: $jt, name: "Fresh Job",
                           lineItems: [{description: "Work", pricePerUnit: "50"}],
                           tasks: [{startsAt: "2026-11-25T10:00:00-05:00",
                                    endsAt: "2026-11-25T11:00:00-05:00", assigneeIds: [$eid]}]})
         { id tasks { id } } }""",
    (
        Read("job(id: new)", "query($new_jid: ID!) { job(id: $new_jid) { name } }",
              at("job", "name"), FRESH),
        read_entity("_entities Job(id: new)", "Job", "id", "new_jid", "name",
                    at("_entities", 0, "name"), FRESH),
        Read("customer(id).jobs",
              "query($cid: ID!) { customer(id: $cid) { jobs(first: 100) { totalCount } } }",
              at("customer", "jobs", "totalCount"), plus_one),
        Read("task(id: new).job", "query($new_t: ID!) { task(id: $new_t) { job { name } } }",
              at("task", "job", "name"), FRESH),
        read_entity("_entities Task(id: new).job", "Task", "id", "new_t", "job { name }",
                    at("_entities", 0, "job", "name"), FRESH),
        Read("job(number: new)", "query($next: Int!) { job(number: $next) { name } }",
              at("job", "name"), FRESH),
        read_entity("_entities Job(number: new)", "Job", "number", "next", "name",
                    at("_entities", 0, "name"), FRESH),
        Read("customer(number).jobs",
              "query($c: Int!) { customer(number: $c) { jobs(first: 100) { totalCount } } }",
              at("customer", "jobs", "totalCount"), plus_one),
        Read("customer.locations.jobs",
              "query($c: Int!) "
              "{ customer(number: $c) { locations { jobs(first: 100) { totalCount } } } }",
              at("customer", "locations", 0, "jobs", "totalCount"), plus_one),
        Read("jobs", "{ jobs(first: 100) { nodes { number } } }",
              has("jobs", "nodes", key="number", var="next"), THERE),
        Read("schedule", "query($from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, first: 100) { totalCount } }",
              at("schedule", "totalCount"), plus_one),
        Read("schedule(employee)", "query($e: Int!, $from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, employeeNumber: $e, first: 100) { totalCount } }",
              at("schedule", "totalCount"), plus_one),
        Read("employee.tasks", "query($e: Int!, $from: Date!, $to: Date!) "
              "{ employee(number: $e) { tasks(from: $from, to: $to) { id } } }",
              count("employee", "tasks"), plus_one),
        read_entity("_entities Employee.tasks", "Employee", "number", "e",
                    'tasks(from: "2026-11-23", to: "2026-11-30") { id }',
                    count("_entities", 0, "tasks"), plus_one),
    ),
    learn=lambda answer: {
        "new_jid": answer["createJob"]["id"], "new_t": answer["createJob"]["tasks"][0]["id"]
    },
)  # fmt: skip


async def invoiced_job(h: Harness) -> Ctx:
    return await job_for(h, people(h, 11), invoiced=True)


RENAMED = {"name": "Renamed Job", "status": "on_hold"}
IS_RENAMED = is_(RENAMED)
NAME_ONLY = is_("Renamed Job")
update_job = Case(
    invoiced_job,
    """mutation($j: Int!) {
         updateJob(number: $j, input: {name: "Renamed Job", status: ON_HOLD, poNumber: "PO-9"}) {
           name } }""",
    (
        Read("job(number).poNumber", "query($j: Int!) { job(number: $j) { poNumber } }",
              at("job", "poNumber"), is_("PO-9")),
        Read("jobs.poNumber", "{ jobs(first: 100) { nodes { number poNumber } } }",
              at("jobs", "nodes", ("number", "j"), "poNumber"), is_("PO-9")),
        Read("invoice(id).poNumber", "query($jid: ID!) { invoice(id: $jid) { poNumber } }",
              at("invoice", "poNumber"), is_("PO-9")),
        Read("job(id)", "query($jid: ID!) { job(id: $jid) { name status } }", at("job"),
              IS_RENAMED),
        read_entity("_entities Job(id)", "Job", "id", "jid", "name status", at("_entities", 0),
                    IS_RENAMED),
        read_entity("_entities Invoice(id)", "Invoice", "id", "jid", "name",
                    at("_entities", 0, "name"), NAME_ONLY),
        Read("invoice(id)", "query($jid: ID!) { invoice(id: $jid) { name } }",
              at("invoice", "name"), NAME_ONLY),
        read_entity("_entities Payment(id).job", "Payment", "id", "payid", "job { name status }",
                    at("_entities", 0, "job"), IS_RENAMED),
        read_entity("_entities Task(id).job", "Task", "id", "t", "job { name status }",
                    at("_entities", 0, "job"), IS_RENAMED),
        Read("task(id).job", "query($t: ID!) { task(id: $t) { job { name status } } }",
              at("task", "job"), IS_RENAMED),
        Read("job(number)", "query($j: Int!) { job(number: $j) { name status } }", at("job"),
              IS_RENAMED),
        read_entity("_entities Job(number)", "Job", "number", "j", "name status",
                    at("_entities", 0), IS_RENAMED),
        read_entity("_entities Invoice(number)", "Invoice", "number", "j", "name",
                    at("_entities", 0, "name"), NAME_ONLY),
        Read("customer.jobs", "query($c: Int!) "
              "{ customer(number: $c) { jobs(first: 100) { nodes { number name status } } } }",
              at("customer", "jobs", "nodes", ("number", "j")),
              lambda ctx, before: {"number": ctx["j"], **RENAMED}),
        Read("customer.invoices",
              "query($c: Int!) { customer(number: $c) { invoices { id name } } }",
              at("customer", "invoices", ("id", "jid"), "name"), NAME_ONLY),
        Read("customer.locations.jobs", "query($c: Int!) { customer(number: $c) "
              "{ locations { jobs(first: 100) { nodes { number name } } } } }",
              at("customer", "locations", 0, "jobs", "nodes", ("number", "j"), "name"),
              NAME_ONLY),
        Read("jobs", "{ jobs(first: 100) { nodes { number name status } } }",
              at("jobs", "nodes", ("number", "j")),
              lambda ctx, before: {"number": ctx["j"], **RENAMED}),
        Read("jobs(filter: status)",
              "{ jobs(filter: {status: ON_HOLD}, first: 100) { nodes { number } } }",
              has("jobs", "nodes", key="number", var="j"), THERE),
        Read("schedule.job", "query($from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, first: 100) { nodes { id job { name status } } } }",
              at("schedule", "nodes", ("id", "t"), "job"), IS_RENAMED),
        Read("employee.tasks.job", "query($e: Int!, $from: Date!, $to: Date!) "
              "{ employee(number: $e) { tasks(from: $from, to: $to) { id job { name status } } } }",
              at("employee", "tasks", ("id", "t"), "job"), IS_RENAMED),
        Read("job(number).tasks.job",
              "query($j: Int!) { job(number: $j) { tasks { job { name status } } } }",
              at("job", "tasks", 0, "job"), IS_RENAMED),
        Read("invoices", "{ invoices(first: 100) { nodes { id name } } }",
              at("invoices", "nodes", ("id", "jid"), "name"), NAME_ONLY),
    ),
)  # fmt: skip


async def job_with_a_task(h: Harness) -> Ctx:
    return {**await job_for(h, people(h, 12)), "note": "Call first", "tag": "rush"}


def job_detail_reads(pick: Callable[..., Pick], selection: str) -> tuple[Read, ...]:
    """Every path to a job's detail record (its notes, tags, line items)."""
    return (
        Read("job(id)", f"query($jid: ID!) {{ job(id: $jid) {{ {selection} }} }}",
              pick("job"), THERE),
        read_entity("_entities Job(id)", "Job", "id", "jid", selection, pick("_entities", 0),
                    THERE),
        read_entity("_entities Task(id).job", "Task", "id", "t", f"job {{ {selection} }}",
                    pick("_entities", 0, "job"), THERE),
        Read("job(number)", f"query($j: Int!) {{ job(number: $j) {{ {selection} }} }}",
              pick("job"), THERE),
        read_entity("_entities Job(number)", "Job", "number", "j", selection,
                    pick("_entities", 0), THERE),
        Read("task(id).job", f"query($t: ID!) {{ task(id: $t) {{ job {{ {selection} }} }} }}",
              pick("task", "job"), THERE),
        Read("customer.jobs", "query($c: Int!) "
              f"{{ customer(number: $c) {{ jobs(first: 100) {{ nodes {{ number {selection} }} }} }} }}",
              pick("customer", "jobs", "nodes", ("number", "j")), THERE),
    )  # fmt: skip


def noted_job(*path: Step) -> Pick:
    return has(*path, "notes", key="body", var="note")


def tagged(*path: Step) -> Pick:
    def pick(body: Mapping[str, Any], ctx: Ctx) -> Any:
        data = at(*path, "tags")(body, ctx)
        return data if isinstance(data, str) else ctx["tag"] in data

    return pick


add_job_note = Case(
    job_with_a_task,
    """mutation($j: Int!, $note: String!) {
         addJobNote(jobNumber: $j, input: {body: $note}) { id } }""",
    job_detail_reads(noted_job, "notes { body }"),
    strict_refusal="UPSTREAM_UNSUPPORTED",  # POST /jobs/{n}/notes.json is not confirmed
)
tag_job = Case(
    job_with_a_task,
    """mutation($j: Int!, $tag: String!) { tagJob(jobNumber: $j, add: [$tag]) { number } }""",
    job_detail_reads(tagged, "tags"),
    strict_refusal="UPSTREAM_UNSUPPORTED",  # PUT /jobs/{n}/tags.json is not confirmed
)


# -- money -------------------------------------------------------------------------------------------


def invoiced_job_of(customer: int) -> Callable[[Harness], Awaitable[Ctx]]:
    """An invoiced job of 100.00 with 10.00 paid; ``new_pay`` for a payment still to come."""

    async def arrange(h: Harness) -> Ctx:
        ctx = await job_for(h, people(h, customer), tasks=False, invoiced=True)
        return {**ctx, "new_pay": UNKNOWN_ID}

    return arrange


def money_reads(total: float, balance_remaining: float, delta: float) -> tuple[Read, ...]:
    """Every path to what an invoiced job (100.00, 10.00 paid) and its customer owe, once its total
    is ``total`` and its balance ``balance_remaining``: its customer's balance moved by ``delta``."""
    owed = {"total": total, "balanceRemaining": balance_remaining}
    job_money = "total balanceRemaining"

    def amounts(*path: Step) -> Pick:
        find = at(*path)

        def pick(body: Mapping[str, Any], ctx: Ctx) -> Any:
            value = find(body, ctx)
            if not isinstance(value, dict):
                return value
            return {k: float(v) for k, v in value.items() if k in owed}

        return pick

    def balance(*path: Step) -> Pick:
        return money(at(*path))

    return (
        Read("job(id)", f"query($jid: ID!) {{ job(id: $jid) {{ {job_money} }} }}",
              amounts("job"), is_(owed)),
        read_entity("_entities Job(id)", "Job", "id", "jid", job_money, amounts("_entities", 0),
                    is_(owed)),
        Read("invoice(id)", f"query($jid: ID!) {{ invoice(id: $jid) {{ {job_money} }} }}",
              amounts("invoice"), is_(owed)),
        read_entity("_entities Invoice(id)", "Invoice", "id", "jid", job_money,
                    amounts("_entities", 0), is_(owed)),
        Read("customer(id).balance", "query($cid: ID!) { customer(id: $cid) { balance } }",
              balance("customer", "balance"), by(delta)),
        read_entity("_entities Customer(id).balance", "Customer", "id", "cid", "balance",
                    balance("_entities", 0, "balance"), by(delta)),
        read_entity("_entities Payment(id).invoice", "Payment", "id", "payid",
                    f"invoice {{ {job_money} }}", amounts("_entities", 0, "invoice"), is_(owed)),
        Read("job(number)", f"query($j: Int!) {{ job(number: $j) {{ {job_money} }} }}",
              amounts("job"), is_(owed)),
        read_entity("_entities Job(number)", "Job", "number", "j", job_money,
                    amounts("_entities", 0), is_(owed)),
        read_entity("_entities Invoice(number)", "Invoice", "number", "j", job_money,
                    amounts("_entities", 0), is_(owed)),
        Read("customer(number).balance", "query($c: Int!) { customer(number: $c) { balance } }",
              balance("customer", "balance"), by(delta)),
        Read("customers(filter: number).balance",
              "query($c: Int!) { customers(filter: {number: $c}) { nodes { balance } } }",
              balance("customers", "nodes", 0, "balance"), by(delta)),
        Read("jobs", f"{{ jobs(first: 100) {{ nodes {{ number {job_money} }} }} }}",
              amounts("jobs", "nodes", ("number", "j")), is_(owed)),
        Read("customer.jobs", "query($c: Int!) { customer(number: $c) "
              f"{{ jobs(first: 100) {{ nodes {{ number {job_money} }} }} }} }}",
              amounts("customer", "jobs", "nodes", ("number", "j")), is_(owed)),
        Read("customer.invoices",
              f"query($c: Int!) {{ customer(number: $c) {{ invoices {{ id {job_money} }} }} }}",
              amounts("customer", "invoices", ("id", "jid")), is_(owed)),
        Read("invoices", f"{{ invoices(first: 100) {{ nodes {{ id {job_money} }} }} }}",
              amounts("invoices", "nodes", ("id", "jid")), is_(owed)),
        Read("invoices.totalBalanceRemaining",
              "{ invoices(status: UNPAID, first: 1) { totalBalanceRemaining } }",
              balance("invoices", "totalBalanceRemaining"), by(delta)),
    )  # fmt: skip


add_line_items = Case(
    invoiced_job_of(13),
    """mutation($j: Int!) {
         addLineItems(jobNumber: $j, lineItems: [{description: "Extra", pricePerUnit: "25"}])
         { number } }""",
    money_reads(125.0, 115.0, 25),
)


update_line_item = Case(
    invoiced_job_of(14),
    """mutation($j: Int!, $li: ID!) {
         updateLineItem(jobNumber: $j, lineItemId: $li, input: {pricePerUnit: "120"}) { number } }""",
    money_reads(120.0, 110.0, 20),
    strict_refusal="UPSTREAM_UNSUPPORTED",  # PUT /jobs/{n}/job_charges/{id}.json is not confirmed
)


async def job_to_invoice(h: Harness) -> Ctx:
    return await job_for(h, people(h, 15), tasks=False)


def invoice_of(ctx: Ctx, before: Any) -> Any:
    return {"id": ctx["jid"]}


INVOICE_NOTED = """mutation($j: Int!) {
  invoiceJob(jobNumber: $j, input: {invoiceDate: "2026-11-21", notes: "Net 30, thank you"}) { id } }"""
NOTED = is_("Net 30, thank you")

invoice_job = Case(
    job_to_invoice,
    INVOICE_NOTED,
    (
        Read("invoice(id).notes", "query($jid: ID!) { invoice(id: $jid) { notes } }",
              at("invoice", "notes"), NOTED),
        Read("invoices.notes", "{ invoices(first: 100) { nodes { id notes } } }",
              at("invoices", "nodes", ("id", "jid"), "notes"), NOTED),
        Read("job(number).invoice.notes",
              "query($j: Int!) { job(number: $j) { invoice { notes } } }",
              at("job", "invoice", "notes"), NOTED),
        Read("invoice(id)", "query($jid: ID!) { invoice(id: $jid) { total } }",
              money(at("invoice", "total")), is_(100.0)),
        read_entity("_entities Invoice(id)", "Invoice", "id", "jid", "total",
                    money(at("_entities", 0, "total")), is_(100.0)),
        Read("job(id).invoice", "query($jid: ID!) { job(id: $jid) { invoice { id } } }",
              at("job", "invoice"), invoice_of),
        read_entity("_entities Job(id).invoice", "Job", "id", "jid", "invoice { id }",
                    at("_entities", 0, "invoice"), invoice_of),
        Read("customer(id).balance", "query($cid: ID!) { customer(id: $cid) { balance } }",
              money(at("customer", "balance")), by(100)),
        read_entity("_entities Customer(id).balance", "Customer", "id", "cid", "balance",
                    money(at("_entities", 0, "balance")), by(100)),
        Read("job(number).invoice", "query($j: Int!) { job(number: $j) { invoice { id } } }",
              at("job", "invoice"), invoice_of),
        read_entity("_entities Invoice(number)", "Invoice", "number", "j", "total",
                    money(at("_entities", 0, "total")), is_(100.0)),
        Read("customer(number).balance", "query($c: Int!) { customer(number: $c) { balance } }",
              money(at("customer", "balance")), by(100)),
        Read("customer.invoices", "query($c: Int!) { customer(number: $c) { invoices { id } } }",
              has("customer", "invoices", key="id", var="jid"), THERE),
        Read("customers(filter: number).balance",
              "query($c: Int!) { customers(filter: {number: $c}) { nodes { balance } } }",
              money(at("customers", "nodes", 0, "balance")), by(100)),
        Read("jobs", "{ jobs(first: 100) { nodes { number invoice { id } } } }",
              at("jobs", "nodes", ("number", "j"), "invoice"), invoice_of),
        Read("customer.jobs", "query($c: Int!) "
              "{ customer(number: $c) { jobs(first: 100) { nodes { number invoice { id } } } } }",
              at("customer", "jobs", "nodes", ("number", "j"), "invoice"), invoice_of),
        Read("invoices", "{ invoices(first: 100) { nodes { id } } }",
              has("invoices", "nodes", key="id", var="jid"), THERE),
        Read("invoices.totalBalanceRemaining",
              "{ invoices(status: UNPAID, first: 1) { totalBalanceRemaining } }",
              money(at("invoices", "totalBalanceRemaining")), by(100)),
    ),
)  # fmt: skip


record_payment = Case(
    invoiced_job_of(16),
    """mutation($j: Int!) { recordPayment(jobNumber: $j, input: {amount: "40.00"}) { id } }""",
    (
        read_entity("_entities Payment(id: new)", "Payment", "id", "new_pay", "amount",
                    money(at("_entities", 0, "amount")), is_(40.0)),
        *money_reads(100.0, 50.0, -40),
        Read("job(number).payments", "query($j: Int!) { job(number: $j) { payments { id } } }",
              count("job", "payments"), plus_one),
        Read("customer.payments", "query($c: Int!) "
              "{ customer(number: $c) { payments(first: 100) { totalCount } } }",
              at("customer", "payments", "totalCount"), plus_one),
        Read("payments(customerNumber)",
              "query($c: Int!) { payments(customerNumber: $c) { totalCount } }",
              at("payments", "totalCount"), plus_one),
        Read("payments", "{ payments(first: 100, sort: RECENTLY_RECORDED) { totalCount } }",
              at("payments", "totalCount"), plus_one),
    ),
    learn=lambda answer: {"new_pay": answer["recordPayment"]["id"]},
    strict_refusal="UPSTREAM_UNSUPPORTED",  # POST /jobs/{n}/payments.json is not confirmed
)  # fmt: skip


# -- tasks -------------------------------------------------------------------------------------------


async def unscheduled_job(h: Harness) -> Ctx:
    return {**await job_for(h, people(h, 17), tasks=False), "new_t": UNKNOWN_ID}


SCHEDULED_AT = "2026-11-26T08:00:00-05:00"


def scheduled(ctx: Ctx, before: Any) -> Any:
    return {"status": "scheduled", "tasks": [{"id": ctx["new_t"]}]}


schedule_task = Case(
    unscheduled_job,
    """mutation($j: Int!, $eid: ID!) {
         scheduleTask(jobNumber: $j, input: {startsAt: "2026-11-26T08:00:00-05:00",
                                             assigneeIds: [$eid]}) { id } }""",
    (
        Read("task(id: new)", "query($new_t: ID!) { task(id: $new_t) { startsAt } }",
              at("task", "startsAt"), is_(SCHEDULED_AT)),
        read_entity("_entities Task(id: new)", "Task", "id", "new_t", "startsAt",
                    at("_entities", 0, "startsAt"), is_(SCHEDULED_AT)),
        Read("job(id)", "query($jid: ID!) { job(id: $jid) { status tasks { id } } }",
              at("job"), scheduled),
        read_entity("_entities Job(id)", "Job", "id", "jid", "status tasks { id }",
                    at("_entities", 0), scheduled),
        Read("job(number)", "query($j: Int!) { job(number: $j) { status tasks { id } } }",
              at("job"), scheduled),
        read_entity("_entities Job(number)", "Job", "number", "j", "status tasks { id }",
                    at("_entities", 0), scheduled),
        Read("jobs", "{ jobs(first: 100) { nodes { number status } } }",
              at("jobs", "nodes", ("number", "j"), "status"), is_("scheduled")),
        Read("customer.jobs", "query($c: Int!) "
              "{ customer(number: $c) { jobs(first: 100) { nodes { number status } } } }",
              at("customer", "jobs", "nodes", ("number", "j"), "status"), is_("scheduled")),
        Read("schedule", "query($from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, first: 100) { totalCount } }",
              at("schedule", "totalCount"), plus_one),
        Read("schedule(employee)", "query($e: Int!, $from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, employeeNumber: $e, first: 100) { totalCount } }",
              at("schedule", "totalCount"), plus_one),
        Read("employee.tasks", "query($e: Int!, $from: Date!, $to: Date!) "
              "{ employee(number: $e) { tasks(from: $from, to: $to) { id } } }",
              count("employee", "tasks"), plus_one),
        read_entity("_entities Employee.tasks", "Employee", "number", "e",
                    'tasks(from: "2026-11-23", to: "2026-11-30") { id }',
                    count("_entities", 0, "tasks"), plus_one),
    ),
    learn=lambda answer: {"new_t": answer["scheduleTask"]["id"]},
)  # fmt: skip


def scheduled_job_of(customer: int) -> Callable[[Harness], Awaitable[Ctx]]:
    """A job with one task of the first technician in ``WEEK``."""

    async def arrange(h: Harness) -> Ctx:
        return await job_for(h, people(h, customer))

    return arrange


MOVED = {"startsAt": "2026-12-02T09:00:00-05:00", "endsAt": "2026-12-02T10:00:00-05:00"}


def in_schedule(employee: str | None, later: bool = False) -> str:
    window = "from: $later_from, to: $later_to" if later else "from: $from, to: $to"
    dates = "$later_from: Date!, $later_to: Date!" if later else "$from: Date!, $to: Date!"
    if employee is None:
        return f"query({dates}) {{ schedule({window}, first: 100) {{ nodes {{ id }} }} }}"
    return (
        f"query(${employee}: Int!, {dates}) "
        f"{{ schedule({window}, employeeNumber: ${employee}, first: 100) {{ nodes {{ id }} }} }}"
    )


def in_tasks_of(employee: str, later: bool = False) -> str:
    window = "from: $later_from, to: $later_to" if later else "from: $from, to: $to"
    dates = "$later_from: Date!, $later_to: Date!" if later else "$from: Date!, $to: Date!"
    return (
        f"query(${employee}: Int!, {dates}) "
        f"{{ employee(number: ${employee}) {{ tasks({window}) {{ id }} }} }}"
    )


TASK_LISTED = has("schedule", "nodes", key="id", var="t")
EMPLOYEE_HAS = has("employee", "tasks", key="id", var="t")

reschedule_task = Case(
    scheduled_job_of(18),
    """mutation($t: ID!) { rescheduleTask(id: $t, startsAt: "2026-12-02T09:00:00-05:00") { id } }""",
    (
        Read("task(id)", "query($t: ID!) { task(id: $t) { startsAt endsAt } }", at("task"),
              is_(MOVED)),
        read_entity("_entities Task(id)", "Task", "id", "t", "startsAt endsAt",
                    at("_entities", 0), is_(MOVED)),
        Read("job(id).tasks", "query($jid: ID!) { job(id: $jid) { tasks { startsAt endsAt } } }",
              at("job", "tasks", 0), is_(MOVED)),
        read_entity("_entities Job(id).tasks", "Job", "id", "jid", "tasks { startsAt endsAt }",
                    at("_entities", 0, "tasks", 0), is_(MOVED)),
        Read("job(number).tasks",
              "query($j: Int!) { job(number: $j) { tasks { startsAt endsAt } } }",
              at("job", "tasks", 0), is_(MOVED)),
        Read("schedule (the week it left)", in_schedule(None), TASK_LISTED, GONE),
        Read("schedule (the week it joined)", in_schedule(None, later=True), TASK_LISTED, THERE),
        Read("employee.tasks (the week it left)", in_tasks_of("e"), EMPLOYEE_HAS, GONE),
        Read("employee.tasks (the week it joined)", in_tasks_of("e", later=True), EMPLOYEE_HAS,
              THERE),
        read_entity("_entities Employee.tasks (the week it joined)", "Employee", "number", "e",
                    'tasks(from: "2026-12-01", to: "2026-12-08") { id }',
                    has("_entities", 0, "tasks", key="id", var="t"), THERE),
    ),
)  # fmt: skip


def assigned_second(ctx: Ctx, before: Any) -> Any:
    return [{"id": ctx["e2id"]}]


reassign_task = Case(
    scheduled_job_of(19),
    """mutation($t: ID!, $e2id: ID!) { reassignTask(id: $t, assigneeIds: [$e2id]) { id } }""",
    (
        Read("task(id)", "query($t: ID!) { task(id: $t) { assignees { id } } }",
              at("task", "assignees"), assigned_second),
        read_entity("_entities Task(id)", "Task", "id", "t", "assignees { id }",
                    at("_entities", 0, "assignees"), assigned_second),
        Read("job(id).tasks", "query($jid: ID!) { job(id: $jid) { tasks { assignees { id } } } }",
              at("job", "tasks", 0, "assignees"), assigned_second),
        read_entity("_entities Job(id).tasks", "Job", "id", "jid", "tasks { assignees { id } }",
                    at("_entities", 0, "tasks", 0, "assignees"), assigned_second),
        Read("job(number).tasks",
              "query($j: Int!) { job(number: $j) { tasks { assignees { id } } } }",
              at("job", "tasks", 0, "assignees"), assigned_second),
        Read("schedule.assignees", "query($from: Date!, $to: Date!) "
              "{ schedule(from: $from, to: $to, first: 100) { nodes { id assignees { id } } } }",
              at("schedule", "nodes", ("id", "t"), "assignees"), assigned_second),
        Read("schedule (first technician)", in_schedule("e"), TASK_LISTED, GONE),
        Read("schedule (second technician)", in_schedule("e2"), TASK_LISTED, THERE),
        Read("employee.tasks (first technician)", in_tasks_of("e"), EMPLOYEE_HAS, GONE),
        Read("employee.tasks (second technician)", in_tasks_of("e2"), EMPLOYEE_HAS, THERE),
        read_entity("_entities Employee.tasks (second technician)", "Employee", "number", "e2",
                    'tasks(from: "2026-11-23", to: "2026-11-30") { id }',
                    has("_entities", 0, "tasks", key="id", var="t"), THERE),
    ),
)  # fmt: skip

delete_task = Case(
    scheduled_job_of(20),
    """mutation($t: ID!) { deleteTask(id: $t) { id } }""",
    (
        Read("task(id)", "query($t: ID!) { task(id: $t) { id } }", at("task"), NOT_FOUND),
        read_entity("_entities Task(id)", "Task", "id", "t", "id", at("_entities", 0), NOT_FOUND),
        Read("job(id).tasks", "query($jid: ID!) { job(id: $jid) { tasks { id } } }",
              count("job", "tasks"), is_(0)),
        read_entity("_entities Job(id).tasks", "Job", "id", "jid", "tasks { id }",
                    count("_entities", 0, "tasks"), is_(0)),
        Read("job(number).tasks", "query($j: Int!) { job(number: $j) { tasks { id } } }",
              count("job", "tasks"), is_(0)),
        Read("schedule", in_schedule(None), TASK_LISTED, GONE),
        Read("schedule(employee)", in_schedule("e"), TASK_LISTED, GONE),
        Read("employee.tasks", in_tasks_of("e"), EMPLOYEE_HAS, GONE),
        read_entity("_entities Employee.tasks", "Employee", "number", "e",
                    'tasks(from: "2026-11-23", to: "2026-11-30") { id }',
                    has("_entities", 0, "tasks", key="id", var="t"), GONE),
    ),
)  # fmt: skip


# -- opportunities -----------------------------------------------------------------------------------


async def customer_of_a_new_opportunity(h: Harness) -> Ctx:
    return {**people(h, 21), "next": h.store.next_job_number, "new_oid": UNKNOWN_ID}


IS_NEW = is_("new")
create_opportunity = Case(
    customer_of_a_new_opportunity,
    CREATE_OPPORTUNITY,
    (
        read_entity("_entities Opportunity(id: new)", "Opportunity", "id", "new_oid", "status",
                    at("_entities", 0, "status"), IS_NEW),
        Read("job(id: new)", "query($new_oid: ID!) { job(id: $new_oid) { status } }",
              at("job", "status"), IS_NEW),
        Read("customer(id).opportunities",
              "query($cid: ID!) { customer(id: $cid) { opportunities { number } } }",
              has("customer", "opportunities", key="number", var="next"), THERE),
        Read("job(number: new)", "query($next: Int!) { job(number: $next) { status } }",
              at("job", "status"), IS_NEW),
        read_entity("_entities Opportunity(number: new)", "Opportunity", "number", "next",
                    "status", at("_entities", 0, "status"), IS_NEW),
        Read("customer(number).opportunities",
              "query($c: Int!) { customer(number: $c) { opportunities { number } } }",
              has("customer", "opportunities", key="number", var="next"), THERE),
        Read("opportunities", "{ opportunities(first: 100) { nodes { number } } }",
              has("opportunities", "nodes", key="number", var="next"), THERE),
        Read("opportunities(status: NEW)",
              "{ opportunities(status: NEW, first: 100) { nodes { number } } }",
              has("opportunities", "nodes", key="number", var="next"), THERE),
    ),
    learn=lambda answer: {"new_oid": answer["createOpportunity"]["id"]},
)  # fmt: skip


def opportunity_of(customer: int) -> Callable[[Harness], Awaitable[Ctx]]:
    async def arrange(h: Harness) -> Ctx:
        ctx = people(h, customer)
        made = data_of(await h.gql(CREATE_OPPORTUNITY, ctx))["createOpportunity"]
        return {**ctx, "o": made["number"], "oid": made["id"]}

    return arrange


def marked(outcome: str, status_filter: str) -> tuple[Read, ...]:
    status = is_(outcome)
    return (
        read_entity("_entities Opportunity(id)", "Opportunity", "id", "oid", "status",
                    at("_entities", 0, "status"), status),
        Read("job(id)", "query($oid: ID!) { job(id: $oid) { status } }", at("job", "status"),
              status),
        Read("customer(id).opportunities",
              "query($cid: ID!) { customer(id: $cid) { opportunities { number status } } }",
              at("customer", "opportunities", ("number", "o"), "status"), status),
        Read("job(number)", "query($o: Int!) { job(number: $o) { status } }",
              at("job", "status"), status),
        read_entity("_entities Opportunity(number)", "Opportunity", "number", "o", "status",
                    at("_entities", 0, "status"), status),
        Read("customer(number).opportunities",
              "query($c: Int!) { customer(number: $c) { opportunities { number status } } }",
              at("customer", "opportunities", ("number", "o"), "status"), status),
        Read("opportunities", "{ opportunities(first: 100) { nodes { number status } } }",
              at("opportunities", "nodes", ("number", "o"), "status"), status),
        Read(f"opportunities(status: {status_filter})",
              f"{{ opportunities(status: {status_filter}, first: 100) {{ nodes {{ number }} }} }}",
              has("opportunities", "nodes", key="number", var="o"), THERE),
        Read("opportunities(status: NEW)",
              "{ opportunities(status: NEW, first: 100) { nodes { number } } }",
              has("opportunities", "nodes", key="number", var="o"), GONE),
    )  # fmt: skip


mark_won = Case(
    opportunity_of(22),
    """mutation($o: Int!) { markOpportunityWon(number: $o) { status } }""",
    marked("won", "WON"),
)
mark_lost = Case(
    opportunity_of(23),
    """mutation($o: Int!) { markOpportunityLost(number: $o) { status } }""",
    marked("lost", "LOST"),
)


# -- vendors -----------------------------------------------------------------------------------------


async def no_vendor_yet(h: Harness) -> Ctx:
    return {"new_vid": UNKNOWN_ID, "vendor": "Acme Pipe"}


create_vendor = Case(
    no_vendor_yet,
    """mutation($vendor: String!) { createVendor(input: {name: $vendor}) { id } }""",
    (
        read_entity("_entities Vendor(id: new)", "Vendor", "id", "new_vid", "name",
                    at("_entities", 0, "name"), is_("Acme Pipe")),
        Read("vendors", "{ vendors(first: 100) { nodes { name } } }",
              has("vendors", "nodes", key="name", var="vendor"), THERE),
        Read("vendors.totalCount", "{ vendors(first: 100) { totalCount } }",
              at("vendors", "totalCount"), plus_one),
    ),
    learn=lambda answer: {"new_vid": answer["createVendor"]["id"]},
)  # fmt: skip


async def a_vendor(h: Harness) -> Ctx:
    return {"vid": str(next(iter(h.store.vendors)))}


RETIRED = is_({"name": "Renamed Supply", "active": False})
update_vendor = Case(
    a_vendor,
    """mutation($vid: ID!) {
         updateVendor(id: $vid, input: {name: "Renamed Supply", active: false}) { id } }""",
    (
        read_entity("_entities Vendor(id)", "Vendor", "id", "vid", "name active",
                    at("_entities", 0), RETIRED),
        Read("vendors", "{ vendors(first: 100) { nodes { id name active } } }",
              at("vendors", "nodes", ("id", "vid")),
              lambda ctx, before: {"id": ctx["vid"], "name": "Renamed Supply", "active": False}),
    ),
)  # fmt: skip


delete_vendor = Case(
    a_vendor,
    """mutation($vid: ID!) { deleteVendor(id: $vid) { id } }""",
    (
        read_entity("_entities Vendor(id)", "Vendor", "id", "vid", "name",
                    at("_entities", 0, "name"), NOT_FOUND),
        Read("vendor(id)", "query($vid: ID!) { vendor(id: $vid) { id } }", at("vendor", "id"),
              NOT_FOUND),
        Read("vendors", "{ vendors(first: 100) { nodes { id } } }",
              has("vendors", "nodes", key="id", var="vid"), GONE),
    ),
)  # fmt: skip


# -- job types and payments applied to no job ---------------------------------------------------------


async def no_job_type_yet(h: Harness) -> Ctx:
    return {"new_jtid": UNKNOWN_ID, "job_type": "Duct Cleaning"}


create_job_type = Case(
    no_job_type_yet,
    """mutation($job_type: String!) { createJobType(input: {name: $job_type}) { id } }""",
    (
        read_entity("_entities JobType(id: new)", "JobType", "id", "new_jtid", "name",
                    at("_entities", 0, "name"), is_("Duct Cleaning")),
        Read("jobTypes", "{ jobTypes(includeInactive: true) { name } }",
              has("jobTypes", key="name", var="job_type"), THERE),
    ),
    learn=lambda answer: {"new_jtid": answer["createJobType"]["id"]},
    strict_refusal="UPSTREAM_UNSUPPORTED",
)  # fmt: skip


async def a_payer(h: Harness) -> Ctx:
    return {**people(h, 9), "new_payid": UNKNOWN_ID}


record_customer_payment = Case(
    a_payer,
    """mutation($c: Int!) {
         recordCustomerPayment(customerNumber: $c, input: {amount: "12.34"}) { id } }""",
    (
        read_entity("_entities Payment(id: new)", "Payment", "id", "new_payid", "amount",
                    money(at("_entities", 0, "amount")), is_(12.34)),
        Read("payments(customerNumber).totalCount",
              "query($c: Int!) { payments(customerNumber: $c) { totalCount } }",
              at("payments", "totalCount"), plus_one),
        Read("customer.payments", "query($c: Int!) { customer(number: $c) {"
              " payments(first: 100) { nodes { id } } } }",
              has("customer", "payments", "nodes", key="id", var="new_payid"), THERE),
    ),
    learn=lambda answer: {"new_payid": answer["recordCustomerPayment"]["id"]},
    strict_refusal="BAD_USER_INPUT",
)  # fmt: skip


# -- webhooks ----------------------------------------------------------------------------------------
# Endpoints and deliveries live in the server's state store, not in Kickserv (the same in both
# sandbox personalities); webhookEndpoints and webhookDeliveries read them.

NO_ENDPOINT = "ep_" + "0" * 24  # ids no endpoint or delivery has, in the shape of ours
NO_DELIVERY = "dlv_" + "0" * 24
CREATE_ENDPOINT = """mutation($hook: String!) {
  createWebhookEndpoint(url: $hook, eventTypes: [JOB_STATUS_CHANGED], description: "dispatch") {
    endpoint { id } } }"""
ENDPOINTS = """{ webhookEndpoints {
  id url eventTypes enabled disabledReason description previousSecretValidUntil } }"""
DELIVERIES = "query($ep: ID!) { webhookDeliveries(endpointId: $ep) { id eventId redeliveryOf } }"
MOVED = {
    "eventTypes": ["INVOICE_PAID", "PAYMENT_RECORDED"],
    "enabled": False,
    "disabledReason": "Disabled through updateWebhookEndpoint.",
    "description": "billing",
}


async def no_endpoint_yet(h: Harness) -> Ctx:
    return {"hook": h.webhook_url, "ep": NO_ENDPOINT}


async def an_endpoint(h: Harness) -> Ctx:
    created = data_of(await h.gql(CREATE_ENDPOINT, {"hook": h.webhook_url}))
    endpoint = created["createWebhookEndpoint"]["endpoint"]["id"]
    return {"hook": h.webhook_url, "moved": h.webhook_url + "?to=billing", "ep": endpoint}


async def a_delivery(h: Harness) -> Ctx:
    """An endpoint with one delivery: a job's status change, queued at once (what the deliverer
    does each round) rather than waited for."""
    ctx = await an_endpoint(h)
    server = server_of(h.app)
    assert server.registry is not None and server.webhooks is not None
    tenant = server.registry.get("demo", "demo-token").key
    (event,) = await server.events.append(tenant, [status_change(tenant, 5, "open", "complete")])
    await server.webhooks.queue(tenant)
    (delivery,) = data_of(await h.gql(DELIVERIES, {"ep": ctx["ep"]}))["webhookDeliveries"]
    return {**ctx, "dlv": delivery["id"], "event": event.id, "again": NO_DELIVERY}


create_webhook_endpoint = Case(
    no_endpoint_yet,
    """mutation($hook: String!) { createWebhookEndpoint(url: $hook) { endpoint { id } } }""",
    (
        Read("webhookEndpoints", ENDPOINTS, at("webhookEndpoints", ("id", "ep"), "url"),
             lambda ctx, before: ctx["hook"]),
        Read("webhookDeliveries(endpointId: new)", DELIVERIES, at("webhookDeliveries"), is_([])),
    ),
    learn=lambda answer: {"ep": answer["createWebhookEndpoint"]["endpoint"]["id"]},
    webhooks=True,
)  # fmt: skip

update_webhook_endpoint = Case(
    an_endpoint,
    """mutation($ep: ID!, $moved: String!) {
         updateWebhookEndpoint(id: $ep, url: $moved, eventTypes: [PAYMENT_RECORDED, INVOICE_PAID],
                               enabled: false, description: "billing") { id } }""",
    (
        Read("webhookEndpoints", ENDPOINTS, at("webhookEndpoints", ("id", "ep")),
             lambda ctx, before: {**before, "url": ctx["moved"], **MOVED}),
    ),
    webhooks=True,
)  # fmt: skip

# The secrets themselves are never read back; what a read shows of a rotation is until when the
# previous secret still signs (null before any rotation).
rotate_webhook_secret = Case(
    an_endpoint,
    """mutation($ep: ID!) {
         rotateWebhookSecret(id: $ep) { endpoint { previousSecretValidUntil } } }""",
    (
        Read("webhookEndpoints", ENDPOINTS,
             at("webhookEndpoints", ("id", "ep"), "previousSecretValidUntil"),
             lambda ctx, before: ctx["until"]),
    ),
    learn=lambda answer: {
        "until": answer["rotateWebhookSecret"]["endpoint"]["previousSecretValidUntil"]
    },
    webhooks=True,
)  # fmt: skip

delete_webhook_endpoint = Case(
    an_endpoint,
    """mutation($ep: ID!) { deleteWebhookEndpoint(id: $ep) }""",
    (
        Read("webhookEndpoints", ENDPOINTS, has("webhookEndpoints", key="id", var="ep"), GONE),
        Read("webhookDeliveries(endpointId)", DELIVERIES, at("webhookDeliveries"), NOT_FOUND),
    ),
    webhooks=True,
)  # fmt: skip

redeliver_webhook = Case(
    a_delivery,
    """mutation($dlv: ID!) { redeliverWebhook(deliveryId: $dlv) { id } }""",
    (
        Read("webhookDeliveries(endpointId)", DELIVERIES,
             at("webhookDeliveries", ("id", "again")),
             lambda ctx, before: {"id": ctx["again"], "eventId": ctx["event"],
                                  "redeliveryOf": ctx["dlv"]}),
        Read("webhookDeliveries(endpointId).count", DELIVERIES, count("webhookDeliveries"),
             plus_one),
    ),
    learn=lambda answer: {"again": answer["redeliverWebhook"]["id"]},
    webhooks=True,
)  # fmt: skip


# -- the walk ----------------------------------------------------------------------------------------

CASES: dict[str, Case] = {
    "createCustomer": create_customer,
    "updateCustomer": update_customer,
    "deleteCustomer": delete_customer,
    "addCustomerNote": add_customer_note,
    "tagCustomer": tag_customer,
    "createJob": create_job,
    "updateJob": update_job,
    "addLineItems": add_line_items,
    "updateLineItem": update_line_item,
    "addJobNote": add_job_note,
    "tagJob": tag_job,
    "scheduleTask": schedule_task,
    "rescheduleTask": reschedule_task,
    "reassignTask": reassign_task,
    "deleteTask": delete_task,
    "createOpportunity": create_opportunity,
    "markOpportunityWon": mark_won,
    "markOpportunityLost": mark_lost,
    "invoiceJob": invoice_job,
    "recordPayment": record_payment,
    "createVendor": create_vendor,
    "updateVendor": update_vendor,
    "deleteVendor": delete_vendor,
    "createJobType": create_job_type,
    "recordCustomerPayment": record_customer_payment,
    "createWebhookEndpoint": create_webhook_endpoint,
    "updateWebhookEndpoint": update_webhook_endpoint,
    "rotateWebhookSecret": rotate_webhook_secret,
    "deleteWebhookEndpoint": delete_webhook_endpoint,
    "redeliverWebhook": redeliver_webhook,
}


def schema_mutations() -> list[str]:
    mutation = graphql_schema(build_schema()).mutation_type
    assert mutation is not None
    return sorted(mutation.fields)


def test_every_case_is_a_mutation_of_the_schema() -> None:
    assert sorted(set(CASES) - set(schema_mutations())) == []


@pytest.mark.parametrize("mutation", schema_mutations())
async def test_a_write_is_seen_at_once_by_every_read_of_what_it_changed(mutation: str) -> None:
    case = CASES.get(mutation)
    assert case is not None, f"{mutation} has no case here: add its reads to CASES"
    if case.unobservable is not None:
        assert not case.reads
        return
    paths = [read.path for read in case.reads]
    assert case.reads and len(set(paths)) == len(paths), paths
    async with graph_over_sandbox(webhooks=case.webhooks) as h:
        ctx = await case.arrange(h)
        if case.strict_refusal is not None and h.store.choices is STRICT:
            refused = await h.gql(case.write, variables_of(case.write, ctx))
            assert outcome(refused) == f"error:{case.strict_refusal}", refused
            return
        before = {read.path: await observe(h, read, ctx) for read in case.reads}
        answer = data_of(await h.gql(case.write, variables_of(case.write, ctx)))
        ctx = {**ctx, **case.learn(answer)}
        wrong = {}
        for read in case.reads:
            after = await observe(h, read, ctx)
            expected = read.expect(ctx, before[read.path])
            if after != expected or after == before[read.path]:
                wrong[read.path] = {"before": before[read.path], "after": after, "want": expected}
    assert not wrong, f"{mutation}: stale or unchanged reads:\n" + "\n".join(
        f"  {path}: {seen}" for path, seen in wrong.items()
    )
