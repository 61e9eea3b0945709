"""JSON shapes of records: raw-column-like objects, glue records and the per-endpoint variants.

Kickserv serialises raw model columns, so every shape carries the legacy and QuickBooks keys the
reference lists (mostly null); clients keep unknown keys in `raw`, so these matter.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sandbox import choices
from sandbox.data import (
    AccountStore,
    Customer,
    Employee,
    Item,
    Job,
    JobCharge,
    JobChargeType,
    JobType,
    Note,
    Payment,
    Task,
    Vendor,
    person_name,
)
from sandbox.fragments import Key, Keyed
from sandbox.ledger import with_children

JsonObject = dict[str, Any]


def money(value: Decimal) -> str:
    """Rails BigDecimal#to_s: "270.0", "1464.27", "1464.2"."""
    if value == value.to_integral_value():
        return f"{int(value)}.0"
    return format(value.normalize(), "f")


def stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _custom_fields(texts: int, numbers: int, datetimes: int) -> JsonObject:
    fields: JsonObject = {f"custom_text{i}": None for i in range(1, texts + 1)}
    fields.update({f"custom_number{i}": None for i in range(1, numbers + 1)})
    fields.update({f"custom_datetime{i}": None for i in range(1, datetimes + 1)})
    return fields


CUSTOMER_EXTRAS: JsonObject = {
    "origin": "manual", "fax": None, "alt_phone_number": None, "pager": None, "alt_contact": None,
    "service_country": "US", "billing_address_2": None, "billing_country": "US",
    "which_billing_address": "service", "sublevel": 0, "is_active": True, "credit_limit": None,
    "tax_id": None, "sales_tax_code_id": None, "customer_type_id": None, "send_reminders": True,
    "send_notifications": True, "notify_via_email": True, "notify_via_sms": False,
    "notification_email_address": None, "notification_phone_number": None,
    "stripe_customer_id": None, "deleted_at": None, "list_id": None, "edit_sequence": None,
    "time_created": None, "time_modified": None, "parent_ref_full_name": None,
    **_custom_fields(20, 10, 10),
}  # fmt: skip

JOB_EXTRAS: JsonObject = {
    "ok_to_sync": False, "txn_id": None, "edit_sequence": None, "ref_number": None,
    "estimate_type": None, "self_service": False, "recurring_job_id": None,
    "recurring_interval": None, "job_status_id": None, "recurring_end_date": None,
    "customer_ref_list_id": None, "txn_number": None, "txn_date": None,
    "item_sales_tax_ref_list_id": None, "item_sales_tax_ref_full_name": None,
    "customer_sales_tax_code_ref_list_id": None, "customer_sales_tax_code_ref_full_name": None,
    "estimate_terms": None, "estimate_notes": None, "tax_id": None, "ship_date": None,
    "ship_method_ref_full_name": None, "chosen_days_of_week": [], "max_recurring_iterator": None,
    "recurring_iterator": None, "detailed_invoice": True, "service_type_id": None,
    "invoice_sent_date": None, "deleted_at": None, "schedule": None,
    "estimate_scheduled_on": None, "invoice_viewed_on": None, "qb_error": None,
    "notification_sent": False, "total_expenses": "0.0", "recurring_date": None,
    "job_allocations": {"allocations": [], "include_expenses": True}, "last_recurring_date": None,
    "recurring_ended": False, **_custom_fields(20, 10, 10),
}  # fmt: skip


GLUE_KEYS = (
    "id", "customer_number", "name", "phone_number", "email_address", "service_address",
    "service_address_2", "service_city", "service_state", "service_zip_code",
)  # fmt: skip


def _glue_key(c: Customer) -> Key:
    return (
        c.id, c.number, c.name, c.phone_number, c.email_address, c.service_address,
        c.service_address_2, c.service_city, c.service_state, c.service_zip_code,
    )  # fmt: skip


def _glue_from(key: Key) -> JsonObject:
    """A customer's glue, as tasks, opportunities, invoices and payments embed it."""
    return dict(zip(GLUE_KEYS, key, strict=True))


def _customer_key(store: AccountStore, c: Customer) -> Key:
    """What a customer record shows; the children last (a count, then four values each)."""
    contact, last = c.contact, _last_completed(store, c)
    children = [store.customers[i] for i in c.children if i in store.customers]
    return (
        store.account_id, is_active(store, c), c.id, c.number, c.created_at, c.updated_at, c.name,
        c.company_name, c.first_name, c.last_name, c.phone_number, c.mobile, c.email_address,
        contact is not None, contact and contact.first_name, contact and contact.last_name,
        c.service_address, c.service_address_2, c.service_city, c.service_state,
        c.service_zip_code, c.billing_address, c.billing_city, c.billing_state,
        c.billing_zip_code, c.latitude, c.longitude, c.special_instructions, c.parent_id,
        c.balance, c.customer_source_id, last and last.number, last and last.completed_on,
        last and last.name, len(children),
        *(value for k in children for value in (k.id, k.number, k.name, k.balance)),
    )  # fmt: skip


def _customer_from(key: Key) -> JsonObject:
    """The customer record; in the strict personality some customers are inactive."""
    (
        account_id, active, id_, number, created_at, updated_at, name, company_name, first_name,
        last_name, phone_number, mobile, email_address, has_contact, contact_first, contact_last,
        service_address, service_address_2, service_city, service_state, service_zip_code,
        billing_address, billing_city, billing_state, billing_zip_code, latitude, longitude,
        special_instructions, parent_id, balance, customer_source_id, last_number, last_at,
        last_name_, count,
    ) = key[:35]  # fmt: skip
    children = [key[i : i + 4] for i in range(35, 35 + 4 * count, 4)]
    columns = {
        "id": id_, "account_id": account_id, "customer_number": number,
        "created_at": stamp(created_at), "updated_at": stamp(updated_at),
        "name": name, "company_name": company_name, "first_name": first_name,
        "last_name": last_name, "full_name": name, "company": company_name is not None,
        "phone_number": phone_number, "phone": phone_number, "mobile": mobile,
        "alt_phone": mobile, "email_address": email_address, "email": email_address,
        "contact": f"{contact_first} {contact_last}" if has_contact else None,
        "service_address": service_address, "service_address_2": service_address_2,
        "service_city": service_city, "service_state": service_state,
        "service_zip_code": service_zip_code, "billing_address": billing_address,
        "billing_city": billing_city, "billing_state": billing_state,
        "billing_zip_code": billing_zip_code, "latitude": latitude, "longitude": longitude,
        "special_instructions": special_instructions, "parent_id": parent_id,
        "children": [{"id": k[0], "customer_number": k[1], "name": k[2]} for k in children],
        "balance": money(balance),
        "total_balance": money(with_children(balance, (k[3] for k in children))),
        "customer_source_id": customer_source_id, "token": f"cus{id_:x}",
        "created_by": None, "updated_by": None,
        "last_job_completed_number": last_number, "last_job_completed_at": stamp(last_at),
        "last_job_completed_name": last_name_, **CUSTOMER_EXTRAS,
    }  # fmt: skip
    return {**columns, "is_active": active}


customer = Keyed("customer", _customer_key, _customer_from)


def is_active(store: AccountStore, c: Customer) -> bool:
    return store.choices.all_customers_active or c.number % choices.INACTIVE_CUSTOMER_EVERY != 0


def _last_completed(store: AccountStore, c: Customer) -> Job | None:
    done = [store.jobs[j] for j in c.job_ids if store.jobs[j].completed_on is not None]
    return max(done, key=lambda j: (j.completed_on, j.number), default=None)


def _job_key(store: AccountStore, j: Job) -> Key:
    """What a listed job shows; its tasks' times last (a count, then start and end of each)."""
    tasks = [store.tasks[t] for t in j.task_ids]
    return (
        j.id, j.customer_id, store.account_id, j.number, j.created_at, j.name, j.scheduled_on,
        j.completed_on, j.subtotal, j.tax, j.total, j.balance_remaining, j.updated_at,
        j.job_type_id, j.sales_tax_percentage, j.created_by, j.invoice_terms, j.invoice_notes,
        j.description, j.status, j.invoice_status, j.invoice_date, j.won_date, j.po_number,
        j.on_hold, j.estimate_sent_on, j.estimate_viewed_on, j.lost_date, j.started_on,
        j.canceled_on, j.invoice_paid_on, len(tasks),
        *(value for t in tasks for value in (t.starts_at, t.ends_at)),
    )  # fmt: skip


