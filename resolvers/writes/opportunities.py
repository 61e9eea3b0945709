"""Opportunities, Kickserv's way: create a job, then PUT its status to ``new``; mark won or lost.

The create is two journaled steps: the job (found again by the marker in its description) and the
PUT that sets the status and takes the marker out. Won and lost are PUTs of a final status, safe to
send twice.
"""

from __future__ import annotations

from kickserv import Job
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.jobs import NewJob, check_new_job, job_fields, marked_job_step
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, raw_of, record_step


async def create_opportunity(scope: WriteScope, spec: NewJob) -> Job:
    """``spec`` is a new job's (an opportunity has no line items or tasks at creation)."""
    cleaned = check_new_job(spec)
    fields = job_fields(cleaned)

    async def body(saga: Saga) -> Job:
        job = await saga.run(marked_job_step(scope, cleaned.customer_number, fields, ("input",)))
        unmarked = {"status": "new", "description": cleaned.description or ""}
        opportunity = await saga.run(
            record_step(
                "status", lambda: scope.ks.jobs.update(job.job_number, **unmarked), Job.from_json
            )
        )
        await invalidation.job_saved(scope, opportunity)
        return opportunity

    payload = {"customer": cleaned.customer_number, "job": fields}
    return await scope.run("createOpportunity", payload, body, raw_of, Job.from_json)


async def mark_opportunity(scope: WriteScope, number: int, outcome: str) -> Job:
    """``outcome`` is "won" or "lost"."""
    mark = (
        scope.ks.opportunities.mark_as_won
        if outcome == "won"
        else scope.ks.opportunities.mark_as_lost
    )

    step = record_step(outcome, lambda: mark(number), Job.from_json)
    operation = "markOpportunityWon" if outcome == "won" else "markOpportunityLost"
    return await scope.run_step(
        operation,
        {"opportunity": number},
        step,
        lambda opportunity: invalidation.job_saved(scope, opportunity, Change.JOB_GLUE),  # status
    )
