"""The account's catalogue: job types ("services"), job charge types, items and vendors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from kickserv.records.fields import Fields


@dataclass(frozen=True, slots=True)
class JobType:
    """A job type, called "Service" in Kickserv's web UI."""

    id: int
    name: str
    description: str | None
    color: str | None
    text_color: str | None
    position: int | None
    active: bool
    public: bool | None
    cost: Decimal | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> JobType:
        f = Fields(data, "JobType")
        return cls(
            id=f.required_int("id"),
            name=f.required_str("name"),
            description=f.optional_str("description"),
            color=f.optional_str("color"),
            text_color=f.optional_str("text_color"),
            position=f.optional_int("position"),
            active=f.bool_or(True, "active"),
            public=f.optional_bool("public"),
            cost=f.optional_decimal("cost"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class JobChargeType:
    """A kind of charge ("Hourly", "Physical Product", ...)."""

    id: int
    name: str
    active: bool
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> JobChargeType:
        f = Fields(data, "JobChargeType")
        return cls(
            id=f.required_int("id"),
            name=f.required_str("name"),
            active=f.bool_or(True, "active"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue item. `/items.json?name=` answers a truncated shape ({id, name, price,
    description, taxable, formatted_price}); then `truncated` is True and the other fields are None.
    """

    id: int
    name: str
    full_name: str | None
    description: str | None
    price: Decimal | None
    formatted_price: str | None
    taxable: bool | None
    active: bool | None
    item_type: str | None
    created_at: datetime | None
    updated_at: datetime | None
    truncated: bool
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Item:
        f = Fields(data, "Item")
        return cls(
            id=f.required_int("id"),
            name=f.required_str("name", "full_name"),
            full_name=f.optional_str("full_name"),
            description=f.optional_str("description"),
            price=f.optional_decimal("price"),
            formatted_price=f.optional_str("formatted_price"),
            taxable=f.optional_bool("taxable"),
            active=f.optional_bool("active"),
            item_type=f.optional_str("item_type"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            truncated=not (f.has("account_id") or f.has("active") or f.has("full_name")),
            raw=f.raw,
        )


@dataclass(frozen=True, slots=True)
class Vendor:
    """A vendor (supplier) of the account."""

    id: int
    name: str
    active: bool
    list_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Vendor:
        f = Fields(data, "Vendor")
        return cls(
            id=f.required_int("id"),
            name=f.required_str("name"),
            active=f.bool_or(True, "active"),
            list_id=f.optional_str("list_id"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )
