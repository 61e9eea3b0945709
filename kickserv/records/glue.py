"""Glue records: the trimmed copies of a customer, job, employee or item that Kickserv embeds in
other records. Only `id` is required; Kickserv sometimes sends a full object, sometimes a bare id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kickserv.records.fields import Fields


@dataclass(frozen=True, slots=True)
class Address:
    """A flat Kickserv address (`service_*` or `billing_*` columns) gathered into one value."""

    street: str | None = None
    street_2: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None

    @classmethod
    def from_prefix(cls, fields: Fields, prefix: str) -> Address:
        return cls(
            street=fields.optional_str(f"{prefix}_address"),
            street_2=fields.optional_str(f"{prefix}_address_2"),
            city=fields.optional_str(f"{prefix}_city"),
            state=fields.optional_str(f"{prefix}_state"),
            zip_code=fields.optional_str(f"{prefix}_zip_code"),
            country=fields.optional_str(f"{prefix}_country"),
        )

    @property
    def is_empty(self) -> bool:
        return not any((self.street, self.street_2, self.city, self.state, self.zip_code))


def _glue_fields(data: object, record: str) -> Fields:
    """Glue sent as a bare id (``"children": [12, 13]``) is read as ``{"id": 12}``."""
    if isinstance(data, int | str) and not isinstance(data, bool):
        return Fields({"id": data}, record)
    return Fields(data, record)


@dataclass(frozen=True, slots=True)
class CustomerRef:
    """A customer as embedded in tasks, invoices, opportunities, payments and `children`."""

    id: int
    customer_number: int | None
    name: str | None
    service_address: Address
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> CustomerRef:
        f = _glue_fields(data, "CustomerRef")
        return cls(
            id=f.required_int("id"),
            customer_number=f.optional_int("customer_number"),
            name=f.optional_str("name", "full_name", "company_name"),
            service_address=Address.from_prefix(f, "service"),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class JobRef:
    """A job as embedded in tasks: {id, job_number, name, status, customer_id}."""

    id: int
    job_number: int | None
    name: str | None
    status: str | None
    customer_id: int | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> JobRef:
        f = _glue_fields(data, "JobRef")
        return cls(
            id=f.required_int("id"),
            job_number=f.optional_int("job_number", "number"),
            name=f.optional_str("name"),
            status=f.optional_str("status"),
            customer_id=f.optional_int("customer_id"),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class EmployeeRef:
    """An employee as embedded in tasks: {id, employee_number, name}."""

    id: int
    employee_number: int | None
    name: str | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> EmployeeRef:
        f = _glue_fields(data, "EmployeeRef")
        return cls(
            id=f.required_int("id"),
            employee_number=f.optional_int("employee_number", "number"),
            name=f.optional_str("name"),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class ItemRef:
    """The catalogue item embedded in a job charge."""

    id: int
    name: str | None
    full_name: str | None
    description: str | None
    price: Decimal | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> ItemRef:
        f = _glue_fields(data, "ItemRef")
        return cls(
            id=f.required_int("id"),
            name=f.optional_str("name"),
            full_name=f.optional_str("full_name"),
            description=f.optional_str("description"),
            price=f.optional_decimal("price"),
            raw=f.raw,
        )


def customer_of(f: Fields) -> tuple[CustomerRef | None, int | None]:
    """A record's customer glue and customer id; the id falls back to the glue's when only that
    was sent (jobs, invoices and payments all carry one, the other, or both)."""
    customer = f.optional_object("customer", CustomerRef.from_json)
    customer_id = f.optional_int("customer_id")
    return customer, customer_id if customer_id is not None else (customer.id if customer else None)