def _job_from(key: Key) -> JsonObject:
    """A job as listed by /jobs.json and /customers/{n}/jobs.json: customer_id, no glue."""
    (
        id_, customer_id, account_id, number, created_at, name, scheduled_on, completed_on,
        subtotal, tax, total, balance_remaining, updated_at, job_type_id, sales_tax_percentage,
        created_by, invoice_terms, invoice_notes, description, status, invoice_status,
        invoice_date, won_date, po_number, on_hold, estimate_sent_on, estimate_viewed_on,
        lost_date, started_on, canceled_on, invoice_paid_on, count,
    ) = key[:32]  # fmt: skip
    starts, ends = key[32 : 32 + 2 * count : 2], key[33 : 33 + 2 * count : 2]
    seconds = sum((end - start).seconds for start, end in zip(starts, ends, strict=True))
    return {
        "id": id_, "customer_id": customer_id, "account_id": account_id,
        "job_number": number, "created_at": stamp(created_at), "name": name,
        "scheduled_on": stamp(scheduled_on), "completed_on": stamp(completed_on),
        "subtotal": money(subtotal), "tax": money(tax), "total": money(total),
        "balance_remaining": money(balance_remaining), "updated_at": stamp(updated_at),
        "job_type_id": job_type_id, "sales_tax_percentage": money(sales_tax_percentage),
        "duration": money(Decimal(seconds) / 3600), "ends_at": stamp(max(ends, default=None)),
        "created_by": created_by, "updated_by": created_by,
        "invoice_terms": invoice_terms, "invoice_notes": invoice_notes,
        "description": description, "status": status, "invoice_status": invoice_status,
        "invoice_date": day(invoice_date), "tasks_count": count,
        "won_date": day(won_date), "po_number": po_number, "on_hold": stamp(on_hold),
        "estimate_sent_on": stamp(estimate_sent_on),
        "estimate_viewed_on": stamp(estimate_viewed_on), "lost_date": day(lost_date),
        "started_on": stamp(started_on), "canceled_on": stamp(canceled_on),
        "invoice_paid_on": day(invoice_paid_on), **JOB_EXTRAS,
    }  # fmt: skip


job = Keyed("job", _job_key, _job_from)


def _job_with_customer_key(store: AccountStore, j: Job) -> Key:
    return (*_glue_key(store.customers[j.customer_id]), *_job_key(store, j))


def _job_with_customer_from(key: Key) -> JsonObject:
    """Opportunity entries: a job plus its customer glue."""
    return {**_job_from(key[10:]), "customer": _glue_from(key[:10])}


job_with_customer = Keyed("job_with_customer", _job_with_customer_key, _job_with_customer_from)


def job_detail(store: AccountStore, j: Job) -> JsonObject:
    """The single-job GET/PUT/POST answer, with everything the job embeds."""
    return {
        **job_with_customer(store, j),
        "job_charges": [job_charge(store, store.charges[c]) for c in j.charge_ids],
        "payments": [payment(store, store.payments[p]) for p in j.payment_ids],
        "payment_request": payment_request(store, j),
        "tags": list(j.tags),
        **_embedded_notes(store, j),
    }


def _embedded_notes(store: AccountStore, j: Job) -> JsonObject:
    """A job detail's `notes` (the reference only guesses it embeds them: strict leaves them out)."""
    if not store.choices.job_detail_notes_key:
        return {}
    return {"notes": [note(store, store.notes[n]) for n in j.note_ids]}


def _invoice_key(store: AccountStore, j: Job) -> Key:
    """The job with its customer, then each task's key after its length."""
    job_part = _job_with_customer_key(store, j)
    tasks = [_task_key(store, store.tasks[t]) for t in j.task_ids]
    return (len(job_part), *job_part, *(value for k in tasks for value in (len(k), *k)))


def _invoice_from(key: Key) -> JsonObject:
    size = key[0]
    at, tasks = 1 + size, []
    while at < len(key):
        length = key[at]
        tasks.append(_task_from(key[at + 1 : at + 1 + length]))
        at += 1 + length
    return {**_job_with_customer_from(key[1 : 1 + size]), "tasks": tasks}


invoice = Keyed("invoice", _invoice_key, _invoice_from)


def payment_request(store: AccountStore, j: Job) -> JsonObject | None:
    if j.payment_request_cents is None:
        return None
    sent = stamp(j.updated_at)
    return {
        "id": j.id, "job_id": j.id, "amount": j.payment_request_cents, "creator_id": j.created_by,
        "message": f"Invoice #{j.number} from {store.name}", "paid": False,
        "created_at": sent, "updated_at": sent,
    }  # fmt: skip


