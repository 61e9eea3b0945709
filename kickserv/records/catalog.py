"""The account's catalogue: job types ("services"), job charge types, items and vendors."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from kickserv.records.fields import Fields
from kickserv.records.record import Record, raw_json, reads, record


@record
class JobType(Record):
    """A job type, called "Service" in Kickserv's web UI."""

    id: int = reads(Fields.required_int, "id")
    name: str = reads(Fields.required_str, "name")
    description: str | None = reads(Fields.optional_str, "description")
    color: str | None = reads(Fields.optional_str, "color")
    text_color: str | None = reads(Fields.optional_str, "text_color")
    position: int | None = reads(Fields.optional_int, "position")
    active: bool = reads(Fields.bool_or, True, "active")
    public: bool | None = reads(Fields.optional_bool, "public")
    cost: Decimal | None = reads(Fields.optional_decimal, "cost")
    created_at: datetime | None = reads(Fields.created_at)
    updated_at: datetime | None = reads(Fields.updated_at)
    raw: Mapping[str, Any] = raw_json()


@record
class JobChargeType(Record):
    """A kind of charge ("Hourly", "Physical Product", ...)."""

    id: int = reads(Fields.required_int, "id")
    name: str = reads(Fields.required_str, "name")
    active: bool = reads(Fields.bool_or, True, "active")
    created_at: datetime | None = reads(Fields.created_at)
    updated_at: datetime | None = reads(Fields.updated_at)
    raw: Mapping[str, Any] = raw_json()


def _truncated(f: Fields) -> bool:
    """Whether an item came in the short shape of a name search."""
    return not (f.has("account_id") or f.has("active") or f.has("full_name"))


@record
class Item(Record):
    """A catalogue item. `/items.json?name=` answers a truncated shape ({id, name, price,
    description, taxable, formatted_price}); then `truncated` is True and the other fields are None.
    """

    id: int = reads(Fields.required_int, "id")
    name: str = reads(Fields.required_str, "name", "full_name")
    full_name: str | None = reads(Fields.optional_str, "full_name")
    description: str | None = reads(Fields.optional_str, "description")
    price: Decimal | None = reads(Fields.optional_decimal, "price")
    formatted_price: str | None = reads(Fields.optional_str, "formatted_price")
    taxable: bool | None = reads(Fields.optional_bool, "taxable")
    active: bool | None = reads(Fields.optional_bool, "active")
    item_type: str | None = reads(Fields.optional_str, "item_type")
    created_at: datetime | None = reads(Fields.created_at)
    updated_at: datetime | None = reads(Fields.updated_at)
    truncated: bool = reads(_truncated)
    raw: Mapping[str, Any] = raw_json()


@record
class Vendor(Record):
    """A vendor (supplier) of the account."""

    id: int = reads(Fields.required_int, "id")
    name: str = reads(Fields.required_str, "name")
    active: bool = reads(Fields.bool_or, True, "active")
    list_id: str | None = reads(Fields.optional_str, "list_id")
    created_at: datetime | None = reads(Fields.created_at)
    updated_at: datetime | None = reads(Fields.updated_at)
    raw: Mapping[str, Any] = raw_json()
