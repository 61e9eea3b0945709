"""Customers (with their child customers, Kickserv's service locations) and notes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kickserv.records.fields import Fields
from kickserv.records.glue import Address, CustomerRef


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer. `customer_number` is what URLs take; `id` is what other records point at."""

    id: int
    customer_number: int
    name: str
    first_name: str | None
    last_name: str | None
    company_name: str | None
    email_address: str | None
    phone_number: str | None
    mobile: str | None
    service_address: Address
    billing_address: Address
    parent_id: int | None
    children: tuple[CustomerRef, ...]
    balance: Decimal | None
    total_balance: Decimal | None
    is_active: bool
    latitude: float | None
    longitude: float | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Customer:
        f = Fields(data, "Customer")
        latitude = f.optional_decimal("latitude")
        longitude = f.optional_decimal("longitude")
        return cls(
            id=f.required_int("id"),
            customer_number=f.required_int("customer_number", "number"),
            name=f.required_str("name", "full_name", "company_name"),
            first_name=f.optional_str("first_name"),
            last_name=f.optional_str("last_name"),
            company_name=f.optional_str("company_name"),
            email_address=f.optional_str("email_address", "email"),
            phone_number=f.optional_str("phone_number", "phone"),
            mobile=f.optional_str("mobile"),
            service_address=Address.from_prefix(f, "service"),
            billing_address=Address.from_prefix(f, "billing"),
            parent_id=f.optional_int("parent_id"),
            children=f.tuple_of("children", CustomerRef.from_json),
            balance=f.optional_decimal("balance"),
            total_balance=f.optional_decimal("total_balance"),
            is_active=f.bool_or(True, "is_active", "active"),
            latitude=None if latitude is None else float(latitude),
            longitude=None if longitude is None else float(longitude),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class Note:
    """A note on a customer or a job; `noteable_id` is the parent's global id."""

    id: int
    noteable_type: str | None
    noteable_id: int | None
    body: str
    public: bool
    employee_id: int | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Note:
        f = Fields(data, "Note")
        return cls(
            id=f.required_int("id"),
            noteable_type=f.optional_str("noteable_type"),
            noteable_id=f.optional_int("noteable_id"),
            body=f.optional_str("body", "text", "note", "content", "description") or "",
            public=f.bool_or(False, "public"),
            employee_id=f.optional_int("employee_id", "created_by", "creator_id"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )
