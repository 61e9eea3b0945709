"""Records parse Kickserv's JSON, keep every key in `raw`, and fail only with ResponseShape."""

from __future__ import annotations

import pickle
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from kickserv import (
    Customer,
    Employee,
    Invoice,
    Item,
    Job,
    JobCharge,
    JobChargeType,
    JobType,
    Note,
    Payment,
    PaymentRequest,
    ResponseShape,
    Task,
    Vendor,
)

MINUS_5 = timezone(timedelta(hours=-5))


def test_customer_parses_types_and_keeps_raw():
    # given
    data = {
        "id": "10000007",
        "customer_number": 7,
        "name": "Ada Lovelace",
        "service_address": "1 Main St",
        "service_city": "Springfield",
        "billing_city": "Shelbyville",
        "balance": 12.5,
        "total_balance": "100.10",
        "created_on": "2024-01-02T03:04:05-05:00",
        "children": [10000009, {"id": 10000010, "customer_number": 10, "name": "Shop"}],
        "custom_text1": "gate code 42",
        "qb_error": None,
    }
    # when
    c = Customer.from_json(data)
    # then
    assert c.id == 10000007
    assert c.balance == Decimal("12.5")
    assert c.total_balance == Decimal("100.10")
    assert c.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=MINUS_5)
    assert c.service_address.street == "1 Main St"
    assert c.billing_address.city == "Shelbyville"
    assert [ref.id for ref in c.children] == [10000009, 10000010]
    assert c.children[1].customer_number == 10
    assert c.raw["custom_text1"] == "gate code 42"
    assert set(c.raw) == set(data)


@pytest.mark.parametrize(
    "data",
    [
        {"customer_number": 7, "name": "x"},  # id missing
        {"id": 1, "customer_number": "seven", "name": "x"},  # not a number
        {"id": 1, "customer_number": True, "name": "x"},  # a bool is not an id
        {"id": 1, "customer_number": 7, "name": ["x"]},  # not a string
        {"id": 1, "customer_number": 7, "name": "x", "balance": "lots"},
        {"id": 1, "customer_number": 7, "name": "x", "created_at": "yesterday"},
        {"id": 1, "customer_number": 7, "name": "x", "created_at": "2024-01-02T03:04:05"},
        {"id": 1, "customer_number": 7, "name": "x", "children": {"id": 2}},
        {"id": 1, "customer_number": 7, "name": "x", "children": [{"name": "no id"}]},
        ["not", "an", "object"],
    ],
)
def test_wrong_or_missing_fields_raise_response_shape(data):
    with pytest.raises(ResponseShape) as caught:
        Customer.from_json(data)
    assert "Customer" in str(caught.value)


def test_single_job_embeds_glue_charges_payments_request_tags_notes():
    data = {
        "id": 39497130,
        "job_number": 86000,
        "customer_id": 6667788,
        "status": "complete",
        "subtotal": "270.0",
        "scheduled_on": "2024-03-04T09:00:00-05:00",
        "customer": {"id": 6667788, "customer_number": 8, "name": "Sam"},
        "job_charges": [
            {
                "id": 44556677,
                "job_id": 39497130,
                "created_on": "2022-06-04T21:25:19-04:00",
                "quantity": "6.0",
                "price_per_unit": "45.0",
                "total": "270.0",
                "item": {"id": 75757575, "name": "Asphalt Millings", "price": "45.0"},
            }
        ],
        "payments": [{"id": 5, "date": "2022-05-09", "amount": "1464.27"}],
        "payment_request": {"id": 9, "job_id": 39497130, "amount": 146427, "paid": False},
        "tags": ["vip", {"id": 3, "name": "gate"}],
        "notes": [{"id": 77, "noteable_type": "Job", "noteable_id": 39497130, "body": "hi"}],
    }
    job = Job.from_json(data)
    assert job.customer is not None and job.customer.customer_number == 8
    assert job.job_charges is not None and job.job_charges[0].item is not None
    assert job.job_charges[0].item.name == "Asphalt Millings"
    assert job.job_charges[0].total == Decimal("270.0")
    assert job.payments is not None and job.payments[0].date == date(2022, 5, 9)
    assert job.payment_request is not None and job.payment_request.amount == Decimal("1464.27")
    assert job.payment_request.amount_cents == 146427
    assert job.tags == ("vip", "gate")
    assert job.notes is not None and job.notes[0].body == "hi"
    assert not job.is_opportunity


def test_job_list_entry_has_no_embedded_collections():
    job = Job.from_json({"id": 1, "job_number": 1001, "customer_id": 5, "status": "new"})
    assert job.job_charges is None and job.payments is None and job.tags is None
    assert job.is_opportunity


def test_task_glue_and_employee_ids_from_either_form():
    data = {
        "id": 1,
        "job_id": 2,
        "starts_at": "2024-03-04T09:00:00-05:00",
        "ends_at": "2024-03-04T10:00:00Z",
        "job": {
            "id": 2,
            "job_number": 1001,
            "name": "Fix",
            "status": "scheduled",
            "customer_id": 3,
        },
        "customer": {"id": 3, "customer_number": 1, "name": "Sam", "service_city": "X"},
        "primary_contact": None,
        "employees": [{"id": 40, "employee_number": 4, "name": "Eve"}],
    }
    task = Task.from_json(data)
    assert task.employee_ids == (40,)
    assert task.job is not None and task.job.job_number == 1001
    assert task.customer is not None and task.customer.service_address.city == "X"
    assert task.ends_at is not None and task.ends_at.utcoffset() == timedelta(0)


def test_item_full_and_truncated_shapes():
    full = Item.from_json(
        {"id": 1, "account_id": 2, "name": "Widget", "price": "1.45", "active": True}
    )
    short = Item.from_json(
        {"id": 2, "name": "Violin", "price": "55.0", "taxable": True, "formatted_price": "$55.00"}
    )
    assert not full.truncated and short.truncated
    assert short.price == Decimal("55.0") and short.active is None


def test_every_record_parses_a_minimal_entry_and_pickles():
    records = [
        Employee.from_json({"id": 1, "employee_number": 1, "name": "Owner", "admin": True}),
        JobType.from_json({"id": 1, "name": "Repair", "cost": ""}),
        JobChargeType.from_json({"id": 1, "name": "Hourly"}),
        Vendor.from_json({"id": 1, "name": "Acme", "created_at": "2020-12-23T06:27:50-07:00"}),
        Note.from_json({"id": 1, "text": "old key"}),
        Payment.from_json({"id": 1, "amount": 10}),
        PaymentRequest.from_json({"id": 1, "amount": "500"}),
        JobCharge.from_json({"id": 1}),
        Invoice.from_json({"id": 1, "job_number": 2, "invoice_date": "2024-01-01", "tasks": []}),
    ]
    for record in records:
        assert pickle.loads(pickle.dumps(record)) == record
        assert hash(record) == hash(pickle.loads(pickle.dumps(record)))
    assert records[1].cost is None
    assert records[4].body == "old key"
    assert records[6].amount == Decimal("5.00")


def test_payment_request_amount_must_be_whole_cents():
    with pytest.raises(ResponseShape, match=r"PaymentRequest\.amount"):
        PaymentRequest.from_json({"id": 1, "amount": "14.27"})
