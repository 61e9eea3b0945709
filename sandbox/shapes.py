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
)
from sandbox.ledger import total_balance

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


def customer_glue(customer: Customer) -> JsonObject:
    return {
        "id": customer.id,
        "customer_number": customer.number,
        "name": customer.name,
        "phone_number": customer.phone_number,
        "email_address": customer.email_address,
        "service_address": customer.service_address,
        "service_address_2": customer.service_address_2,
        "service_city": customer.service_city,
        "service_state": customer.service_state,
        "service_zip_code": customer.service_zip_code,
    }


def customer(store: AccountStore, c: Customer) -> JsonObject:
    """The customer record; in the strict personality some customers are inactive."""
    return {**_customer_columns(store, c), "is_active": is_active(store, c)}


def is_active(store: AccountStore, c: Customer) -> bool:
    return store.choices.all_customers_active or c.number % choices.INACTIVE_CUSTOMER_EVERY != 0


def _customer_columns(store: AccountStore, c: Customer) -> JsonObject:
    children = [store.customers[i] for i in c.children if i in store.customers]
    return {
        "id": c.id, "account_id": store.account_id, "customer_number": c.number,
        "created_at": stamp(c.created_at), "updated_at": stamp(c.updated_at),
        "name": c.name, "company_name": c.company_name, "first_name": c.first_name,
        "last_name": c.last_name, "full_name": c.name, "company": c.company_name is not None,
        "phone_number": c.phone_number, "phone": c.phone_number, "mobile": c.mobile,
        "alt_phone": c.mobile, "email_address": c.email_address, "email": c.email_address,
        "contact": f"{c.contact.first_name} {c.contact.last_name}" if c.contact else None,
        "service_address": c.service_address, "service_address_2": c.service_address_2,
        "service_city": c.service_city, "service_state": c.service_state,
        "service_zip_code": c.service_zip_code, "billing_address": c.billing_address,
        "billing_city": c.billing_city, "billing_state": c.billing_state,
        "billing_zip_code": c.billing_zip_code, "latitude": c.latitude, "longitude": c.longitude,
        "special_instructions": c.special_instructions, "parent_id": c.parent_id,
        "children": [{"id": k.id, "customer_number": k.number, "name": k.name} for k in children],
        "balance": money(c.balance), "total_balance": money(total_balance(store, c)),
        "customer_source_id": c.customer_source_id, "token": f"cus{c.id:x}",
        "created_by": None, "updated_by": None,
        **_last_completed(store, c), **CUSTOMER_EXTRAS,
    }  # fmt: skip


def _last_completed(store: AccountStore, c: Customer) -> JsonObject:
    done = [store.jobs[j] for j in c.job_ids if store.jobs[j].completed_on is not None]
    last = max(done, key=lambda j: (j.completed_on, j.number), default=None)
    return {
        "last_job_completed_number": last.number if last else None,
        "last_job_completed_at": stamp(last.completed_on) if last else None,
        "last_job_completed_name": last.name if last else None,
    }


def job(store: AccountStore, j: Job) -> JsonObject:
    """A job as listed by /jobs.json and /customers/{n}/jobs.json: customer_id, no glue."""
    return {
        "id": j.id, "customer_id": j.customer_id, "account_id": store.account_id,
        "job_number": j.number, "created_at": stamp(j.created_at), "name": j.name,
        "scheduled_on": stamp(j.scheduled_on), "completed_on": stamp(j.completed_on),
        "subtotal": money(j.subtotal), "tax": money(j.tax), "total": money(j.total),
        "balance_remaining": money(j.balance_remaining), "updated_at": stamp(j.updated_at),
        "job_type_id": j.job_type_id, "sales_tax_percentage": money(j.sales_tax_percentage),
        "duration": money(_duration_hours(store, j)), "ends_at": stamp(_ends_at(store, j)),
        "created_by": j.created_by, "updated_by": j.created_by,
        "invoice_terms": j.invoice_terms, "invoice_notes": j.invoice_notes,
        "description": j.description, "status": j.status, "invoice_status": j.invoice_status,
        "invoice_date": day(j.invoice_date), "tasks_count": len(j.task_ids),
        "won_date": day(j.won_date), "po_number": j.po_number, "on_hold": stamp(j.on_hold),
        "estimate_sent_on": stamp(j.estimate_sent_on),
        "estimate_viewed_on": stamp(j.estimate_viewed_on), "lost_date": day(j.lost_date),
        "started_on": stamp(j.started_on), "canceled_on": stamp(j.canceled_on),
        "invoice_paid_on": day(j.invoice_paid_on), **JOB_EXTRAS,
    }  # fmt: skip


