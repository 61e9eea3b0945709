"""The plans of levels whose access path the Kickserv reference fixes (no choice to make), for
``extensions.upstream.plan`` (development) beside the choices ``resolvers.plan`` makes: the path, why
it is the one, and what it cost this request (pages read or found cached).

- The schedule (``Query.schedule``): ``/schedule.json`` documents no date filter, only
  ``employee_number`` and ``task_type_id`` [C: VDG-OTHER], so a dated window is read from the dated
  ``/tasks.json?from=&to=`` (``to`` exclusive) [C: VDG-TASKS]: the pages the window overlaps, and
  the pages read ahead for the next cursors (``resolvers.read_ahead``) or why not. Filtered by task
  type, which ``/tasks.json`` does not document, the dated listing is read whole and filtered here.
- A customer's payments: ``/payments.json?customer_id=`` is confirmed by the reference (the value is
  the customer *number*, "despite the parameter name" [C: VDG-OTHER]), so Kickserv's filtering is
  used as is, unchecked; the sandbox applies it as documented.
- An invoice by id: Kickserv has no invoice lookup (``/invoices/{id}.json`` and ``?invoice_id=`` do
  not work [C: VDG-OTHER]): an index of ``/invoices.json`` read whole (``resolvers.indexes``); calls
  are the pages this request's lookups read, 0 when the index was fresh.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace

from resolvers.plan import LevelPlan
from resolvers.stats import record_plan

__all__ = ["CUSTOMER_PAYMENTS", "INVOICE_INDEX", "SCHEDULE_WHOLE", "SCHEDULE_WINDOW", "FixedLevels"]


def _fixed(level: str, path: str, listing: str, rounds: int, reason: str) -> LevelPlan:
    """A fixed level's plan as it starts: no parents or calls yet, no alternative path."""
    return LevelPlan(
        level=level,
        path=path,
        listing=listing,
        parents=0,
        calls=0,
        rounds=rounds,
        alternative=None,
        reason=reason,
    )


# Levels whose access path the reference fixes (no choice to make), as their plans start: shown in
# extensions.upstream.plan beside the choices of resolvers.plan, with the calls each request made.
SCHEDULE_WINDOW = _fixed(
    "Query.schedule",
    "window",
    "/tasks.json?from=&to=",
    1,
    "/schedule.json documents no date filter (only employee_number and task_type_id), so the "
    "dated /tasks.json (from, to exclusive) is read: the pages of this window",
)
SCHEDULE_WHOLE = _fixed(
    "Query.schedule",
    "whole",
    "/tasks.json?from=&to=",
    1,
    "/schedule.json documents no date filter and /tasks.json no task_type_id: the dated "
    "/tasks.json read whole (page 1, then the rest together) and filtered by task type here",
)
CUSTOMER_PAYMENTS = _fixed(
    "payments of a customer",
    "filtered",
    "/payments.json?customer_id=",
    1,
    "the reference confirms customer_id on /payments.json (its value the customer number), so "
    "Kickserv's filtering is used as is: the pages of this window",
)
INVOICE_INDEX = _fixed(
    "Invoice by id",
    "index",
    "/invoices.json",
    0,
    "Kickserv has no invoice lookup (/invoices/{id}.json and ?invoice_id= do not work): every "
    "invoice of /invoices.json (page 1, then the rest a few at a time) kept in an index; calls: "
    "pages this request's lookups read (0: the index was fresh)",
)


class FixedLevels:
    """One request's plans of the fixed levels, each recorded once (``record_plan``)."""

    def __init__(self) -> None:
        self._plans: dict[str, LevelPlan] = {}
        self._planned: set[tuple[str, Hashable]] = set()  # the reads they counted

    def plan(
        self, fixed: LevelPlan, read: Hashable, parents: int, calls: int, note: str
    ) -> LevelPlan:
        """This request's plan of a level whose path is fixed by the reference (one per level;
        later reads of it add their parents and calls, a read made twice once: a listing the
        root started early and its field awaits again, ``resolvers.prefetch``)."""
        plan = self._plans.get(fixed.level)
        if plan is None:
            plan = self._plans[fixed.level] = replace(fixed, parents=0, calls=0)
            record_plan(plan)
        if (fixed.level, read) in self._planned:
            return plan
        self._planned.add((fixed.level, read))
        plan.parents += parents
        plan.calls += calls
        if note and note not in plan.reason:
            plan.reason += f"; {note}"
        return plan
