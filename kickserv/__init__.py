"""A typed async client of the Kickserv REST API v2.

```
from kickserv import KickservClient

async with KickservClient("myaccount", token) as ks:
    async for job in ks.jobs.list(status="scheduled"):
        print(job.job_number, job.name)
```
"""

from __future__ import annotations

from kickserv import records
from kickserv.attempts import RetryPolicy, UpstreamCall, patient
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
from kickserv.records import *  # noqa: F403  (every record type, as kickserv.records lists them)

__all__ = [
    "APIError",
    "BadRequest",
    "Forbidden",
    "KickservClient",
    "KickservError",
    "NotFound",
    "Page",
    "Paginator",
    "RateLimited",
    "ResponseShape",
    "RetryPolicy",
    "ServerError",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "UnsupportedRoute",
    "UpstreamCall",
    "Validation",
    "credential_fingerprint",
    "patient",
]
__all__ += records.__all__
__all__.sort()
