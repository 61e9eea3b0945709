"""The ``Mutation`` root: every Kickserv write as a mutation that happens once, whatever the
retries (see ``resolvers.writes``). One module per domain, merged here."""

from __future__ import annotations

from strawberry.tools import merge_types

from graph.schema.mutations import scope
from graph.schema.mutations.billing import BillingMutations
from graph.schema.mutations.customers import CustomerMutations
from graph.schema.mutations.jobs import JobMutations
from graph.schema.mutations.schedule import ScheduleMutations

scope.install()

Mutation = merge_types(
    "Mutation",
    (CustomerMutations, JobMutations, ScheduleMutations, BillingMutations),
)
# merge_types gives no way to describe the type; every type of the schema has a description.
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Every Kickserv write, each happening once whatever the retries."
)

__all__ = ["Mutation"]
