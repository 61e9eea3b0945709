"""Scheduling and sales mutations: tasks (visits) and opportunities."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graph.schema.common import GraphInfo
from graph.schema.jobs import Opportunity
from graph.schema.mutations.inputs import CreateOpportunityInput, TaskInput, required_id
from graph.schema.mutations.scope import Key, write_scope
from graph.schema.schedule import Task
from resolvers.writes import opportunities, tasks


@strawberry.type
class ScheduleMutations:
    @strawberry.mutation(description="Schedule a visit on a job, with its technicians.")
    async def schedule_task(
        self, info: GraphInfo, job_number: int, input: TaskInput, idempotency_key: Key = None
    ) -> Task:
        spec = input.to_spec(("input",))
        scope = write_scope(info, idempotency_key)
        return Task.from_record(await tasks.schedule_task(scope, job_number, spec))

    @strawberry.mutation(description="Move a visit; without `endsAt` it keeps its length.")
    async def reschedule_task(
        self,
        info: GraphInfo,
        id: strawberry.ID,
        starts_at: datetime,
        ends_at: datetime | None = None,
        idempotency_key: Key = None,
    ) -> Task:
        task_id = required_id(id, ("id",))
        scope = write_scope(info, idempotency_key)
        return Task.from_record(await tasks.reschedule_task(scope, task_id, starts_at, ends_at))

    @strawberry.mutation(description="Replace the technicians assigned to a visit.")
    async def reassign_task(
        self,
        info: GraphInfo,
        id: strawberry.ID,
        assignee_ids: list[strawberry.ID],
        idempotency_key: Key = None,
    ) -> Task:
        task_id = required_id(id, ("id",))
        employees = tuple(required_id(e, ("assigneeIds", i)) for i, e in enumerate(assignee_ids))
        scope = write_scope(info, idempotency_key)
        return Task.from_record(await tasks.reassign_task(scope, task_id, employees))

    @strawberry.mutation(description="Delete a visit; answers it as it was.")
    async def delete_task(
        self, info: GraphInfo, id: strawberry.ID, idempotency_key: Key = None
    ) -> Task:
        task_id = required_id(id, ("id",))
        scope = write_scope(info, idempotency_key)
        return Task.from_record(await tasks.delete_task(scope, task_id))

    @strawberry.mutation(
        description="Create an opportunity, Kickserv's way: a job whose status is then set to new."
    )
    async def create_opportunity(
        self, info: GraphInfo, input: CreateOpportunityInput, idempotency_key: Key = None
    ) -> Opportunity:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return Opportunity.from_record(await opportunities.create_opportunity(scope, spec))

    @strawberry.mutation(description="Mark an opportunity won.")
    async def mark_opportunity_won(
        self, info: GraphInfo, number: int, idempotency_key: Key = None
    ) -> Opportunity:
        return await _mark_opportunity(info, number, idempotency_key, "won")

    @strawberry.mutation(description="Mark an opportunity lost.")
    async def mark_opportunity_lost(
        self, info: GraphInfo, number: int, idempotency_key: Key = None
    ) -> Opportunity:
        return await _mark_opportunity(info, number, idempotency_key, "lost")


async def _mark_opportunity(
    info: GraphInfo, number: int, idempotency_key: str | None, outcome: str
) -> Opportunity:
    """The one write behind markOpportunityWon and markOpportunityLost (``outcome``: won, lost)."""
    scope = write_scope(info, idempotency_key)
    return Opportunity.from_record(await opportunities.mark_opportunity(scope, number, outcome))
