"""Customers: create, update, delete, and notes on them.

A customer whose POST had an unknown outcome is found by before-image: Kickserv's exact-name filter
lists the customers with the new customer's name, and one that was not there before is ours.
Updates are absolute PUTs; a delete is confirmed by the customer being gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from kickserv import Customer, Note
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.notes import checked_note_text, note_step
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import created_step, record_step
from resolvers.writes.validation import Checks, GivenFields, camel

TEXT_FIELDS = (
    "name", "first_name", "last_name", "company_name", "email_address", "phone_number", "mobile",
    "service_address", "service_address_2", "service_city", "service_state", "service_zip_code",
    "billing_address", "billing_city", "billing_state", "billing_zip_code", "special_instructions",
)  # fmt: skip
# Kickserv's flat columns as the paths of the input (addresses are nested there, as in Customer).
PATHS: dict[str, tuple[str, ...]] = {
    "email_address": ("email",),
    "phone_number": ("phone",),
    "parent_id": ("parentId",),
    **{
        f"{kind}_{column}": (f"{kind}Address", part)
        for kind in ("service", "billing")
        for column, part in (
            ("address", "line1"), ("address_2", "line2"), ("city", "city"), ("state", "state"),
            ("zip_code", "zip"),
        )
    },
}  # fmt: skip
# What Kickserv embeds of a customer elsewhere (tasks, invoices, payments, opportunities, the job
# detail; a parent embeds its children): a write of one of these is a CUSTOMER_GLUE change too.
GLUE_FIELDS = frozenset({
    "name", "first_name", "last_name", "company_name", "email_address", "phone_number",
    "service_address", "service_address_2", "service_city", "service_state", "service_zip_code",
    "parent_id",
})  # fmt: skip


def _changes(fields: dict[str, Any]) -> tuple[Change, ...]:
    return (Change.CUSTOMER_GLUE,) if GLUE_FIELDS & fields.keys() else ()


@dataclass(frozen=True, slots=True)
class CustomerFields(GivenFields):
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    email_address: str | None = None
    phone_number: str | None = None
    mobile: str | None = None
    service_address: str | None = None
    service_address_2: str | None = None
    service_city: str | None = None
    service_state: str | None = None
    service_zip_code: str | None = None
    billing_address: str | None = None
    billing_city: str | None = None
    billing_state: str | None = None
    billing_zip_code: str | None = None
    special_instructions: str | None = None
    parent_id: int | None = None

    @property
    def display_name(self) -> str | None:
        """The name Kickserv gives a customer created without one."""
        person = " ".join(p for p in (self.first_name, self.last_name) if p)
        return self.name or person or self.company_name


def _path(name: str) -> tuple[str, ...]:
    return ("input", *PATHS.get(name, (camel(name),)))


def check_customer(spec: CustomerFields, *, creating: bool) -> CustomerFields:
    checks = Checks()
    texts = {name: checks.text(_path(name), getattr(spec, name)) for name in TEXT_FIELDS}
    if spec.email_address is not None and texts["email_address"] and "@" not in spec.email_address:
        checks.fail(_path("email_address"), "must be an email address")
    checks.positive_id(("input", "parentId"), spec.parent_id)
    cleaned = CustomerFields(**texts, parent_id=spec.parent_id)
    if creating and cleaned.display_name is None:
        checks.fail(("input", "name"), "is required unless firstName, lastName or companyName is")
    if not creating and not cleaned.fields():
        checks.fail(("input",), "must change at least one field")
    checks.done()
    return cleaned


async def create_customer(scope: WriteScope, spec: CustomerFields) -> Customer:
    cleaned = check_customer(spec, creating=True)
    fields = cleaned.fields()
    name = cleaned.display_name or ""

    step = created_step(
        "customer",
        lambda: scope.ks.customers.create(**fields),
        Customer.from_json,
        lambda: scope.ks.customers.list(name=name, per_page=100).all(),
        first=lambda c: c.customer_number,
        field_path=_path,
    )
    # A new customer is embedded nowhere yet, unless it is a child: its parent embeds it.
    also = (Change.CUSTOMER_GLUE,) if cleaned.parent_id is not None else ()
    return await scope.run_step(
        "createCustomer", fields, step, lambda c: invalidation.customer_saved(scope, c, *also)
    )


async def update_customer(scope: WriteScope, number: int, spec: CustomerFields) -> Customer:
    fields = check_customer(spec, creating=False).fields()

    step = record_step(
        "customer",
        lambda: scope.ks.customers.update(number, **fields),
        Customer.from_json,
        field_path=_path,
    )
    payload = {"customer": number, "fields": fields}
    return await scope.run_step(
        "updateCustomer",
        payload,
        step,
        lambda customer: invalidation.customer_saved(scope, customer, *_changes(fields)),
    )


async def delete_customer(scope: WriteScope, number: int) -> Customer:
    """Answers the customer as it was (Kickserv's DELETE answers only a message)."""

    deleted = partial(invalidation.customer_deleted, scope)
    payload = {"customer": number}
    return await scope.run_delete(
        "deleteCustomer", payload, Customer.from_json, scope.ks.customers, number, deleted
    )


async def add_customer_note(scope: WriteScope, number: int, body_text: str, public: bool) -> Note:
    text = checked_note_text(body_text)

    step = note_step(
        lambda: scope.ks.customers.notes(number).all(),
        lambda: scope.ks.customers.create_note(number, body=text, public=public),
        text,
    )
    payload = {"customer": number, "body": text, "public": public}
    return await scope.run_step(
        "addCustomerNote",
        payload,
        step,
        lambda n: invalidation.customer_note_added(scope, number, n),
    )
