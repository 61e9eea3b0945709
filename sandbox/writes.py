"""Writes on customers and jobs that keep derived state consistent (see sandbox/ledger.py).

Each function validates first (422 with field errors, nothing applied) and only then mutates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import choices, ledger
from sandbox.context import Api
from sandbox.data import Customer, Job, JobCharge, Payment
from sandbox.forms import Form

CUSTOMER_TEXT_FIELDS = (
    "first_name", "last_name", "company_name", "phone_number", "mobile", "email_address",
    "service_address", "service_address_2", "service_city", "service_state", "service_zip_code",
    "billing_address", "billing_city", "billing_state", "billing_zip_code", "special_instructions",
)  # fmt: skip
ZERO = Decimal(0)


def save_customer(api: Api, data: Any, existing: Customer | None) -> Customer:
    """Create (existing=None) or update a customer; customer_number is always the server's."""
    form = Form(data)
    texts = {key: form.text(key) for key in CUSTOMER_TEXT_FIELDS if form.has(key)}
    name = form.text("name")
    if name is None and existing is None:
        person = " ".join(p for p in (texts.get("first_name"), texts.get("last_name")) if p)
        name = person or texts.get("company_name")
    if name is None and (existing is None or form.has("name")):
        form.fail("name", "can't be blank")
    source = form.integer("customer_source_id") if form.has("customer_source_id") else None
    parent_id = form.integer("parent_id") if form.has("parent_id") else None
    if parent_id is not None and (
        parent_id not in api.store.customers or (existing and parent_id == existing.id)
    ):
        form.fail("parent_id", "is invalid")
    form.check()
    now = api.now()
    if existing is None:
        store = api.store
        existing = Customer(
            id=store.new_id(), number=store.next_customer_number, name=name or "",
            first_name=None, last_name=None, company_name=None, phone_number="", mobile=None,
            email_address=None, service_address="", service_address_2=None, service_city="",
            service_state="", service_zip_code="", billing_address="", billing_city="",
            billing_state="", billing_zip_code="", latitude=0.0, longitude=0.0,
            customer_source_id=None, created_at=now, updated_at=now, parent_id=parent_id,
        )  # fmt: skip
        store.next_customer_number += 1
        _apply_texts(existing, texts)
        for part in ("address", "city", "state", "zip_code"):
            if f"billing_{part}" not in texts:
                setattr(existing, f"billing_{part}", getattr(existing, f"service_{part}"))
        store.add_customer(existing)
    else:
        if name is not None:
            existing.name = name
        _apply_texts(existing, texts)
        if form.has("parent_id"):
            _reparent(api, existing, parent_id)
    if form.has("customer_source_id"):
        existing.customer_source_id = source
    existing.updated_at = now
    return existing


def _apply_texts(customer: Customer, texts: dict[str, str | None]) -> None:
    for key, value in texts.items():
        required = key in ("phone_number", "service_address", "service_city", "service_state")
        setattr(customer, key, value if value is not None or not required else "")


def _reparent(api: Api, customer: Customer, parent_id: int | None) -> None:
    customers = api.store.customers
    if customer.parent_id is not None and customer.parent_id in customers:
        customers[customer.parent_id].children.remove(customer.id)
    customer.parent_id = parent_id
    if parent_id is not None:
        customers[parent_id].children.append(customer.id)


def create_job(api: Api, customer: Customer | None, data: Any, status: str = "unscheduled") -> Job:
    """POST /jobs.json and friends: job_type_id and a customer are required; charges are ignored."""
    form = Form(data)
    job_type_id = form.integer("job_type_id", required=True)
    if job_type_id is not None and job_type_id not in api.store.job_types:
        form.fail("job_type_id", "is invalid")
    if customer is None:
        form.fail("customer_number", "can't be blank")
    name, description = form.text("name"), form.text("description")
    po_number = form.text("po_number")
    form.check()
    assert customer is not None and job_type_id is not None
    store, now = api.store, api.now()
    rate = next(
        (store.jobs[j].sales_tax_percentage for j in reversed(customer.job_ids)),
        ZERO,
    )
    job = Job(
        id=store.new_id(), number=store.next_job_number, customer_id=customer.id,
        job_type_id=job_type_id, name=name or store.job_types[job_type_id].name,
        description=description or "", status=status, created_at=now, updated_at=now,
        created_by=api.employee.id, sales_tax_percentage=rate, po_number=po_number,
    )  # fmt: skip
    store.next_job_number += 1
    store.add_job(job)
    return job


