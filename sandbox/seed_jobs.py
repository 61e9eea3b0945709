"""Seeded jobs and their parts: statuses with consistent dates, tasks, charges, invoices, payments.

Jobs are planned first (customer, status, creation time), then built in creation order so job ids
and job numbers both grow with time, as they do in Kickserv.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import accumulate

from sandbox import names
from sandbox.data import AccountStore, Customer, Job, JobCharge, Note, Payment, Task
from sandbox.dice import Dice
from sandbox.ledger import cents, recompute_customer, recompute_job

# status -> weight; opportunities are jobs too
STATUS_WEIGHTS = {
    "complete": 34,
    "canceled": 4,
    "on_hold": 4,
    "in_progress": 5,
    "scheduled": 15,
    "unscheduled": 8,
    "new": 8,
    "sent": 6,
    "viewed": 5,
    "won": 6,
    "lost": 5,
}
# Which catalogue items (by index in names.ITEMS) suit each job type (by index in names.JOB_TYPES).
ITEMS_BY_JOB_TYPE = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 38),
    (0, 1, 2, 3, 14, 15, 16, 17, 18, 19, 20, 21),
    (0, 1, 3, 11, 12, 22, 23, 24, 25, 26, 27),
    (28, 29, 30, 31, 32, 33, 38),
    (34, 35, 36, 37, 38),
    (1, 2),
)
FIELD_TECHS = (3, 4, 5, 6, 7)
TAX_BY_CITY = {place[0]: place[5] for place in names.PLACES}
# How many days before today a job in this status was created: (least, most).
BACK_DAYS = {
    "canceled": (5, 300),
    "lost": (10, 250),
    "won": (10, 250),
    "on_hold": (3, 60),
    "in_progress": (1, 20),
    "sent": (3, 40),
    "viewed": (3, 40),
}


class JobSeeder:
    def __init__(self, store: AccountStore, rng: Dice, today: date) -> None:
        self.store, self.rng, self.today = store, rng, today
        self.now = datetime.combine(today, time(7), store.tz)
        self.statuses = list(STATUS_WEIGHTS)
        self.cum_weights = list(accumulate(STATUS_WEIGHTS.values()))
        self.job_types = list(store.job_types.values())
        self.items = list(store.items.values())
        self.charge_types = {t.name: t.id for t in store.job_charge_types.values()}
        self.task_types = {t.name: t.id for t in store.task_types.values()}
        by_number = {e.number: e for e in store.employees.values()}
        self.techs = [by_number[n].id for n in FIELD_TECHS]
        self.retired_tech = by_number[8].id
        self.office = [by_number[1].id, by_number[2].id]

    def jobs(self) -> None:
        rng = self.rng
        plans: list[tuple[datetime, int, str]] = []
        for customer in self.store.customers.values():
            count = rng.int(1, 2) if customer.children else rng.int(2, 4)
            for status in rng.rng.choices(self.statuses, cum_weights=self.cum_weights, k=count):
                plans.append((self.created_at(status, customer), customer.id, status))
        plans.sort()
        for created, customer_id, status in plans:
            self.job(self.store.customers[customer_id], status, created)
        for customer in self.store.customers.values():
            recompute_customer(self.store, customer)

    def created_at(self, status: str, customer: Customer) -> datetime:
        """When a job in this status was plausibly created (never before its customer)."""
        rng = self.rng
        if status == "complete":
            back = 10 + int(rng.random() ** 1.6 * 420)
        elif status in BACK_DAYS:
            back = rng.int(*BACK_DAYS[status])
        else:
            back = rng.int(0, 30)
        at = self.now - timedelta(days=back, minutes=rng.int(0, 600))
        return max(at, customer.created_at + timedelta(minutes=rng.int(5, 600)))

    def job(self, customer: Customer, status: str, created: datetime) -> None:
        store, rng = self.store, self.rng
        type_index = rng.int(0, 4) if created.date() > self.today - timedelta(400) else 5
        job_type = self.job_types[type_index]
        job = Job(
            id=store.new_id(),
            number=store.next_job_number,
            customer_id=customer.id,
            job_type_id=job_type.id,
            name=job_type.name,
            description=f"{job_type.description} at {customer.service_address}",
            status=status,
            created_at=created,
            updated_at=created,
            created_by=rng.pick(self.office),
            sales_tax_percentage=Decimal(self.tax_rate(customer)),
            po_number=f"PO-{rng.int(10000, 99999)}" if customer.company_name else None,
        )
        store.next_job_number += 1
        store.add_job(job)
        self.schedule(job)
        if status not in ("unscheduled", "canceled") or rng.random() < 0.4:
            for _ in range(rng.int(1, 4)):
                self.charge(job, type_index)
        recompute_job(store, job, customer=False)
        if status == "complete" and job.charge_ids and rng.random() < 0.85:
            self.invoice(job)
        if rng.random() < 0.25:
            note = Note(
                store.new_id(), "Job", job.id, rng.pick(names.JOB_NOTES), rng.random() < 0.3,
                rng.pick(self.techs), job.updated_at,
            )  # fmt: skip
            store.notes[note.id] = note
            job.note_ids.append(note.id)
        if rng.random() < 0.1:
            job.tags.append(rng.pick(names.JOB_TAGS))

    def tax_rate(self, customer: Customer) -> str:
        return TAX_BY_CITY[customer.service_city]

    def schedule(self, job: Job) -> None:
        """Tasks and lifecycle timestamps that agree with the job's status and the sandbox today."""
        rng, status, created = self.rng, job.status, job.created_at
        days_old = (self.now - created).days
        estimate = self.task_types["Estimate Visit"]
        if status == "complete":
            done = created + timedelta(days=rng.int(1, min(20, max(days_old - 1, 1))))
            if rng.random() < 0.3:
                self.task(job, done - timedelta(days=rng.int(1, 7)), estimate)
            job.completed_on = self.task(job, done).ends_at
            job.started_on = done
        elif status == "in_progress":
            job.started_on = self.task(job, self.now + timedelta(hours=rng.int(1, 7))).starts_at
        elif status == "scheduled":
            for _ in range(rng.int(1, 2)):
                self.task(job, self.now + timedelta(days=rng.int(0, 42), hours=rng.int(1, 8)))
        elif status == "on_hold":
            job.on_hold = created + timedelta(days=rng.int(1, 3))
            if rng.random() < 0.5:
                self.task(job, created + timedelta(hours=rng.int(20, 40)))
        elif status == "canceled":
            job.canceled_on = created + timedelta(days=rng.int(1, 5))
        elif status == "new" and rng.random() < 0.4:
            self.task(job, self.now + timedelta(days=rng.int(0, 14), hours=2), estimate)
        elif status in ("sent", "viewed", "won", "lost"):
            visit = self.task(job, created + timedelta(days=1, hours=rng.int(1, 8)), estimate)
            sent = visit.ends_at + timedelta(hours=rng.int(2, 30))
            viewed = sent + timedelta(hours=rng.int(1, 48))
            job.estimate_sent_on = sent
            if status != "sent":
                job.estimate_viewed_on = viewed
            if status == "won":
                job.won_date = (viewed + timedelta(days=rng.int(0, 5))).date()
            elif status == "lost":
                job.lost_date = (viewed + timedelta(days=rng.int(1, 20))).date()
        if job.task_ids:
            job.scheduled_on = min(self.store.tasks[t].starts_at for t in job.task_ids)
        job.updated_at = max(job.created_at, min(self.now, job.completed_on or job.created_at))

    def task(self, job: Job, around: datetime, task_type: int | None = None) -> Task:
        store, rng = self.store, self.rng
        starts = datetime.combine(around.date(), time(rng.int(8, 15), rng.pick((0, 30))), store.tz)
        ends = starts + timedelta(minutes=rng.pick((60, 90, 120, 180)))
        staff = [rng.pick(self.techs)]
        if rng.random() < 0.3:
            staff.append(rng.pick([t for t in self.techs if t != staff[0]]))
        if starts < self.now - timedelta(days=180) and rng.random() < 0.3:
            staff[0] = self.retired_tech
        kind = task_type or self.task_types["Appointment"]
        kind_name = store.task_types[kind].name
        task = Task(
            id=store.new_id(),
            job_id=job.id,
            task_type_id=kind,
            description=rng.pick(names.TASK_DESCRIPTIONS[kind_name]),
            starts_at=starts,
            ends_at=ends,
            employee_ids=staff,
            created_at=job.created_at,
            updated_at=job.created_at,
            completed=ends < self.now,
        )
        store.add_task(task)
        return task

    def charge(self, job: Job, type_index: int) -> None:
        store, rng = self.store, self.rng
        item = self.items[rng.pick(ITEMS_BY_JOB_TYPE[type_index])]
        if "(ft)" in item.name:
            quantity = Decimal(5 * rng.int(2, 15))
        elif "Hour" in item.name or "(lb)" in item.name or "(cu yd)" in item.name:
            quantity = Decimal(rng.pick(("1", "1.5", "2", "2.5", "3", "4")))
        else:
            quantity = Decimal(rng.pick((1, 1, 1, 1, 2, 3)))
        discount = Decimal(0)
        if rng.random() < 0.1:
            discount = cents(quantity * item.price * Decimal(rng.pick(("0.05", "0.1", "0.15"))))
        kind = {"Service": "Flat Rate", "Inventory": "Physical Product"}.get(
            item.item_type, "Materials"
        )
        if "Hour" in item.name:
            kind = "Hourly"
        charge = JobCharge(
            id=store.new_id(),
            job_id=job.id,
            item_id=item.id,
            job_charge_type_id=self.charge_types[kind],
            description=item.full_name,
            details=item.description,
            quantity=quantity,
            price_per_unit=item.price,
            discount=discount,
            taxable=item.taxable,
            created_on=job.created_at,
            updated_at=job.created_at,
            updated_by=job.created_by,
        )
        store.charges[charge.id] = charge
        job.charge_ids.append(charge.id)

    def invoice(self, job: Job) -> None:
        """Invoice a completed job, then pay it fully, partly or not at all (older ones mostly paid)."""
        rng = self.rng
        assert job.completed_on is not None
        job.invoice_date = min(self.today, job.completed_on.date() + timedelta(days=rng.int(0, 2)))
        job.invoice_terms = rng.pick(names.INVOICE_TERMS)
        age = (self.today - job.invoice_date).days
        roll = rng.random()
        paid_share = 0.9 if age > 60 else 0.5
        if roll < paid_share:
            if rng.random() < 0.25:
                deposit = cents(job.total * Decimal(rng.pick(("0.3", "0.4", "0.5"))))
                self.payment(job, deposit)
                self.payment(job, job.total - deposit)
            else:
                self.payment(job, job.total)
        elif roll < paid_share + 0.2:
            self.payment(job, cents(job.total * Decimal(rng.pick(("0.2", "0.35", "0.5", "0.7")))))
        job.invoice_status = "unpaid"
        recompute_job(self.store, job, customer=False)
        if job.invoice_status == "paid":
            last = max(self.store.payments[p].date for p in job.payment_ids)
            job.invoice_paid_on = last
        elif rng.random() < 0.4:
            job.payment_request_cents = int(job.balance_remaining * 100)

    def payment(self, job: Job, amount: Decimal) -> None:
        store, rng = self.store, self.rng
        assert job.invoice_date is not None
        when = min(self.today, job.invoice_date + timedelta(days=rng.int(0, 25)))
        kind = rng.pick(names.PAYMENT_TYPES)
        payment = Payment(
            id=store.new_id(),
            job_id=job.id,
            customer_id=job.customer_id,
            date=when,
            payment_type=kind,
            amount=amount,
            notes=f"Payment for Job #{job.number}" if kind != "Cash" else None,
            ref_number=str(rng.int(1000, 9999)) if kind == "Check" else None,
            # Recorded before the sandbox starts, whatever its time of day: a payment listing by
            # created_at is in the order payments were recorded (the watcher relies on it).
            created_at=min(
                datetime.combine(when, time(rng.int(9, 17)), store.tz),
                datetime.combine(self.today, time(0), store.tz),
            ),
            updated_by=rng.pick(self.office),
        )
        store.payments[payment.id] = payment
        job.payment_ids.append(payment.id)
