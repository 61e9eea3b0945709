"""Every behaviour the reference leaves open ([I] or [?]), decided once, here.

The client accepts these choices *and* their plausible alternatives (see docs/sandbox-client-contract.md), so a
change here is a change of the sandbox's personality, not of the contract. Everything else in the
sandbox follows the documented [C] behaviour of ../shared/kickserv-api.md.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any

JsonObject = dict[str, Any]

# --- errors ---------------------------------------------------------------------------------------

UNAUTHORIZED_MESSAGE = "Invalid Username, Account or password."
RATE_LIMITED_MESSAGE = "Rate limit exceeded."
SERVER_ERROR_MESSAGE = "Internal server error."
UNKNOWN_ROUTE_MESSAGE = "Not found."

# A missing record answers 400 with v1's wording ("Invalid customer."), not 404.
MISSING_RECORD_STATUS = 400
# Rails answers an unknown route *or* an unknown verb on a known route with 404.
UNKNOWN_ROUTE_STATUS = 404


def error_list_body(message: str) -> JsonObject:
    """401, 400, 404, 429 and 500 bodies: Rails' `{errors: [...]}`."""
    return {"errors": [message]}


def missing_record_message(kind: str) -> str:
    """'Invalid customer.', 'Invalid job charge.': v1's words for a record that is not there."""
    return f"Invalid {kind}."


def full_message(field: str, problem: str) -> str:
    """Validation messages are Rails full messages ("Name has already been taken"), which is what the
    reference quotes for a duplicate vendor; they sit in the field hash of a 422 body."""
    label = field.removesuffix("_id").replace("_", " ")
    return f"{label[:1].upper()}{label[1:]} {problem}"


def validation_body(errors: dict[str, list[str]]) -> JsonObject:
    """422: `{"errors": {"field": ["Field message", ...]}}`."""
    return {"errors": errors}


# --- pagination -----------------------------------------------------------------------------------

DEFAULT_PER_PAGE = 25
DEFAULT_MAX_PER_PAGE = 100
# `customers_page` appears in the only customers example; it is treated as an alias of `page`.
PAGE_ALIASES: dict[str, tuple[str, ...]] = {"customers": ("customers_page",)}


@dataclass(frozen=True, slots=True)
class PagePlace:
    """Where one page stands among all: what every envelope reports, under its own names."""

    number: int
    per_page: int
    total: int  # entries over all pages
    total_pages: int
    next: int | None  # None on the last page
    previous: int | None  # None on the first


def page_place(number: int, per_page: int, total: int) -> PagePlace:
    total_pages = math.ceil(total / per_page) if total else 0
    following = number + 1 if number < total_pages else None
    preceding = number - 1 if number > 1 else None
    return PagePlace(number, per_page, total, total_pages, following, preceding)


def will_paginate_envelope(plural: str, entries: list[JsonObject], at: PagePlace) -> JsonObject:
    """The list envelope of every paginated endpoint except payments (will_paginate names)."""
    return {
        plural: entries,
        "current_page": at.number,
        "per_page": at.per_page,
        "total_entries": at.total,
        "total_pages": at.total_pages,
        "next_page": at.next,
        "previous_page": at.previous,
    }


def meta_pagination_envelope(plural: str, entries: list[JsonObject], at: PagePlace) -> JsonObject:
    """The /payments.json envelope (the v3 model the reference quotes); it has no per_page key."""
    return {
        plural: entries,
        "meta": {
            "pagination": {
                "current_page": at.number,
                "next_page": at.next,
                "prev_page": at.previous,
                "total_pages": at.total_pages,
                "total_count": at.total,
            }
        },
    }


# --- statuses and sorting -------------------------------------------------------------------------

JOB_STATUSES = ("unscheduled", "scheduled", "in_progress", "on_hold", "complete", "canceled")
OPPORTUNITY_STATUSES = ("new", "sent", "viewed", "won", "lost")
INVOICE_STATUSES = ("paid", "unpaid")
# /jobs.json and /customers/{n}/jobs.json list jobs only; opportunities are listed by
# /opportunities.json (the reference finds no per-customer opportunity listing in v2).
# /jobs/{n}.json answers both.

# /payments.json sort keys and the default order when none is asked for.
PAYMENT_SORT_KEYS = ("date", "created_at", "amount")
PAYMENT_DEFAULT_SORT = ("date", "DESC")

# The first day of a week for `scheduled=this_week` (Rails' beginning_of_week default).
WEEK_STARTS_ON_MONDAY = True


def week_start(day: date) -> date:
    offset = day.weekday() if WEEK_STARTS_ON_MONDAY else (day.weekday() + 1) % 7
    return day - timedelta(days=offset)


# --- accounts and tokens --------------------------------------------------------------------------

