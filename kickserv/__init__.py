"""A typed async client of the Kickserv REST API v2.

```
from kickserv import KickservClient

async with KickservClient("myaccount", token) as ks:
    async for job in ks.jobs.list(status="scheduled"):
        print(job.job_number, job.name)
```
"""

from __future__ import annotations

from kickserv.client import KickservClient, credential_fingerprint
from kickserv.errors import (
    APIError,
    BadRequest,
    Forbidden,
    KickservError,
    NotFound,
    RateLimited,
    ResponseShape,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
    UnsupportedRoute,
    Validation,
)
from kickserv.pages import Page, Paginator
from kickserv.records import (
    Address,
    Customer,
    CustomerRef,
    Employee,
    EmployeeRef,
    Invoice,
    Item,
    ItemRef,
    Job,
    JobCharge,
    JobChargeType,
    JobRef,
    JobType,
    Note,
    Opportunity,
    Payment,
    PaymentRequest,
    Task,
    Vendor,
)
from kickserv.transport import RetryPolicy, UpstreamCall, patient

__all__ = [
    "APIError",
    "Address",
    "BadRequest",
    "Customer",
    "CustomerRef",
    "Employee",
    "EmployeeRef",
    "Forbidden",
    "Invoice",
    "Item",
    "ItemRef",
    "Job",
    "JobCharge",
    "JobChargeType",
    "JobRef",
    "JobType",
    "KickservClient",
    "KickservError",
    "NotFound",
    "Note",
    "Opportunity",
    "Page",
    "Paginator",
    "Payment",
    "PaymentRequest",
    "RateLimited",
    "ResponseShape",
    "RetryPolicy",
    "ServerError",
    "Task",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "UnsupportedRoute",
    "UpstreamCall",
    "Validation",
    "Vendor",
    "credential_fingerprint",
    "patient",
]
