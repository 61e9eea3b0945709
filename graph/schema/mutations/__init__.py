"""The ``Mutation`` root: every Kickserv write as a mutation that happens once, whatever the
retries (see ``resolvers.writes``). One module per domain, merged here."""

from __future__ import annotations

import strawberry

from graph.schema.mutations.billing import BillingMutations
from graph.schema.mutations.catalog import CatalogMutations
from graph.schema.mutations.customers import CustomerMutations
from graph.schema.mutations.jobs import JobMutations
from graph.schema.mutations.schedule import ScheduleMutations
from graph.schema.webhooks import WebhookMutations


@strawberry.type(description="Every Kickserv write, each happening once whatever the retries.")
class Mutation(
    CustomerMutations,
    JobMutations,
    ScheduleMutations,
    BillingMutations,
    CatalogMutations,
    WebhookMutations,
):
    """The domains' mutations as one root type."""


__all__ = ["Mutation"]
