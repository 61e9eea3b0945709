"""Deterministic seeded accounts: staff, catalogue and customers (jobs come from seed_jobs.py).

The same (seed, account, size, today) always yields the same records. Dates are relative to the
sandbox clock's today, so "this week's tasks" exist whatever day the sandbox starts on.
"""

from __future__ import annotations

import gc
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sandbox import choices, names
from sandbox.data import (
    AccountStore,
    Contact,
    Customer,
    Employee,
    Item,
    JobChargeType,
    JobType,
    Note,
    TaskType,
    Vendor,
)
from sandbox.dice import Dice
from sandbox.seed_jobs import JobSeeder

DEFAULT_SIZES = {"demo": 200, "acme": 30}


def build_accounts(seed: int, sizes: dict[str, int], today: date) -> dict[str, AccountStore]:
    # The cyclic GC would rescan the growing store again and again; nothing here makes cycles.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return {slug: build_account(slug, count, seed, today) for slug, count in sizes.items()}
    finally:
        if was_enabled:
            gc.enable()


def build_account(slug: str, customers: int, seed: int, today: date) -> AccountStore:
    tz = timezone(timedelta(hours=choices.ACCOUNT_UTC_OFFSETS.get(slug, 0)))
    store = AccountStore(
        slug=slug,
        account_id=choices.ACCOUNT_NUMERIC_IDS.get(slug, 444444),
        name=choices.ACCOUNT_NAMES.get(slug, slug.title()),
        tz=tz,
        next_global_id=choices.ACCOUNT_ID_BASES.get(slug, 90_000_000),
        next_job_number=choices.FIRST_JOB_NUMBER,
    )
    rng = Dice(f"{seed}:{slug}")
    seeder = AccountSeeder(store, rng, today)
    seeder.staff()
    seeder.catalogue()
    seeder.customers(customers)
    JobSeeder(store, rng, today).jobs()
    return store


