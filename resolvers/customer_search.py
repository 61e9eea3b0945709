"""Customers by what Kickserv v2 does not document a filter for: email, phone, active or inactive,
tags, and when they last changed (Supergood's document lists them; the reference's v2 customer filters are name, number,
service address and state, source, first letter and a name search).

The graph filters on its own side, so an answer is never wrong whatever Kickserv does with an
unknown parameter: the listing (narrowed by Kickserv's documented filters, when given) is read
whole, from the shared cache when it is there, and each customer is checked. Tags are not in the
customer record: each remaining candidate's tag set is one more read (cached), so a tag filter is
refused when more than ``MAX_TAG_CANDIDATES`` customers are left to check.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from kickserv import Customer
from resolvers.data import RequestData

MAX_TAG_CANDIDATES = 200
_NOT_DIGITS = re.compile(r"\D")


class TooManyToCheck(ValueError):
    """A tag filter would read the tags of more customers than ``MAX_TAG_CANDIDATES``."""

    def __init__(self, candidates: int) -> None:
        super().__init__(
            f"A tag filter reads each candidate customer's tags; {candidates} customers match the "
            f"other filters, more than {MAX_TAG_CANDIDATES}. Narrow the search with another filter "
            "(name, search, beginsWith, serviceState, email, phone, active)."
        )
        self.candidates = candidates


@dataclass(frozen=True, slots=True)
class CustomerCriteria:
    """What the graph checks itself; None (or no tags) means any."""

    email: str | None = None
    phone: str | None = None
    active: bool | None = None
    tags: tuple[str, ...] = ()
    updated_from: datetime | None = None  # inclusive, aware
    updated_to: datetime | None = None  # exclusive, aware

    @property
    def given(self) -> bool:
        scalars = (self.email, self.phone, self.active, self.updated_from, self.updated_to)
        return any(v is not None for v in scalars) or bool(self.tags)


def digits(phone: str) -> str:
    """A phone number's digits, without a leading US country code: "+1 (415) 555-1234" and
    "415.555.1234" are the same number."""
    found = _NOT_DIGITS.sub("", phone)
    return found[1:] if len(found) == 11 and found.startswith("1") else found


def _matches(c: Customer, criteria: CustomerCriteria, phone: str | None) -> bool:
    if criteria.email is not None and (c.email_address or "").strip().lower() != criteria.email:
        return False
    if phone is not None and phone not in {digits(p) for p in (c.phone_number, c.mobile) if p}:
        return False
    if criteria.updated_from is not None or criteria.updated_to is not None:
        if c.updated_at is None:
            return False
        if criteria.updated_from is not None and c.updated_at < criteria.updated_from:
            return False
        if criteria.updated_to is not None and c.updated_at >= criteria.updated_to:
            return False
    return criteria.active is None or c.is_active == criteria.active


async def matching_customers(
    data: RequestData, criteria: CustomerCriteria, **given: Any
) -> Sequence[Customer]:
    """The customers Kickserv's filters (``given``) and ``criteria`` both let through, in
    Kickserv's order."""
    email = None if criteria.email is None else criteria.email.strip().lower()
    checked = replace(criteria, email=email)
    phone = None if criteria.phone is None else digits(criteria.phone)
    found = [c for c in await data.all_customers(**given) if _matches(c, checked, phone)]
    if not criteria.tags:
        return found
    if len(found) > MAX_TAG_CANDIDATES:
        raise TooManyToCheck(len(found))
    tag_sets = await asyncio.gather(*(data.customer_tags(c.customer_number) for c in found))
    wanted = set(criteria.tags)
    return [c for c, tags in zip(found, tag_sets, strict=True) if wanted <= set(tags or ())]
