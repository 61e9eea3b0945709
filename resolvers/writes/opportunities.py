"""Opportunities, Kickserv's way: create a job, then PUT its status to ``new``; mark won or lost.

The create is two journaled steps: the job (found again by the marker in its description) and the
PUT that sets the status and takes the marker out. Won and lost are PUTs of a final status, safe to
send twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from kickserv import Job
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.jobs import marked_job_step
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, raw_of, record_step
from resolvers.writes.validation import Checks


@dataclass(frozen=True, slots=True)
class NewOpportunity:
    customer_number: int
    job_type_id: int
    name: str | None = None
    description: str | None = None


async def create_opportunity(scope: WriteScope, spec: NewOpportunity) -> Job:
    checks = Checks()
    checks.positive_id(("input", "customerNumber"), spec.customer_number)
    checks.positive_id(("input", "jobTypeId"), spec.job_type_id)
    name = checks.text(("input", "name"), spec.name)
    description = checks.text(("input", "description"), spec.description)
    checks.done()
    fields = {"job_type_id": spec.job_type_id}
    if name is not None:
        fields["name"] = name  # type: ignore[assignment]
    if description is not None:
        fields["description"] = description  # type: ignore[assignment]

    async def body(saga: Saga) -> Job:
        job = await saga.run(marked_job_step(scope, spec.customer_number, fields, ("input",)))
        unmarked = {"status": "new", "description": description or ""}
        opportunity = await saga.run(
            record_step(
                "status", lambda: scope.ks.jobs.update(job.job_number, **unmarked), Job.from_json
            )
        )
        await invalidation.job_saved(scope, opportunity)
        return opportunity

    payload = {"customer": spec.customer_number, "job": fields}
    return await scope.run("createOpportunity", payload, body, raw_of, Job.from_json)


async def mark_opportunity(scope: WriteScope, number: int, outcome: str) -> Job:
    """``outcome`` is "won" or "lost"."""
    mark = (
        scope.ks.opportunities.mark_as_won
        if outcome == "won"
        else scope.ks.opportunities.mark_as_lost
    )

    async def body(saga: Saga) -> Job:
        opportunity = await saga.run(record_step(outcome, lambda: mark(number), Job.from_json))
        await invalidation.job_saved(scope, opportunity, Change.JOB_GLUE)  # its status
        return opportunity

    operation = "markOpportunityWon" if outcome == "won" else "markOpportunityLost"
    return await scope.run(operation, {"opportunity": number}, body, raw_of, Job.from_json)
