"""Kickserv endpoints grouped by the resource they serve, one class per group."""

from __future__ import annotations

from kickserv.resources.billing import Invoices, Payments
from kickserv.resources.catalog import Employees, Items, JobChargeTypes, JobTypes, Vendors
from kickserv.resources.customers import Customers
from kickserv.resources.jobs import Jobs
from kickserv.resources.opportunities import Opportunities
from kickserv.resources.tasks import Schedule, Tasks

__all__ = [
    "Customers",
    "Employees",
    "Invoices",
    "Items",
    "JobChargeTypes",
    "JobTypes",
    "Jobs",
    "Opportunities",
    "Payments",
    "Schedule",
    "Tasks",
    "Vendors",
]
