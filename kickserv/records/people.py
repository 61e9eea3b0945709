"""Employees (the people whose API tokens the client uses, and whom tasks are assigned to)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kickserv.records.fields import Fields


@dataclass(frozen=True, slots=True)
class Employee:
    """An employee. `employee_number` is what URLs and filters take; `id` is what tasks carry."""

    id: int
    employee_number: int
    name: str
    email_address: str | None
    username: str | None
    admin: bool
    active: bool
    limit_access_to_assignments: bool
    is_account_owner: bool | None
    created_at: datetime | None
    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, hash=False)

    @classmethod
    def from_json(cls, data: object) -> Employee:
        f = Fields(data, "Employee")
        return cls(
            id=f.required_int("id"),
            employee_number=f.required_int("employee_number", "number"),
            name=f.required_str("name", "full_name"),
            email_address=f.optional_str("email_address", "email"),
            username=f.optional_str("username"),
            admin=f.bool_or(False, "admin"),
            active=f.bool_or(True, "active"),
            limit_access_to_assignments=f.bool_or(False, "limit_access_to_assignments"),
            is_account_owner=f.optional_bool("is_account_owner"),
            created_at=f.created_at(),
            updated_at=f.updated_at(),
            raw=f.raw,
        )
