"""Root lookups of one record that Kickserv answers by a URL of its own: an opportunity by number,
a vendor by id. Merged into ``Query`` (``graph.schema.query``)."""

from __future__ import annotations

import strawberry

from graph.schema.catalog import Vendor
from graph.schema.common import GraphInfo
from graph.schema.errors import BadUserInput, NotFound
from graph.schema.jobs import Opportunity
from resolvers.parsing import NumberError, kickserv_id, quoted
from resolvers.relations import one


@strawberry.type
class LookupQuery:
    @strawberry.field(
        description="One opportunity (estimate), by number. Read through `/jobs/{n}.json`, which "
        "Kickserv answers for opportunities too; a job that is not an opportunity is NOT_FOUND."
    )
    async def opportunity(self, info: GraphInfo, number: int) -> Opportunity | None:
        record = await one(info.context.data.job_by_number, number, "Opportunity")
        if not record.is_opportunity:
            raise NotFound(f"Job {number} is not an opportunity (its status is {record.status}).")
        return Opportunity.from_record(record)

    @strawberry.field(description="One vendor, by global id (vendors have no number).")
    async def vendor(self, info: GraphInfo, id: strawberry.ID) -> Vendor | None:
        record = await one(info.context.data.vendor_by_id, int_id(id, "id"), "Vendor")
        return Vendor.from_record(record)


def int_id(value: strawberry.ID, argument: str) -> int:
    """A Kickserv id argument (ASCII digits, 1 to 2^53 - 1), or BAD_USER_INPUT naming it."""
    try:
        return kickserv_id(str(value))
    except NumberError as exc:
        raise BadUserInput(
            f"`{argument}` must be a Kickserv id ({exc}), got {quoted(str(value))}.",
            extensions={"argument": argument},
        ) from None
