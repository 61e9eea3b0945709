"""Each record's compiled ``from_json`` (kickserv.records.compiled) answers what the reader-by-reader
``read_json`` answers, value for value, and fails with the same error: over Kickserv's documented
shapes, which it reads itself, and over every variant it hands to ``read_json``."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kickserv import Customer, Invoice, Job, Payment, ResponseShape, Task
from kickserv.records.record import Record

TASK: dict[str, Any] = {
    "id": 10002132,
    "job_id": 10002131,
    "task_type_id": 10000021,
    "description": "Measure and quote",
    "starts_at": "2025-09-21T14:30:00-05:00",
    "ends_at": "2025-09-21T17:30:00-05:00",
    "completed": True,
    "created_at": "2025-09-17T22:32:00-05:00",
    "employee_ids": [10000003],
    "job": {"id": 10002131, "job_number": 1001, "name": "Snow Removal", "customer_id": 7},
    "customer": {"id": 7, "customer_number": 239, "name": "Andrea", "service_city": "Austin"},
    "primary_contact": None,
    "employees": [{"id": 10000003, "employee_number": 3, "name": "Jerry Powell"}],
}
INVOICE: dict[str, Any] = {
    "id": 5,
    "job_number": 1001,
    "customer_id": 7,
    "total": "270.0",
    "balance_remaining": 12,
    "invoice_date": "2026-11-02",
    "invoice_status": "sent",
    "tasks": [TASK],
}
CUSTOMER: dict[str, Any] = {
    "id": 7,
    "customer_number": 239,
    "name": "Andrea Barnes",
    "service_address": "2894 Laurel Ln",
    "billing_city": "Austin",
    "balance": "10.50",
    "latitude": "30.2",
    "is_active": True,
    "children": [8, {"id": 9}],
}
PAYMENT: dict[str, Any] = {"id": 3, "amount": "20.00", "date": "2026-11-02", "customer_id": 7}

# Values the fast path hands to read_json (variants it accepts, and wrong ones it refuses).
VARIANTS: list[Any] = [
    None,
    "",
    " ",
    "12",
    " 12 ",
    "-3",
    "$1,200.50",
    "1e3",
    "NaN",
    "Infinity",
    12,
    0,
    1,
    2.5,
    1.0,
    True,
    False,
    "true",
    "no",
    "2026-11-02",
    " 2026-11-02 ",
    "2026-11-02T10:00:00-05:00",
    " 2026-11-02T10:00:00-05:00",
    "2026-11-02T10:00:00",
    "yesterday",
    [],
    [1, "2"],
    [1, True],
    {},
    {"id": 4},
    "text",
]

CASES = [(Task, TASK), (Invoice, INVOICE), (Job, INVOICE), (Customer, CUSTOMER), (Payment, PAYMENT)]


def outcome(cls: type[Record], data: object, read: str) -> tuple[str, Any]:
    try:
        found = getattr(cls, read)(data)
    except ResponseShape as exc:
        return "error", exc.message
    return "record", (type(found), found)


@pytest.mark.parametrize(("cls", "base"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_the_compiled_reader_answers_and_fails_as_the_reader_by_reader_one(cls, base):
    assert cls.from_json(base) == cls.read_json(base)
    keys = {*base, "created_on", "updated_at", "name", "title", "amount", "date", "tags"}
    for key in sorted(keys):
        for value in VARIANTS:
            data = {**base, key: value}
            assert outcome(cls, data, "from_json") == outcome(cls, data, "read_json"), (key, value)


def test_what_is_not_a_json_object_goes_to_the_reader_by_reader_path():
    assert Task.from_json({**TASK, "employees": [10000003]}).employees[0].id == 10000003  # bare id
    with pytest.raises(ResponseShape, match="Task should be a JSON object"):
        Task.from_json(["not", "an", "object"])


def test_a_record_is_read_by_its_own_compiled_reader_not_its_parents():
    # Job and Invoice share JobBase's readers; each builds its own type.
    assert type(Job.from_json(INVOICE)) is Job and type(Invoice.from_json(INVOICE)) is Invoice
    assert Invoice.from_json(INVOICE).tasks[0] == Task.read_json(TASK)


def test_replace_is_dataclasses_replace():
    task = Task.from_json(TASK)
    assert task.replace(name="Quote", job=None) == dataclasses.replace(task, name="Quote", job=None)
    assert task.replace() == task and task.replace() is not task
    with pytest.raises(TypeError):
        task.replace(nope=1)


def test_a_reader_that_skips_fields_gives_them_the_value_named():
    without_tasks = Invoice.reader(tasks=())
    assert Invoice.reader(tasks=()) is without_tasks  # compiled once
    for value in VARIANTS:
        data = {**INVOICE, "total": value}
        full = outcome(Invoice, data, "from_json")
        if full[0] == "error":
            assert outcome_of(without_tasks, data) == full
        else:
            assert without_tasks(data) == full[1][1].replace(tasks=())
    assert without_tasks({**INVOICE, "tasks": "not read"}).tasks == ()


def outcome_of(read: Any, data: object) -> tuple[str, Any]:
    try:
        return "record", read(data)
    except ResponseShape as exc:
        return "error", exc.message


def test_a_reader_reads_embedded_records_with_the_parsers_named():
    from types import MappingProxyType

    from kickserv.records.glue import CustomerRef, EmployeeRef, JobRef

    bare: MappingProxyType[str, Any] = MappingProxyType(
        {}
    )  # not hashable: the reader is still compiled once
    glue = {
        "job": JobRef.reader(raw=bare),
        "customer": CustomerRef.reader(raw=bare),
        "employees": EmployeeRef.reader(raw=bare),
    }
    lean = Task.reader(glue, raw=bare, primary_contact=None)
    assert Task.reader(dict(glue), raw=bare, primary_contact=None) is lean
    for value in VARIANTS:  # documented values (compiled path) and variants (reader by reader)
        data = {**TASK, "task_type_id": value, "primary_contact": {"name": "not read"}}
        full = outcome(Task, data, "from_json")
        if full[0] == "error":
            assert outcome_of(lean, data) == full
            continue
        task = full[1][1]
        assert lean(data) == task.replace(
            raw=bare,
            primary_contact=None,
            job=task.job.replace(raw=bare),
            customer=task.customer.replace(raw=bare),
            employees=tuple(e.replace(raw=bare) for e in task.employees),
        )
    with pytest.raises(TypeError, match="no field 'nope'"):
        Task.reader({"nope": JobRef.from_json})
    with pytest.raises(TypeError, match="reads no embedded record"):
        Task.reader({"name": JobRef.from_json})


def test_ids_and_addresses_read_from_glue_or_columns_answer_as_the_reader_by_reader_one():
    """The fast paths of ``Fields.id_or_glue``, ``Fields.ids_or_glue`` and
    ``Address.from_prefix``, over what each takes from elsewhere or hands on."""
    without = {k: v for k, v in TASK.items() if k not in ("job_id", "employee_ids")}
    shapes: list[dict[str, Any]] = [
        without,  # ids from the glue
        {**without, "job": 10002131, "employees": [10000003, {"id": 5}]},  # bare ids
        {**without, "job": None, "employees": None},
        {**without, "job": {"name": "no id"}},
        {**TASK, "employee_ids": [], "employees": []},
        {**TASK, "employee_ids": None, "employees": [{"id": 6}]},
        {**TASK, "employee_ids": [], "employees": "text"},
    ]
    for key in ("service_address", "service_zip_code", "service_country"):
        for value in VARIANTS:
            shapes.append({**TASK, "customer": {**TASK["customer"], key: value}})
    for data in shapes:
        for cls in (Task, Invoice):
            shaped = data if cls is Task else {**INVOICE, "customer": data["customer"]}
            if cls is Invoice and "customer_id" in shaped:
                del shaped["customer_id"]  # the customer's id from its glue
            assert outcome(cls, shaped, "from_json") == outcome(cls, shaped, "read_json"), data