def job_charge(store: AccountStore, c: JobCharge) -> JsonObject:
    """A job charge; `taxable` is a key the reference never shows (strict leaves it out)."""
    shaped = _charge_columns(store, c)
    if not store.choices.charge_taxable_key:
        del shaped["taxable"]
    return shaped


def _charge_columns(store: AccountStore, c: JobCharge) -> JsonObject:
    item_record = store.items.get(c.item_id) if c.item_id is not None else None
    return {
        "id": c.id, "job_id": c.job_id, "account_id": store.account_id,
        "created_on": stamp(c.created_on), "updated_at": stamp(c.updated_at),
        "description": c.description, "details": c.details, "quantity": money(c.quantity),
        "price_per_unit": money(c.price_per_unit), "discount": money(c.discount),
        "total": money(c.total), "taxable": c.taxable, "item_id": c.item_id,
        "job_charge_type_id": c.job_charge_type_id, "tax_id": None, "sales_tax_code_id": None,
        "updated_by": c.updated_by, "recurring_item_parent_id": None, "deleted_at": None,
        "sort_order": None, "qb_txn_line_id": None, "item_ref_list_id": None, "txn_line_id": None,
        "item": item(store, item_record) if item_record else None,
    }  # fmt: skip


def _payment_key(store: AccountStore, p: Payment) -> Key:
    """The payment's values, then its payer's key: the glue's, or (strict: the reference says a
    payment embeds the full customer object) the customer record's."""
    c = store.customers[p.customer_id]
    summary = store.choices.payment_customer_summary
    payer = _glue_key(c) if summary else _customer_key(store, c)
    return (
        p.id, p.date, p.payment_type, p.amount, p.notes, p.ref_number, p.created_at,
        p.updated_by, summary, *payer,
    )  # fmt: skip


def _payment_from(key: Key) -> JsonObject:
    id_, date_, payment_type, amount, notes, ref_number, created_at, updated_by, summary = key[:9]
    online = payment_type == "Credit Card (Online)"
    payer = key[9:]
    return {
        "id": id_, "date": day(date_), "payment_type": payment_type, "amount": money(amount),
        "notes": notes, "ref_number": ref_number, "txn_id": None,
        "created_at": stamp(created_at), "updated_at": stamp(created_at),
        "updated_by": updated_by, "stripe_payment_id": f"ch_sandbox{id_}" if online else None,
        "qb_error": None, "status": "credit_card_transaction_complete" if online else None,
        "customer": _glue_from(payer) if summary else _customer_from(payer),
    }  # fmt: skip


payment = Keyed("payment", _payment_key, _payment_from)


def _task_key(store: AccountStore, t: Task) -> Key:
    """What a task shows; its employees (a count, the ids, then four values each) and its
    contact's five values (none without one) last."""
    j = store.jobs[t.job_id]
    c = store.customers[j.customer_id]
    contact = c.contact
    people = [store.employees[i] for i in t.employee_ids]
    return (
        store.account_id, store.choices.task_employee_ids_key, t.id, t.job_id, t.task_type_id,
        t.description, t.starts_at, t.ends_at, t.completed, t.created_at, t.updated_at, j.id,
        j.number, j.name, j.status, j.customer_id, *_glue_key(c), len(people), *t.employee_ids,
        *(value for e in people for value in (e.id, e.number, e.first_name, e.last_name)),
        *(() if contact is None else (contact.id, contact.first_name, contact.last_name,
                                      contact.phone, contact.email)),
    )  # fmt: skip


def _task_from(key: Key) -> JsonObject:
    """A task with its glue; `employee_ids` beside the employees' glue is a guess strict omits."""
    (
        account_id, ids_key, id_, job_id, task_type_id, description, starts_at, ends_at,
        completed, created_at, updated_at, j_id, j_number, j_name, j_status, j_customer_id,
    ) = key[:16]  # fmt: skip
    count = key[26]
    ids, people = key[27 : 27 + count], key[27 + count : 27 + 5 * count]
    contact = key[27 + 5 * count :]
    shaped = {
        "id": id_, "account_id": account_id, "job_id": job_id,
        "task_type_id": task_type_id, "description": description,
        "starts_at": stamp(starts_at), "ends_at": stamp(ends_at), "all_day": False,
        "completed": completed, "created_at": stamp(created_at),
        "updated_at": stamp(updated_at), "employee_ids": list(ids),
        "job": {"id": j_id, "job_number": j_number, "name": j_name, "status": j_status,
                "customer_id": j_customer_id},
        "customer": _glue_from(key[16:26]),
        "primary_contact": None if not contact else {
            "id": contact[0], "first_name": contact[1], "last_name": contact[2],
            "name": person_name(contact[1], contact[2]), "phone": contact[3],
            "email": contact[4]},
        "employees": [{"id": people[i], "employee_number": people[i + 1],
                       "name": person_name(people[i + 2], people[i + 3])}
                      for i in range(0, 4 * count, 4)],
    }  # fmt: skip
    if not ids_key:
        del shaped["employee_ids"]
    return shaped


