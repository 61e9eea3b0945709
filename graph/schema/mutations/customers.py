"""Customer mutations: create, update, delete, notes, tags."""

from __future__ import annotations

import strawberry

from graph.schema.common import GraphInfo
from graph.schema.customers import Customer
from graph.schema.mutations.inputs import CustomerInput, NoteInput
from graph.schema.mutations.scope import Key, write_scope
from graph.schema.people import Note
from resolvers.writes import customers, tags


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(description="Create a customer (Kickserv assigns its number).")
    async def create_customer(
        self, info: GraphInfo, input: CustomerInput, idempotency_key: Key = None
    ) -> Customer:
        spec = input.to_spec()
        record = await customers.create_customer(write_scope(info, idempotency_key), spec)
        return Customer.from_record(record)

    @strawberry.mutation(description="Change a customer's fields; only those given change.")
    async def update_customer(
        self, info: GraphInfo, number: int, input: CustomerInput, idempotency_key: Key = None
    ) -> Customer:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return Customer.from_record(await customers.update_customer(scope, number, spec))

    @strawberry.mutation(
        description="Delete a customer with its jobs; answers the customer as it was."
    )
    async def delete_customer(
        self, info: GraphInfo, number: int, idempotency_key: Key = None
    ) -> Customer:
        scope = write_scope(info, idempotency_key)
        return Customer.from_record(await customers.delete_customer(scope, number))

    @strawberry.mutation(description="Add a note to a customer (never shown to the customer).")
    async def add_customer_note(
        self, info: GraphInfo, customer_number: int, input: NoteInput, idempotency_key: Key = None
    ) -> Note:
        scope = write_scope(info, idempotency_key)
        note = await customers.add_customer_note(scope, customer_number, input.body, input.public)
        return Note.from_record(note)

    @strawberry.mutation(
        description="Add and remove tags of a customer, keeping the others; answers its tags."
    )
    async def tag_customer(
        self,
        info: GraphInfo,
        customer_number: int,
        add: list[str] | None = None,
        remove: list[str] | None = None,
        idempotency_key: Key = None,
    ) -> list[str]:
        scope = write_scope(info, idempotency_key)
        return await tags.tag_customer(scope, customer_number, add or [], remove or [])
