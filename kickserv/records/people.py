"""Employees (the people whose API tokens the client uses, and whom tasks are assigned to)."""

from __future__ import annotations

from kickserv.records.fields import Fields
from kickserv.records.record import Entity, reads, record


@record
class Employee(Entity):
    """An employee. `employee_number` is what URLs and filters take; `id` is what tasks carry."""

    employee_number: int = reads(Fields.required_int, "employee_number", "number")
    name: str = reads(Fields.required_str, "name", "full_name")
    email_address: str | None = reads(Fields.optional_str, "email_address", "email")
    username: str | None = reads(Fields.optional_str, "username")
    admin: bool = reads(Fields.bool_or, False, "admin")
    active: bool = reads(Fields.bool_or, True, "active")
    limit_access_to_assignments: bool = reads(Fields.bool_or, False, "limit_access_to_assignments")
    is_account_owner: bool | None = reads(Fields.optional_bool, "is_account_owner")
