"""Trust, then verify: listing filters the Kickserv reference does not confirm.

A filter the reference marks inferred or unknown (``/jobs.json?status=``: only ``job_type_id``,
``scheduled``, ``page`` and ``per_page`` are documented there) is sent as a hint, and every record
Kickserv answers is checked against it. What Kickserv did with it is a verdict, per tenant and per
endpoint and parameter, kept in the tenant (this process) and in the state store's records (every
process, for ``VERDICT_TTL``; then it is verified again):

- **unknown** (no verdict yet): the hinted window is read and checked. A record that does not match
  means Kickserv ignored the filter: *ignored*. When all match, one small page of the listing without
  the filter (cached like any page) says whether the filter removed anything: a smaller total means
  *honoured*. Equal totals decide nothing (every record may match): the answer is then what the
  window showed when it showed every record, else the listing filtered here.
- **honoured**: the hinted window is answered, still checked; one record that does not match turns
  the verdict to *ignored* and the answer is filtered here instead.
- **ignored**: the listing without the filter is read whole (its pages shared with unfiltered reads)
  and filtered here; ``offset``/``first`` and the total count then apply to the matching records,
  since Kickserv's ``total_entries`` counts the unfiltered listing.

So the graph never answers a filter wrongly: at worst it pays for reading the listing whole, and says
so in ``extensions.upstream.verifiedFilters`` (``{"filter": "jobs.json?status", "verdict": ...,
"filteredLocally": true}``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from kickserv import Paginator
from resolvers.cache import CacheKey, Entry
from resolvers.resources import Listing
from resolvers.state.base import StateUnavailable
from resolvers.stats import record_verified_filter
from resolvers.tenant import Tenant, Window

logger = logging.getLogger("resolvers.verify")

T = TypeVar("T")
P = TypeVar("P", bound=Hashable)

Verdict = Literal["unknown", "honoured", "ignored"]
VERDICT_TTL = 24 * 3600.0
RESOURCE = "filter verdict"  # the resource part of the verdicts' keys in the state store


@dataclass(frozen=True, slots=True)
class Unconfirmed(Generic[T]):
    """One filter the reference does not confirm, as sent: where (``endpoint``, ``param``) and how
    to tell whether a record matches it."""

    endpoint: str  # "jobs.json"
    param: str  # "status"
    matches: Callable[[T], bool]

    @property
    def name(self) -> str:
        return f"{self.endpoint}?{self.param}"


async def verdict_of(tenant: Tenant, name: str) -> Verdict:
    """What Kickserv is known to do with the filter ``name`` ("jobs.json?status") for this tenant."""
    known = tenant.filter_verdicts.get(name)
    if known == "honoured" or known == "ignored":
        return "honoured" if known == "honoured" else "ignored"
    try:
        entry = await tenant.cache.records.get(_key(tenant, name))
    except StateUnavailable:
        return "unknown"
    if entry is not None and entry.value in ("honoured", "ignored"):
        value: Verdict = "honoured" if entry.value == "honoured" else "ignored"
        tenant.filter_verdicts[name] = value
        return value
    return "unknown"


async def remember(tenant: Tenant, name: str, verdict: Verdict) -> None:
    """Keep the verdict here and in the state store (best effort: memory still has it)."""
    if tenant.filter_verdicts.get(name) == verdict:
        return
    tenant.filter_verdicts[name] = verdict
    logger.info("Kickserv %s the filter %s for %s", verdict, name, tenant.account)
    until = tenant.cache.clock() + VERDICT_TTL
    with contextlib.suppress(StateUnavailable):
        await tenant.cache.records.set(_key(tenant, name), Entry(verdict, until, until))


def _key(tenant: Tenant, name: str) -> CacheKey:
    return CacheKey(tenant.key, RESOURCE, name)


async def verified_window(
    tenant: Tenant,
    resource: Listing[T, P],
    check: Unconfirmed[T],
    hinted: tuple[Paginator[T], P],
    plain: tuple[Paginator[T], P],
    offset: int,
    first: int,
) -> Window[T]:
    """Items ``[offset, offset + first)`` of the listing filtered by ``check``: ``hinted`` is the
    listing read with the filter sent (and its cache params), ``plain`` the listing without it."""
    verdict = await verdict_of(tenant, check.name)
    if verdict != "ignored":
        window = await tenant.window(resource, hinted[0], hinted[1], offset, first)
        if all(check.matches(item) for item in window.items):
            if verdict == "honoured":
                record_verified_filter(check.name, verdict, locally=False)
                return window
            probe = await tenant.window(resource, plain[0], plain[1], 0, 1)
            if window.total < probe.total:
                await remember(tenant, check.name, "honoured")
                record_verified_filter(check.name, "honoured", locally=False)
                return window
            if offset == 0 and len(window.items) >= window.total:
                record_verified_filter(check.name, "unknown", locally=False)
                return window  # every record was seen, and every one matches
        else:
            await remember(tenant, check.name, "ignored")
    return await _filtered_here(tenant, resource, check, plain, offset, first)


async def _filtered_here(
    tenant: Tenant,
    resource: Listing[T, P],
    check: Unconfirmed[T],
    plain: tuple[Paginator[T], P],
    offset: int,
    first: int,
) -> Window[T]:
    whole = await tenant.everything(resource, plain[0], plain[1])
    matching = tuple(item for item in whole.items if check.matches(item))
    if len(matching) < whole.total:
        await remember(tenant, check.name, "ignored")  # equal totals, yet some records do not match
    verdict = tenant.filter_verdicts.get(check.name, "unknown")
    record_verified_filter(check.name, verdict, locally=True)
    # (the envelope's extras, such as totals, describe the unfiltered listing: none are kept)
    return Window(matching[offset : offset + first], offset, len(matching), {}, whole.fetched)
