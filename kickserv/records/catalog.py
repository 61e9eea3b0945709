"""The account's catalogue: job types ("services"), job charge types, items and vendors."""

from __future__ import annotations

from decimal import Decimal

from kickserv.records.fields import Fields
from kickserv.records.record import Entity, reads, record


@record
class JobType(Entity):
    """A job type, called "Service" in Kickserv's web UI."""

    name: str = reads(Fields.required_str, "name")
    description: str | None = reads(Fields.optional_str, "description")
    color: str | None = reads(Fields.optional_str, "color")
    text_color: str | None = reads(Fields.optional_str, "text_color")
    position: int | None = reads(Fields.optional_int, "position")
    active: bool = reads(Fields.bool_or, True, "active")
    public: bool | None = reads(Fields.optional_bool, "public")
    cost: Decimal | None = reads(Fields.optional_decimal, "cost")


@record
class JobChargeType(Entity):
    """A kind of charge ("Hourly", "Physical Product", ...)."""

    name: str = reads(Fields.required_str, "name")
    active: bool = reads(Fields.bool_or, True, "active")


def _truncated(f: Fields) -> bool:
    """Whether an item came in the short shape of a name search."""
    return not (f.has("account_id") or f.has("active") or f.has("full_name"))


@record
class Item(Entity):
    """A catalogue item. `/items.json?name=` answers a truncated shape ({id, name, price,
    description, taxable, formatted_price}); then `truncated` is True and the other fields are None.
    """

    name: str = reads(Fields.required_str, "name", "full_name")
    full_name: str | None = reads(Fields.optional_str, "full_name")
    description: str | None = reads(Fields.optional_str, "description")
    price: Decimal | None = reads(Fields.optional_decimal, "price")
    formatted_price: str | None = reads(Fields.optional_str, "formatted_price")
    taxable: bool | None = reads(Fields.optional_bool, "taxable")
    active: bool | None = reads(Fields.optional_bool, "active")
    item_type: str | None = reads(Fields.optional_str, "item_type")
    truncated: bool = reads(_truncated)


@record
class Vendor(Entity):
    """A vendor (supplier) of the account."""

    name: str = reads(Fields.required_str, "name")
    active: bool = reads(Fields.bool_or, True, "active")
    list_id: str | None = reads(Fields.optional_str, "list_id")