def update_job(api: Api, job: Job, data: Any) -> None:
    """PUT/PATCH /jobs/{n}.json: several changes at once; `invoice_date` turns a job into an
    invoice, `status` moves it (opportunity statuses included); `job_charges` adds or edits charges."""
    form = Form(data)
    statuses = choices.JOB_STATUSES + choices.OPPORTUNITY_STATUSES
    status = form.choice("status", statuses)
    job_type_id = form.integer("job_type_id")
    if job_type_id is not None and job_type_id not in api.store.job_types:
        form.fail("job_type_id", "is invalid")
    invoice_date = form.day("invoice_date")
    invoice_status = form.choice("invoice_status", choices.INVOICE_STATUSES)
    if invoice_status and invoice_date is None and job.invoice_date is None:
        form.fail("invoice_date", "can't be blank")
    tax_rate = form.decimal("sales_tax_percentage", minimum=ZERO)
    stamps = {
        k: form.moment(k, api.store.tz) for k in ("started_on", "completed_on") if form.has(k)
    }
    texts = {k: form.text(k) for k in ("name", "description", "invoice_terms", "invoice_notes",
                                       "po_number") if form.has(k)}  # fmt: skip
    charge_forms = form.data.get("job_charges") or []
    if not isinstance(charge_forms, list):
        form.fail("job_charges", "is invalid")
        charge_forms = []
    staged = [_charge_form(api, job, entry) for entry in charge_forms]
    for entry_form, _ in staged:
        for key, messages in entry_form.errors.items():
            form.errors.setdefault(f"job_charges.{key}", []).extend(messages)
    form.check()
    now = api.now()
    for key, value in texts.items():
        setattr(job, key, value if value is not None or key not in ("name", "description") else "")
    if job_type_id is not None:
        job.job_type_id = job_type_id
    if tax_rate is not None:
        job.sales_tax_percentage = tax_rate
    if status is not None and status != job.status:
        move_status(job, status, api)
    if api.store.choices.job_stamps_writable:
        for key, stamp in stamps.items():
            setattr(job, key, stamp)
    for entry_form, charge in staged:
        apply_charge(api, job, entry_form, charge)
    if form.has("invoice_date"):
        job.invoice_date = invoice_date
    job.updated_at = now
    ledger.recompute_job(api.store, job, api.today())
    if invoice_status is not None and job.invoice_date is not None:
        job.invoice_status = invoice_status  # an explicit mark wins until the next money change
        ledger.recompute_customer(api.store, api.store.customers[job.customer_id])


def move_status(job: Job, status: str, api: Api) -> None:
    now, today = api.now(), api.today()
    job.status = status
    stamps = {
        "in_progress": "started_on", "complete": "completed_on", "canceled": "canceled_on",
        "on_hold": "on_hold", "sent": "estimate_sent_on", "viewed": "estimate_viewed_on",
    }  # fmt: skip
    if status in stamps:
        setattr(job, stamps[status], now)
    if status == "won":
        job.won_date = today
    elif status == "lost":
        job.lost_date = today


def _charge_form(api: Api, job: Job, entry: Any) -> tuple[Form, JobCharge | None]:
    form = Form(entry)
    charge_id = form.integer("id")
    charge = None
    if charge_id is not None:
        charge = api.store.charges.get(charge_id)
        if charge is None or charge.job_id != job.id:
            form.fail("id", "is invalid")
    validate_charge(api, form, creating=charge is None)
    return form, charge


def validate_charge(api: Api, form: Form, creating: bool) -> None:
    item_id = form.integer("item_id")
    if item_id is not None and item_id not in api.store.items:
        form.fail("item_id", "is invalid")
    type_id = form.integer("job_charge_type_id")
    if type_id is not None and type_id not in api.store.job_charge_types:
        form.fail("job_charge_type_id", "is invalid")
    form.decimal("quantity", minimum=ZERO)
    form.decimal("price_per_unit")
    form.decimal("discount", minimum=ZERO)
    form.boolean("taxable")
    if creating and item_id is None and form.text("description") is None:
        form.fail("description", "can't be blank")


def apply_charge(api: Api, job: Job, form: Form, charge: JobCharge | None) -> JobCharge:
    """Create or update one charge from a validated form (an item supplies the defaults)."""
    store, now = api.store, api.now()
    item_id = form.integer("item_id")
    item = store.items.get(item_id) if item_id is not None else None
    if charge is None:
        charge = JobCharge(
            id=store.new_id(), job_id=job.id, item_id=item_id, job_charge_type_id=None,
            description=item.full_name if item else "", details=item.description if item else "",
            quantity=Decimal(1), price_per_unit=item.price if item else ZERO, discount=ZERO,
            taxable=item.taxable if item else False, created_on=now, updated_at=now,
            updated_by=api.employee.id,
        )  # fmt: skip
        store.charges[charge.id] = charge
        job.charge_ids.append(charge.id)
    elif item is not None:
        charge.item_id = item.id
    for key in ("quantity", "price_per_unit", "discount"):
        value = form.decimal(key)
        if value is not None:
            setattr(charge, key, value)
    for key in ("description", "details"):
        if form.has(key):
            setattr(charge, key, form.text(key) or "")
    if form.has("job_charge_type_id"):
        charge.job_charge_type_id = form.integer("job_charge_type_id")
    taxable = form.boolean("taxable")
    if taxable is not None:
        charge.taxable = taxable
    charge.updated_at, charge.updated_by = now, api.employee.id
    return charge


def record_payment(api: Api, job: Job, data: Any) -> Payment:
    payment = new_payment(api, Form(data), job.id, job.customer_id)
    job.payment_ids.append(payment.id)
    job.updated_at = api.now()
    ledger.recompute_job(api.store, job, api.today())
    return payment


def record_customer_payment(api: Api, data: Any) -> Payment:
    """POST /payments.json: a payment of a customer, applied to no job. The reference confirms the
    verb, not the payload: `customer_id` names the customer by its number, as the GET filter of
    the same name does (choices: the strict personality reads it as the global id)."""
    form = Form(data)
    key = form.integer("customer_id", required=True)
    if api.store.choices.payment_post_customer_number:
        customer = api.store.customers_by_number.get(key) if key is not None else None
    else:
        customer = api.store.customers.get(key) if key is not None else None
    if key is not None and customer is None:
        form.fail("customer", "must exist")
    return new_payment(api, form, None, customer.id if customer else 0)


def new_payment(api: Api, form: Form, job_id: int | None, customer_id: int) -> Payment:
    """A payment from the form's amount, date, payment_type, notes and ref_number (422 first)."""
    amount = form.decimal("amount")
    if amount is None and "amount" not in form.errors:
        form.fail("amount", "can't be blank")
    elif amount is not None and amount <= 0:
        form.fail("amount", "must be greater than 0")
    when = form.day("date")
    kind = form.text("payment_type")
    notes, ref_number = form.text("notes"), form.text("ref_number")
    form.check()
    assert amount is not None
    store = api.store
    payment = Payment(
        id=store.new_id(), job_id=job_id, customer_id=customer_id, date=when or api.today(),
        payment_type=kind or "Check", amount=ledger.cents(amount), notes=notes,
        ref_number=ref_number, created_at=api.now(), updated_by=api.employee.id,
    )  # fmt: skip
    store.payments[payment.id] = payment
    return payment
