"""Employees, vendors, items, job types and job charge types: the account's reference data."""

from __future__ import annotations

from typing import Any

from kickserv.pages import Paginator
from kickserv.records import Employee, Item, JobChargeType, JobType, Vendor
from kickserv.resources.base import Editable, Records, Resource


class Employees(Records[Employee]):
    """Active employees by `employee_number`. /employees.json is a bare array: one page holds them
    all."""

    collection = "employees"
    wrapper = "employee"
    record = Employee

    def list(self) -> Paginator[Employee]:
        return self._paginate("employees.json", ("employees",), Employee.from_json)


class Vendors(Editable[Vendor]):
    """Vendors by their global `id`."""

    collection = "vendors"
    wrapper = "vendor"
    record = Vendor

    def list(self, *, per_page: int | None = None) -> Paginator[Vendor]:
        return self._paginate("vendors.json", ("vendors",), Vendor.from_json, None, per_page)

    async def create(self, **fields: Any) -> Vendor:
        return await self._create(fields)

    async def delete(self, vendor_id: int) -> Vendor | None:
        """Answers the deleted vendor when Kickserv sends it back. The reference lists the verb and
        shows no request: where Kickserv lacks it, UnsupportedRoute."""
        return await self._unconfirmed("DELETE /vendors/{id}.json", self._remove(vendor_id))


class Items(Resource):
    """Catalogue items; with `name` Kickserv answers truncated entries (Item.truncated)."""

    def list(self, *, name: str | None = None, per_page: int | None = None) -> Paginator[Item]:
        """`name` matches any part of the name, case-insensitively."""
        return self._paginate("items.json", ("items",), Item.from_json, {"name": name}, per_page)


class JobTypes(Resource):
    """Job types ("Services" in the web UI)."""

    def list(
        self, *, inactive: bool | None = None, all: bool | None = None, per_page: int | None = None
    ) -> Paginator[JobType]:
        """Active ones by default; `inactive=True` only inactive ones, `all=True` both."""
        filters = {"inactive": inactive, "all": all}
        return self._paginate(
            "job_types.json", ("job_types",), JobType.from_json, filters, per_page
        )

    async def create(self, **fields: Any) -> JobType:
        """POST /job_types.json. The reference lists the verb and shows no request: where Kickserv
        lacks it, UnsupportedRoute."""
        return await self._unconfirmed(
            "POST /job_types.json",
            self._save("POST", "job_types.json", "job_type", JobType.from_json, fields),
        )


class JobChargeTypes(Resource):
    def list(self, *, per_page: int | None = None) -> Paginator[JobChargeType]:
        return self._paginate(
            "job_charge_types.json", ("job_charge_types",), JobChargeType.from_json, None, per_page
        )