class AccountSeeder:
    def __init__(self, store: AccountStore, rng: Dice, today: date) -> None:
        self.store = store
        self.rng = rng
        self.today = today
        self.opened = datetime.combine(today - timedelta(days=3 * 365), time(9), store.tz)

    def staff(self) -> None:
        store, rng = self.store, self.rng
        firsts = rng.rng.sample(names.FIRST_NAMES, 8)
        lasts = rng.rng.sample(names.LAST_NAMES, 8)
        place = rng.pick(names.PLACES)
        for number in range(1, 9):
            first, last = firsts[number - 1], lasts[number - 1]
            eid = store.new_id()
            store.employees[eid] = Employee(
                id=eid,
                number=number,
                first_name=first,
                last_name=last,
                email_address=f"{first}.{last}@{store.slug}.example.com".lower(),
                username=f"{first[0]}{last}".lower(),
                admin=number <= 2,
                active=number != 8,
                limit_access_to_assignments=number == 6,
                is_account_owner=number == 1,
                token=choices.employee_token(store.slug, number),
                address=f"{rng.int(100, 9999)} {rng.pick(names.STREET_NAMES)} St",
                city=place[0],
                state=place[1],
                zip_code=f"{place[2]}{rng.int(10, 99)}",
                created_at=self.opened + timedelta(days=number * 20),
            )

    def catalogue(self) -> None:
        store, at = self.store, self.opened
        for position, (name, description, active) in enumerate(names.JOB_TYPES, start=1):
            jid = store.new_id()
            store.job_types[jid] = JobType(
                jid, name, f"{self.rng.int(0, 0xFFF):03x}", position, active, description, at
            )
        for name in names.JOB_CHARGE_TYPES:
            cid = store.new_id()
            store.job_charge_types[cid] = JobChargeType(cid, name, True, at)
        for name in names.TASK_TYPES:
            tid = store.new_id()
            store.task_types[tid] = TaskType(tid, name)
        for name, description, price, taxable, kind in names.ITEMS:
            iid = store.new_id()
            store.items[iid] = Item(iid, name, name, description, Decimal(price), taxable, kind, at)
        for offset, name in enumerate(names.VENDORS):
            created = at + timedelta(days=offset * 13)
            vid = store.new_id()
            store.vendors[vid] = Vendor(vid, name, True, created, created)

    def customers(self, count: int) -> None:
        rng, made = self.rng, 0
        span = (self.today - self.opened.date()).days * 86400
        while made < count:
            at = self.opened + timedelta(seconds=span * made // max(count, 1))
            if rng.random() < 0.07 and count - made >= 2:
                parent = self.customer(at, commercial=True)
                for _ in range(min(rng.int(1, 3), count - made - 1)):
                    self.customer(at + timedelta(hours=rng.int(1, 48)), parent=parent)
                    made += 1
            else:
                self.customer(at, commercial=rng.random() < 0.15)
            made += 1

    def customer(
        self, at: datetime, commercial: bool = False, parent: Customer | None = None
    ) -> Customer:
        store, rng = self.store, self.rng
        place = rng.pick(names.PLACES) if parent is None else self.place_of(parent)
        first, last = rng.pick(names.FIRST_NAMES), rng.pick(names.LAST_NAMES)
        street = self.street()
        if parent is not None:
            name = f"{parent.name} - {street.split(' ', 1)[1]}"
            company: str | None = parent.company_name
        elif commercial:
            company = " ".join(
                w
                for w in (
                    rng.pick(names.BUSINESS_WORDS),
                    rng.pick(names.BUSINESS_KINDS),
                    rng.pick(names.BUSINESS_SUFFIXES),
                )
                if w
            )
            name = company
        else:
            company, name = None, f"{first} {last}"
        phone = self.phone()
        email = f"{first}.{last}{rng.int(1, 99)}@{rng.pick(names.EMAIL_DOMAINS)}".lower()
        contact = None
        if rng.random() < (0.9 if company else 0.6):
            contact = Contact(store.new_id(), first, last, phone, email)
        customer = Customer(
            id=store.new_id(),
            number=store.next_customer_number,
            name=name,
            first_name=None if company else first,
            last_name=None if company else last,
            company_name=company,
            phone_number=phone,
            mobile=self.phone() if rng.random() < 0.5 else None,
            email_address=email if rng.random() < 0.85 else None,
            service_address=street,
            service_address_2=f"Suite {rng.int(100, 450)}"
            if company and rng.random() < 0.4
            else None,
            service_city=place[0],
            service_state=place[1],
            service_zip_code=f"{place[2]}{rng.int(10, 99)}",
            billing_address=parent.billing_address if parent else street,
            billing_city=parent.billing_city if parent else place[0],
            billing_state=parent.billing_state if parent else place[1],
            billing_zip_code=parent.billing_zip_code if parent else f"{place[2]}{rng.int(10, 99)}",
            latitude=round(place[3] + rng.uniform(-0.15, 0.15), 6),
            longitude=round(place[4] + rng.uniform(-0.15, 0.15), 6),
            customer_source_id=rng.pick((None, 1, 2, 3, 4, 5)),
            created_at=at,
            updated_at=at,
            parent_id=parent.id if parent else None,
            special_instructions=rng.pick(names.CUSTOMER_NOTES) if rng.random() < 0.1 else None,
            contact=contact,
        )
        store.next_customer_number += 1
        if company and parent is None:
            customer.tags.append("Commercial")
        if rng.random() < 0.2:
            customer.tags.append(rng.pick(names.CUSTOMER_TAGS[:3]))
        store.add_customer(customer)
        if rng.random() < 0.35:
            self.note(customer.id, "Customer", at + timedelta(days=rng.int(0, 30)))
        return customer

    def note(self, owner_id: int, kind: str, at: datetime) -> None:
        store, rng = self.store, self.rng
        pool = names.CUSTOMER_NOTES if kind == "Customer" else names.JOB_NOTES
        note = Note(store.new_id(), kind, owner_id, rng.pick(pool), False, self.author(), at)
        store.notes[note.id] = note
        owner = store.customers[owner_id] if kind == "Customer" else store.jobs[owner_id]
        owner.note_ids.append(note.id)

    def author(self) -> int:
        return self.rng.pick(list(self.store.employees))

    def place_of(self, customer: Customer) -> tuple[str, str, str, float, float, str]:
        return next(p for p in names.PLACES if p[0] == customer.service_city)

    def street(self) -> str:
        rng = self.rng
        return (
            f"{rng.int(100, 9899)} {rng.pick(names.STREET_NAMES)} {rng.pick(names.STREET_SUFFIXES)}"
        )

    def phone(self) -> str:
        rng = self.rng
        return f"({rng.pick(names.AREA_CODES)}) {rng.int(200, 999)}-{rng.int(0, 9999):04d}"