def _ends_at(store: AccountStore, j: Job) -> datetime | None:
    return max((store.tasks[t].ends_at for t in j.task_ids), default=None)


def _duration_hours(store: AccountStore, j: Job) -> Decimal:
    seconds = sum((store.tasks[t].ends_at - store.tasks[t].starts_at).seconds for t in j.task_ids)
    return Decimal(seconds) / 3600


def job_with_customer(store: AccountStore, j: Job) -> JsonObject:
    """Opportunity entries: a job plus its customer glue."""
    return {**job(store, j), "customer": customer_glue(store.customers[j.customer_id])}


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


def invoice(store: AccountStore, j: Job) -> JsonObject:
    tasks = [task(store, store.tasks[t]) for t in j.task_ids]
    return {**job_with_customer(store, j), "tasks": tasks}


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


def payment(store: AccountStore, p: Payment) -> JsonObject:
    online = p.payment_type == "Credit Card (Online)"
    return {
        "id": p.id, "date": day(p.date), "payment_type": p.payment_type, "amount": money(p.amount),
        "notes": p.notes, "ref_number": p.ref_number, "txn_id": None,
        "created_at": stamp(p.created_at), "updated_at": stamp(p.created_at),
        "updated_by": p.updated_by, "stripe_payment_id": f"ch_sandbox{p.id}" if online else None,
        "qb_error": None, "status": "credit_card_transaction_complete" if online else None,
        "customer": _payer(store, store.customers[p.customer_id]),
    }  # fmt: skip


def _payer(store: AccountStore, c: Customer) -> JsonObject:
    """The reference says a payment embeds the full customer object: strict does just that."""
    return customer_glue(c) if store.choices.payment_customer_summary else customer(store, c)


def task(store: AccountStore, t: Task) -> JsonObject:
    """A task with its glue; `employee_ids` beside the employees' glue is a guess strict omits."""
    shaped = _task_columns(store, t)
    if not store.choices.task_employee_ids_key:
        del shaped["employee_ids"]
    return shaped


def _task_columns(store: AccountStore, t: Task) -> JsonObject:
    j = store.jobs[t.job_id]
    c = store.customers[j.customer_id]
    contact = c.contact
    return {
        "id": t.id, "account_id": store.account_id, "job_id": t.job_id,
        "task_type_id": t.task_type_id, "description": t.description,
        "starts_at": stamp(t.starts_at), "ends_at": stamp(t.ends_at), "all_day": False,
        "completed": t.completed, "created_at": stamp(t.created_at),
        "updated_at": stamp(t.updated_at), "employee_ids": list(t.employee_ids),
        "job": {"id": j.id, "job_number": j.number, "name": j.name, "status": j.status,
                "customer_id": j.customer_id},
        "customer": customer_glue(c),
        "primary_contact": None if contact is None else {
            "id": contact.id, "first_name": contact.first_name, "last_name": contact.last_name,
            "name": f"{contact.first_name} {contact.last_name}", "phone": contact.phone,
            "email": contact.email},
        "employees": [{"id": e.id, "employee_number": e.number, "name": e.name}
                      for e in (store.employees[i] for i in t.employee_ids)],
    }  # fmt: skip


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
