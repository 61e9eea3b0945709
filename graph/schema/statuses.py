"""The words Kickserv uses for where a job or an opportunity is in its life, as enums: a word the
graph does not know is refused (BAD_USER_INPUT), never sent on to match nothing."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum(description="Where a job is in its life.")
class JobStatus(Enum):
    UNSCHEDULED = "unscheduled"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETE = "complete"
    CANCELED = "canceled"


@strawberry.enum(description="Where an opportunity is in its life.")
class OpportunityStatus(Enum):
    NEW = "new"
    SENT = "sent"
    VIEWED = "viewed"
    WON = "won"
    LOST = "lost"
