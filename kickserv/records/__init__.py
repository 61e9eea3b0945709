"""Typed, frozen records of Kickserv resources; each keeps every key Kickserv sent in `raw`."""

from __future__ import annotations

from kickserv.records.billing import JobCharge, Payment, PaymentRequest
from kickserv.records.catalog import Item, JobChargeType, JobType, Vendor
from kickserv.records.customers import Customer, Note
from kickserv.records.glue import Address, CustomerRef, EmployeeRef, ItemRef, JobRef
from kickserv.records.jobs import Invoice, Job, Opportunity
from kickserv.records.people import Employee
from kickserv.records.tasks import Task

__all__ = [
    "Address",
    "Customer",
    "CustomerRef",
    "Employee",
    "EmployeeRef",
    "Invoice",
    "Item",
    "ItemRef",
    "Job",
    "JobCharge",
    "JobChargeType",
    "JobRef",
    "JobType",
    "Note",
    "Opportunity",
    "Payment",
    "PaymentRequest",
    "Task",
    "Vendor",
]