# Global ids of different accounts live in disjoint ranges, so a leaked id never resolves elsewhere.
ACCOUNT_ID_BASES = {"demo": 10_000_000, "acme": 60_000_000}
ACCOUNT_NUMERIC_IDS = {"demo": 222222, "acme": 333333}
# Timestamps carry the account's local offset; demo is fixed at -05:00 (no DST in the sandbox).
ACCOUNT_UTC_OFFSETS = {"demo": -5, "acme": -7}
ACCOUNT_NAMES = {"demo": "Demo Home Services", "acme": "Acme Facility Care"}
FIRST_JOB_NUMBER = 1001  # job numbers never equal customer numbers of a small account


def employee_token(account: str, employee_number: int) -> str:
    """The account owner (employee 1) gets "<account>-token"; others "<account>-token-<number>"."""
    if employee_number == 1:
        return f"{account}-token"
    return f"{account}-token-{employee_number}"


# Inactive employees cannot log in, so their tokens answer 401.
INACTIVE_EMPLOYEES_MAY_LOG_IN = False


def token_fingerprint(token: str) -> str:
    """What the request log shows instead of a token."""
    return hashlib.sha256(token.encode()).hexdigest()[:8]


# --- the sandbox's two personalities --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Personality:
    """Every [I]/[?] behaviour that has a more conservative plausible alternative, as one switch
    each. ``LENIENT`` (the default) is the sandbox as first written: it honours what the reference
    leaves open. ``STRICT`` (``kickserv-graph sandbox --reference-strict``) takes the alternative a
    real Kickserv could just as well show, so the graph is tested against it too. Each field names
    the reference's words; docs/sandbox-client-contract.md lists both behaviours and what the client
    does about them."""

    # /jobs.json documents job_type_id, scheduled, page, per_page: `status` is not documented.
    jobs_status_filter: bool
    # /schedule.json documents employee_number and task_type_id: `from`/`to` are not documented.
    schedule_date_filter: bool
    # /tasks.json documents job_id, from, to, mapping + employee_number: `task_type_id` is not.
    tasks_task_type_filter: bool
    # /customers.json's only paging example is `customers_page`; whether `page` works is unknown.
    customers_page_param: bool
    # Write URLs the reference never shows: PUT tags, job notes, POST /jobs/{n}/payments.json,
    # PUT/DELETE /jobs/{n}/job_charges/{id}.json. Off: they answer the unknown-route 404.
    unconfirmed_write_routes: bool
    # Keys the reference never shows: `taxable` on a job charge, `notes` embedded in a job detail,
    # `errors: {}` on vendor *list* entries (write answers carry it: confirmed).
    charge_taxable_key: bool
    job_detail_notes_key: bool
    vendor_list_errors_key: bool
    # Payments embed "the full customer object" (VDG-PAY): a 10-key summary or the record itself.
    payment_customer_summary: bool
    # Every seeded customer active, or some with `is_active: false` (never exercised otherwise).
    all_customers_active: bool
    # Tasks embed their employees as glue (confirmed); an `employee_ids` list beside it is a guess.
    task_employee_ids_key: bool
    # v1 answered a missing record 400 "Invalid job."; v2 is unknown: 400 (v1-faithful) or 404.
    missing_record_status: int
    # A job PUT's `started_on` / `completed_on` (lifecycle columns of the v1 fixture) are kept as
    # sent; off, Kickserv stamps them itself when the status moves and ignores what was sent.
    job_stamps_writable: bool
    # POST /job_types.json: the reference lists the verb, never a request or answer. Off: 404.
    job_type_create_route: bool
    # POST /payments.json creates a payment (confirmed), its payload is not shown: `customer_id`
    # carries the customer *number*, as the GET filter of the same name does. Off: it is read as
    # the global id, so a number names no customer (422).
    payment_post_customer_number: bool


LENIENT = Personality(
    jobs_status_filter=True,
    schedule_date_filter=True,
    tasks_task_type_filter=True,
    customers_page_param=True,
    unconfirmed_write_routes=True,
    charge_taxable_key=True,
    job_detail_notes_key=True,
    vendor_list_errors_key=True,
    payment_customer_summary=True,
    all_customers_active=True,
    task_employee_ids_key=True,
    missing_record_status=MISSING_RECORD_STATUS,
    job_stamps_writable=True,
    job_type_create_route=True,
    payment_post_customer_number=True,
)
# Strict: every switch off (the conservative alternative), and a missing record answers 404.
STRICT = replace(
    LENIENT,
    **{f.name: False for f in fields(Personality) if f.type == "bool"},
    missing_record_status=404,
)

# In strict mode, every INACTIVE_CUSTOMER_EVERY-th customer (by number) is inactive.
INACTIVE_CUSTOMER_EVERY = 7
STRICT_ENV = "SANDBOX_REFERENCE_STRICT"


def personality(strict: bool) -> Personality:
    return STRICT if strict else LENIENT


def strict_from_env() -> bool:
    """SANDBOX_REFERENCE_STRICT=1: the default of SandboxConfig.reference_strict (how a test run,
    `serve` in sandbox mode and `kickserv-graph sandbox` all pick the strict sandbox)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")
