"""The community reference's two creates the graph lacked: a job type (``POST /job_types.json``,
a verb the reference lists and never shows) and a payment of a customer applied to no job
(``POST /payments.json``, whose payload the reference does not show). Over the sandbox on a real
port, in whichever personality runs: the strict one has no job-type create and reads the payment's
``customer_id`` as a global id, and the graph must say so clearly."""

from __future__ import annotations

from sandbox.choices import STRICT
from sandbox.knobs import FaultRule
from tests.graph.write_harness import data_of, error_of, graph_over_sandbox

CREATE_TYPE = """mutation($input: JobTypeInput!) {
  createJobType(input: $input) { id name description color active } }"""
PAY = """mutation($c: Int!, $input: PaymentInput!) {
  recordCustomerPayment(customerNumber: $c, input: $input) {
    id amount paymentType refNumber customer { number } job { number } } }"""


async def test_create_a_job_type() -> None:
    async with graph_over_sandbox() as h:
        spec = {"name": "Duct Cleaning", "description": "Whole house", "color": "1e90ff"}
        answer = await h.gql(CREATE_TYPE, {"input": spec})
        if h.store.choices is STRICT:
            assert error_of(answer)["extensions"]["code"] == "UPSTREAM_UNSUPPORTED"
            assert not any(t.name == "Duct Cleaning" for t in h.store.job_types.values())
            return
        made = data_of(answer)["createJobType"]
        assert made == {**spec, "id": made["id"], "active": True}
        listed = data_of(await h.gql("{ jobTypes { id name } }"))["jobTypes"]
        assert {"id": made["id"], "name": "Duct Cleaning"} in listed
        again = error_of(await h.gql(CREATE_TYPE, {"input": spec}))
        assert again["extensions"]["code"] == "BAD_USER_INPUT"  # Kickserv's "already taken"


async def test_a_bad_job_type_is_refused_before_any_write() -> None:
    async with graph_over_sandbox() as h:
        h.sandbox.reset_requests()
        for bad in ({"name": " "}, {"name": "Ok", "color": "#fff"}):
            refused = error_of(await h.gql(CREATE_TYPE, {"input": bad}))
            assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert h.writes() == []


async def test_record_a_payment_of_a_customer_applied_to_no_job() -> None:
    async with graph_over_sandbox() as h:
        customer = next(iter(h.store.customers.values()))
        payments_of = """query($c: Int!) { customer(number: $c) {
          payments(first: 100) { totalCount nodes { id } } } }"""
        before = data_of(await h.gql(payments_of, {"c": customer.number}))
        count = before["customer"]["payments"]["totalCount"]
        spec = {"amount": "75.50", "paymentType": "Check", "refNumber": "CHK-1009"}
        answer = await h.gql(PAY, {"c": customer.number, "input": spec})
        if h.store.choices is STRICT:  # customer_id read as a global id: Kickserv's 422
            assert error_of(answer)["extensions"]["code"] == "BAD_USER_INPUT"
            assert all(p.customer_id != 0 for p in h.store.payments.values())
            return
        paid = data_of(answer)["recordCustomerPayment"]
        assert paid == {
            "id": paid["id"], "amount": "75.5", "paymentType": "Check", "refNumber": "CHK-1009",
            "customer": {"number": customer.number}, "job": None,
        }  # fmt: skip
        after = data_of(await h.gql(payments_of, {"c": customer.number}))["customer"]["payments"]
        assert after["totalCount"] == count + 1 and {"id": paid["id"]} in after["nodes"]
        entity = """query($r: [_Any!]!) { _entities(representations: $r) {
          ... on Payment { amount } } }"""
        found = data_of(await h.gql(entity, {"r": [{"__typename": "Payment", "id": paid["id"]}]}))
        assert found["_entities"] == [{"amount": "75.5"}]


async def test_a_payment_of_nothing_is_refused_before_any_write() -> None:
    async with graph_over_sandbox() as h:
        h.sandbox.reset_requests()
        customer = next(iter(h.store.customers.values()))
        refused = error_of(await h.gql(PAY, {"c": customer.number, "input": {"amount": "0"}}))
        assert refused["extensions"]["code"] == "BAD_USER_INPUT"
        assert h.writes() == []


async def test_a_customer_payment_whose_answer_is_lost_is_recorded_once() -> None:
    async with graph_over_sandbox() as h:
        if h.store.choices is STRICT:  # no payment is recorded there (see above)
            return
        customer = next(iter(h.store.customers.values()))
        before = len(h.store.payments)
        lost = FaultRule(
            method="POST", path="*/payments.json", when="after", action="drop", times=1
        )
        h.sandbox.state.knobs.faults = [lost]
        spec = {"amount": "20", "refNumber": "LOST-1"}
        paid = data_of(await h.gql(PAY, {"c": customer.number, "input": spec}))
        assert lost.times == 0  # the answer was dropped once, after Kickserv recorded it
        mine = [p for p in h.store.payments.values() if p.ref_number == "LOST-1"]
        assert len(mine) == 1 and len(h.store.payments) == before + 1
        assert paid["recordCustomerPayment"]["id"] == str(mine[0].id)