task = Keyed("task", _task_key, _task_from)


def note(store: AccountStore, n: Note) -> JsonObject:
    return {
        "id": n.id, "account_id": store.account_id, "noteable_type": n.noteable_type,
        "noteable_id": n.noteable_id, "body": n.body, "public": n.public,
        "employee_id": n.employee_id, "created_at": stamp(n.created_at),
        "updated_at": stamp(n.created_at),
    }  # fmt: skip


def employee(store: AccountStore, e: Employee) -> JsonObject:
    """The reference's employee entry; secrets (password_salt, …) are never served."""
    return {
        "id": e.id, "account_id": store.account_id, "employee_number": e.number, "name": e.name,
        "admin": e.admin, "active": e.active,
        "limit_access_to_assignments": e.limit_access_to_assignments,
        "email_address": e.email_address, "username": e.username, "address": e.address,
        "city": e.city, "state": e.state, "zip_code": e.zip_code,
        "avatar": f"https://sandbox.invalid/avatars/{e.id}.png",
    }  # fmt: skip


def item(store: AccountStore, i: Item) -> JsonObject:
    created = stamp(i.created_on)
    return {
        "id": i.id, "account_id": store.account_id, "created_on": created, "updated_on": created,
        "parent_list_id": None, "list_id": None, "edit_sequence": None, "name": i.name,
        "sublevel": 0, "item_type": i.item_type, "price": money(i.price), "active": True,
        "sales_tax_code_ref_full_name": None, "full_name": i.full_name,
        "description": i.description, "sales_tax_code_ref_list_id": None, "tax_rate": None,
        "discount_rate": None, "discount_rate_percent": None, "taxable": i.taxable,
        "qb_error": None, "sales_tax_code_id": None, "updated_at": created,
        "formatted_price": formatted_price(i.price),
    }  # fmt: skip


def item_truncated(i: Item) -> JsonObject:
    """/items.json?name=… entries carry only these keys."""
    return {
        "id": i.id, "name": i.name, "price": money(i.price), "description": i.description,
        "taxable": i.taxable, "formatted_price": formatted_price(i.price),
    }  # fmt: skip


def formatted_price(price: Decimal) -> str:
    return f"${price:,.2f}"


def vendor(
    store: AccountStore, v: Vendor | None, errors: JsonObject, listed: bool = False
) -> JsonObject:
    """Vendor write answers carry an `errors` key (empty on success), as the reference says; list
    entries (`listed`) carry it too, except in the strict personality (the reference's list
    example has none)."""
    shaped: JsonObject = {
        "id": v.id if v else None, "account_id": store.account_id, "name": v.name if v else None,
        "active": v.active if v else True, "created_at": stamp(v.created_at) if v else None,
        "updated_at": stamp(v.updated_at) if v else None, "list_id": None,
    }  # fmt: skip
    if not listed or store.choices.vendor_list_errors_key:
        shaped["errors"] = errors
    return shaped


def job_type(store: AccountStore, t: JobType) -> JsonObject:
    created = stamp(t.created_at)
    return {
        "id": t.id, "account_id": store.account_id, "name": t.name, "color": t.color,
        "position": t.position, "active": t.active, "created_at": created, "updated_at": created,
        "description": t.description, "cost": "", "time": 0, "text_color": "fff", "public": False,
    }  # fmt: skip


def job_charge_type(store: AccountStore, t: JobChargeType) -> JsonObject:
    created = stamp(t.created_at)
    return {
        "id": t.id, "account_id": store.account_id, "name": t.name, "active": t.active,
        "created_at": created, "updated_at": created,
    }  # fmt: skip
