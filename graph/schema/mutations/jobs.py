"""Job mutations: the multi-step create, changes and status moves, line items, notes, tags."""

from __future__ import annotations

import strawberry

from graph.schema.common import GraphInfo
from graph.schema.jobs import Job
from graph.schema.mutations.inputs import (
    CreateJobInput,
    JobChangesInput,
    LineItemInput,
    NoteInput,
    required_id,
)
from graph.schema.mutations.scope import Key, write_scope
from graph.schema.people import Note
from resolvers.writes import jobs, line_items, tags


@strawberry.type
class JobMutations:
    @strawberry.mutation(
        description="Create a job with its line items and scheduled visits; answers the finished "
        "job. A retry with the same key continues where a failure stopped it."
    )
    async def create_job(
        self, info: GraphInfo, input: CreateJobInput, idempotency_key: Key = None
    ) -> Job:
        spec = input.to_spec()
        return Job.from_record(await jobs.create_job(write_scope(info, idempotency_key), spec))

    @strawberry.mutation(description="Change a job's fields or move its status.")
    async def update_job(
        self, info: GraphInfo, number: int, input: JobChangesInput, idempotency_key: Key = None
    ) -> Job:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return Job.from_record(await jobs.update_job(scope, number, spec))

    @strawberry.mutation(description="Add line items to a job; answers the job with new totals.")
    async def add_line_items(
        self,
        info: GraphInfo,
        job_number: int,
        line_items: list[LineItemInput],
        idempotency_key: Key = None,
    ) -> Job:
        specs = [item.to_spec(("lineItems", i)) for i, item in enumerate(line_items)]
        scope = write_scope(info, idempotency_key)
        return Job.from_record(await line_items_of(scope, job_number, specs))

    @strawberry.mutation(description="Change one line item; answers the job with new totals.")
    async def update_line_item(
        self,
        info: GraphInfo,
        job_number: int,
        line_item_id: strawberry.ID,
        input: LineItemInput,
        idempotency_key: Key = None,
    ) -> Job:
        charge_id = required_id(line_item_id, ("lineItemId",))
        spec = input.to_spec(("input",))
        scope = write_scope(info, idempotency_key)
        job = await line_items.update_line_item(scope, job_number, charge_id, spec)
        return Job.from_record(job)

    @strawberry.mutation(description="Add a note to a job.")
    async def add_job_note(
        self, info: GraphInfo, job_number: int, input: NoteInput, idempotency_key: Key = None
    ) -> Note:
        scope = write_scope(info, idempotency_key)
        note = await jobs.add_job_note(scope, job_number, input.body, input.public)
        return Note.from_record(note)

    @strawberry.mutation(description="Add and remove tags of a job, keeping the others.")
    async def tag_job(
        self,
        info: GraphInfo,
        job_number: int,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        idempotency_key: Key = None,
    ) -> Job:
        scope = write_scope(info, idempotency_key)
        return Job.from_record(await tags.tag_job(scope, job_number, add or [], remove or []))


line_items_of = line_items.add_line_items
