"""Customers (with their child customers, Kickserv's service locations) and notes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from kickserv.records.fields import Fields
from kickserv.records.glue import Address, CustomerRef
from kickserv.records.record import Entity, reads, record


@record
class Customer(Entity):
    """A customer. `customer_number` is what URLs take; `id` is what other records point at."""

    customer_number: int = reads(Fields.required_int, "customer_number", "number")
    name: str = reads(Fields.required_str, "name", "full_name", "company_name")
    first_name: str | None = reads(Fields.optional_str, "first_name")
    last_name: str | None = reads(Fields.optional_str, "last_name")
    company_name: str | None = reads(Fields.optional_str, "company_name")
    email_address: str | None = reads(Fields.optional_str, "email_address", "email")
    phone_number: str | None = reads(Fields.optional_str, "phone_number", "phone")
    mobile: str | None = reads(Fields.optional_str, "mobile")
    contact: str | None = reads(Fields.optional_str, "contact")  # the contact person's name
    service_address: Address = reads(Address.from_prefix, "service")
    billing_address: Address = reads(Address.from_prefix, "billing")
    parent_id: int | None = reads(Fields.optional_int, "parent_id")
    children: tuple[CustomerRef, ...] = reads(Fields.tuple_of, "children", CustomerRef.from_json)
    balance: Decimal | None = reads(Fields.optional_decimal, "balance")
    total_balance: Decimal | None = reads(Fields.optional_decimal, "total_balance")
    is_active: bool = reads(Fields.bool_or, True, "is_active", "active")
    last_job_completed_at: datetime | None = reads(
        Fields.optional_datetime, "last_job_completed_at"
    )
    latitude: float | None = reads(Fields.optional_float, "latitude")
    longitude: float | None = reads(Fields.optional_float, "longitude")


@record
class Note(Entity):
    """A note on a customer or a job; `noteable_id` is the parent's global id."""

    noteable_type: str | None = reads(Fields.optional_str, "noteable_type")
    noteable_id: int | None = reads(Fields.optional_int, "noteable_id")
    body: str = reads(Fields.str_or, "", "body", "text", "note", "content", "description")
    public: bool = reads(Fields.bool_or, False, "public")
    employee_id: int | None = reads(Fields.optional_int, "employee_id", "created_by", "creator_id")
