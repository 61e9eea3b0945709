"""Glue records: the trimmed copies of a customer, job, employee or item that Kickserv embeds in
other records. Only `id` is required; Kickserv sometimes sends a full object, sometimes a bare id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from kickserv.records.compiled import fast
from kickserv.records.fields import Fields
from kickserv.records.record import Record, raw_json, reads, record

_ADDRESS_COLUMNS = ("address", "address_2", "city", "state", "zip_code", "country")
_ADDRESS_KEYS: dict[str, tuple[str, ...]] = {}


def _address_keys(prefix: str) -> tuple[str, ...]:
    """The keys of an address's columns in a record: ``service_address`` ... ``service_country``."""
    keys = _ADDRESS_KEYS[prefix] = tuple(f"{prefix}_{column}" for column in _ADDRESS_COLUMNS)
    return keys


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
        sent = [fields.value(key) for key in cls.keys(prefix)]
        if all(value is None or type(value) is str for value in sent):  # as documented: as it is
            return cls(*sent)
        return cls(*[fields.optional_str(key) for key in cls.keys(prefix)])

    @staticmethod
    def keys(prefix: str) -> tuple[str, ...]:
        """The keys of the columns of the address ``prefix`` names, in field order."""
        return _ADDRESS_KEYS.get(prefix) or _address_keys(prefix)

    @property
    def is_empty(self) -> bool:
        return not any((self.street, self.street_2, self.city, self.state, self.zip_code))


def _address(x: str, args: tuple[Any, ...]) -> list[str]:
    """``Address.from_prefix`` compiled: its columns as they are when each is a string or null."""
    (prefix,) = args
    columns = [f"{x}_{i}" for i in range(len(_ADDRESS_COLUMNS))]
    taken = " and ".join(f"({c} is None or type({c}) is str)" for c in columns)
    return [
        *(f"{c} = get({key!r})" for c, key in zip(columns, Address.keys(prefix), strict=True)),
        f"if {taken}: {x} = Address({', '.join(columns)})",
        "else:",
    ]


fast(Address.from_prefix, _address, Address=Address)


@record
class Glue(Record):
    """What every glue record carries: the id (all Kickserv may send, as a bare id) and every key."""

    bare_id: ClassVar[bool] = True
    id: int = reads(Fields.required_int, "id")
    raw: Mapping[str, Any] = raw_json()

    @classmethod
    def id_of(cls, data: object) -> int:
        """The id of the glue in ``data``, without reading the rest of it."""
        return cls.fields_of(data).required_int("id")


@record
class CustomerRef(Glue):
    """A customer as embedded in tasks, invoices, opportunities, payments and `children`."""

    customer_number: int | None = reads(Fields.optional_int, "customer_number")
    name: str | None = reads(Fields.optional_str, "name", "full_name", "company_name")
    service_address: Address = reads(Address.from_prefix, "service")


@record
class JobRef(Glue):
    """A job as embedded in tasks: {id, job_number, name, status, customer_id}."""

    job_number: int | None = reads(Fields.optional_int, "job_number", "number")
    name: str | None = reads(Fields.optional_str, "name")
    status: str | None = reads(Fields.optional_str, "status")
    customer_id: int | None = reads(Fields.optional_int, "customer_id")


@record
class EmployeeRef(Glue):
    """An employee as embedded in tasks: {id, employee_number, name}."""

    employee_number: int | None = reads(Fields.optional_int, "employee_number", "number")
    name: str | None = reads(Fields.optional_str, "name")


@record
class ItemRef(Glue):
    """The catalogue item embedded in a job charge."""

    name: str | None = reads(Fields.optional_str, "name")
    full_name: str | None = reads(Fields.optional_str, "full_name")
    description: str | None = reads(Fields.optional_str, "description")
    price: Decimal | None = reads(Fields.optional_decimal, "price")
