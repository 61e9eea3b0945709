"""The in-memory store of one Kickserv account and its record types.

Records hold only what carries meaning; the raw-column noise Kickserv also serialises (custom fields,
QuickBooks keys) is added when a record is shaped into JSON (sandbox/shapes.py). Relationships are
kept as id lists on the parent so lookups stay O(1) at 20,000 customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from sandbox.choices import LENIENT, Personality
from sandbox.fragments import Fragments

ZERO = Decimal("0")


@dataclass(slots=True)
class Employee:
    id: int
    number: int
    first_name: str
    last_name: str
    email_address: str
    username: str
    admin: bool
    active: bool
    limit_access_to_assignments: bool
    is_account_owner: bool
    token: str
    address: str
    city: str
    state: str
    zip_code: str
    created_at: datetime

    @property
    def name(self) -> str:
        return person_name(self.first_name, self.last_name)


def person_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}"


@dataclass(slots=True)
class JobType:
    id: int
    name: str
    color: str
    position: int
    active: bool
    description: str
    created_at: datetime


@dataclass(slots=True)
class JobChargeType:
    id: int
    name: str
    active: bool
    created_at: datetime


@dataclass(slots=True)
class Item:
    id: int
    name: str
    full_name: str
    description: str
    price: Decimal
    taxable: bool
    item_type: str
    created_on: datetime


@dataclass(slots=True)
class Vendor:
    id: int
    name: str
    active: bool
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class Contact:
    id: int
    first_name: str
    last_name: str
    phone: str
    email: str


@dataclass(slots=True)
class Customer:
    id: int
    number: int
    name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    phone_number: str
    mobile: str | None
    email_address: str | None
    service_address: str
    service_address_2: str | None
    service_city: str
    service_state: str
    service_zip_code: str
    billing_address: str
    billing_city: str
    billing_state: str
    billing_zip_code: str
    latitude: float
    longitude: float
    customer_source_id: int | None
    created_at: datetime
    updated_at: datetime
    parent_id: int | None = None
    special_instructions: str | None = None
    contact: Contact | None = None
    balance: Decimal = ZERO
    children: list[int] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    note_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Job:
    id: int
    number: int
    customer_id: int
    job_type_id: int
    name: str
    description: str
    status: str
    created_at: datetime
    updated_at: datetime
    created_by: int
    sales_tax_percentage: Decimal = ZERO
    scheduled_on: datetime | None = None
    started_on: datetime | None = None
    completed_on: datetime | None = None
    canceled_on: datetime | None = None
    on_hold: datetime | None = None
    won_date: date | None = None
    lost_date: date | None = None
    estimate_sent_on: datetime | None = None
    estimate_viewed_on: datetime | None = None
    invoice_date: date | None = None
    invoice_status: str | None = None
    invoice_terms: str | None = None
    invoice_notes: str | None = None
    invoice_paid_on: date | None = None
    po_number: str | None = None
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    total: Decimal = ZERO
    balance_remaining: Decimal = ZERO
    payment_request_cents: int | None = None
    charge_ids: list[int] = field(default_factory=list)
    payment_ids: list[int] = field(default_factory=list)
    task_ids: list[int] = field(default_factory=list)
    note_ids: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class JobCharge:
    id: int
    job_id: int
    item_id: int | None
    job_charge_type_id: int | None
    description: str
    details: str
    quantity: Decimal
    price_per_unit: Decimal
    discount: Decimal
    taxable: bool
    created_on: datetime
    updated_at: datetime
    updated_by: int
    total: Decimal = ZERO


@dataclass(slots=True)
class Payment:
    id: int
    # the sandbox knows; Kickserv's payment JSON does not say (see shapes.payment). None: a payment
    # POSTed to /payments.json for a customer, applied to no job.
    job_id: int | None
    customer_id: int
    date: date
    payment_type: str
    amount: Decimal
    notes: str | None
    ref_number: str | None
    created_at: datetime
    updated_by: int


@dataclass(slots=True)
class Task:
    id: int
    job_id: int
    task_type_id: int
    description: str
    starts_at: datetime
    ends_at: datetime
    employee_ids: list[int]
    created_at: datetime
    updated_at: datetime
    completed: bool = False


@dataclass(slots=True)
class Note:
    id: int
    noteable_type: str  # "Customer" | "Job"
    noteable_id: int
    body: str
    public: bool
    employee_id: int
    created_at: datetime


@dataclass(slots=True)
class TaskType:
    id: int
    name: str


@dataclass
class AccountStore:
    """Everything one account holds. Dict insertion order is the natural order of each table."""

    slug: str
    account_id: int
    name: str
    tz: timezone
    next_global_id: int
    next_customer_number: int = 1
    next_job_number: int = 1
    employees: dict[int, Employee] = field(default_factory=dict)
    job_types: dict[int, JobType] = field(default_factory=dict)
    job_charge_types: dict[int, JobChargeType] = field(default_factory=dict)
    task_types: dict[int, TaskType] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    vendors: dict[int, Vendor] = field(default_factory=dict)
    customers: dict[int, Customer] = field(default_factory=dict)
    customers_by_number: dict[int, Customer] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)
    jobs_by_number: dict[int, Job] = field(default_factory=dict)
    charges: dict[int, JobCharge] = field(default_factory=dict)
    payments: dict[int, Payment] = field(default_factory=dict)
    tasks: dict[int, Task] = field(default_factory=dict)
    notes: dict[int, Note] = field(default_factory=dict)
    # The sandbox's personality (lenient or strict, sandbox/choices.py), read when shaping JSON.
    choices: Personality = LENIENT
    _tasks_by_start: list[Task] | None = None
    # Writes answered through the API (sandbox.context.Api counts them); the listings' indexes
    # (sandbox/indexes.py) are rebuilt after one.
    writes: int = 0
    indexes: dict[str, object] = field(default_factory=dict)
    # Listing entries as JSON bytes, each kept with the values it shows (sandbox/fragments.py).
    fragments: Fragments = field(default_factory=Fragments)

    def new_id(self) -> int:
        self.next_global_id += 1
        return self.next_global_id

    def employee_by_number(self, number: int) -> Employee | None:
        return next((e for e in self.employees.values() if e.number == number), None)

    def add_customer(self, customer: Customer) -> None:
        self.customers[customer.id] = customer
        self.customers_by_number[customer.number] = customer
        if customer.parent_id is not None and customer.parent_id in self.customers:
            self.customers[customer.parent_id].children.append(customer.id)

    def add_job(self, job: Job) -> None:
        self.jobs[job.id] = job
        self.jobs_by_number[job.number] = job
        self.customers[job.customer_id].job_ids.append(job.id)

    def add_task(self, task: Task) -> None:
        self.tasks[task.id] = task
        self.jobs[task.job_id].task_ids.append(task.id)
        self._tasks_by_start = None

    def tasks_changed(self) -> None:
        self._tasks_by_start = None

    def tasks_by_start(self) -> list[Task]:
        """All tasks by starts_at (then id); cached until a task changes."""
        if self._tasks_by_start is None:
            self._tasks_by_start = sorted(self.tasks.values(), key=lambda t: (t.starts_at, t.id))
        return self._tasks_by_start

    def remove_task(self, task: Task) -> None:
        del self.tasks[task.id]
        self.jobs[task.job_id].task_ids.remove(task.id)
        self._tasks_by_start = None

    def remove_customer(self, customer: Customer) -> None:
        """Deleting a customer takes its jobs (and their parts) and its notes with it; its child
        customers stay, detached (a sandbox decision: the reference says nothing)."""
        for job_id in list(customer.job_ids):
            job = self.jobs.pop(job_id)
            del self.jobs_by_number[job.number]
            for task_id in job.task_ids:
                self.tasks.pop(task_id, None)
            for charge_id in job.charge_ids:
                self.charges.pop(charge_id, None)
            for payment_id in job.payment_ids:
                self.payments.pop(payment_id, None)
            for note_id in job.note_ids:
                self.notes.pop(note_id, None)
        for note_id in customer.note_ids:
            self.notes.pop(note_id, None)
        for payment in [p for p in self.payments.values() if p.customer_id == customer.id]:
            del self.payments[payment.id]  # its payments applied to no job
        for child_id in customer.children:
            self.customers[child_id].parent_id = None
        if customer.parent_id is not None and customer.parent_id in self.customers:
            self.customers[customer.parent_id].children.remove(customer.id)
        del self.customers[customer.id]
        del self.customers_by_number[customer.number]
        self._tasks_by_start = None
