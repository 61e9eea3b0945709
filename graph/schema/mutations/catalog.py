"""Reference-data and customer-money mutations the community reference adds: a job type
(``POST /job_types.json``) and a payment of a customer applied to no job (``POST /payments.json``)."""

from __future__ import annotations

import strawberry

from graph.schema.billing import Payment
from graph.schema.catalog import JobType
from graph.schema.common import GraphInfo
from graph.schema.mutations.inputs import PaymentInput
from graph.schema.mutations.scope import Key, write_scope
from resolvers.writes import job_types, payments
from resolvers.writes.job_types import JobTypeFields


@strawberry.input(description="A new kind of work (Kickserv's service).")
class JobTypeInput:
    name: str = strawberry.field(description="Name (unique).")
    description: str | None = strawberry.field(default=None, description="Description.")
    color: str | None = strawberry.field(
        default=None, description="Calendar colour: 3 or 6 hex digits without '#'."
    )

    def to_spec(self) -> JobTypeFields:
        return JobTypeFields(self.name, self.description, self.color)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="Create a kind of work (`POST /job_types.json`: the reference lists the verb "
        "only; UPSTREAM_UNSUPPORTED where Kickserv lacks it)."
    )
    async def create_job_type(
        self, info: GraphInfo, input: JobTypeInput, idempotency_key: Key = None
    ) -> JobType:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return JobType.from_record(await job_types.create_job_type(scope, spec))

    @strawberry.mutation(
        description="Record a payment of a customer that is applied to no job "
        "(`POST /payments.json`); `recordPayment` records one against a job and its invoice."
    )
    async def record_customer_payment(
        self,
        info: GraphInfo,
        customer_number: int,
        input: PaymentInput,
        idempotency_key: Key = None,
    ) -> Payment:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        recorded = await payments.record_customer_payment(scope, customer_number, spec)
        return Payment.from_record(recorded)
