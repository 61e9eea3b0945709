"""Reference data: kinds of work (job types), kinds of charges, catalogue items, vendors."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from graph.schema.common import GraphInfo, graph_id
from kickserv import Item as ItemRecord
from kickserv import ItemRef
from kickserv import JobChargeType as JobChargeTypeRecord
from kickserv import JobType as JobTypeRecord
from kickserv import Vendor as VendorRecord
from resolvers import relations


@strawberry.federation.type(
    keys=["id"], description="A kind of work (Kickserv calls it a service)."
)
class JobType:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str = strawberry.field(description="Name.")
    description: str | None = strawberry.field(description="Description.")
    color: str | None = strawberry.field(description="Calendar colour (hex without #).")
    active: bool = strawberry.field(description="False once retired.")

    @classmethod
    def from_record(cls, r: JobTypeRecord) -> JobType:
        return cls(
            id=graph_id(r.id),
            name=r.name,
            description=r.description,
            color=r.color,
            active=r.active,
        )

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> JobType:
        record = await relations.one(info.context.data.job_type_by_id, id, "Job type")
        return cls.from_record(record)


async def job_type(info: GraphInfo, job_type_id: int | None) -> JobType | None:
    """A job's or opportunity's kind of work, when it has one."""
    if job_type_id is None:
        return None
    record = await info.context.data.job_type_by_id.get(job_type_id)
    return None if record is None else JobType.from_record(record)


@strawberry.type(description="A kind of charge: hourly, physical product, ...")
class JobChargeType:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str = strawberry.field(description="Name.")
    active: bool = strawberry.field(description="False once retired.")

    @classmethod
    def from_record(cls, r: JobChargeTypeRecord) -> JobChargeType:
        return cls(id=graph_id(r.id), name=r.name, active=r.active)


@strawberry.federation.type(keys=["id"], description="A catalogue item (product or service).")
class Item:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str | None = strawberry.field(description="Name.")
    description: str | None = strawberry.field(description="Description.")
    price: Decimal | None = strawberry.field(description="Unit price.")
    taxable: bool | None = strawberry.field(description="Whether tax applies.")
    _full_name: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, r: ItemRecord | ItemRef) -> Item:
        """From the catalogue, or from a line item's glue (which does not say if it is taxed)."""
        return cls(
            id=graph_id(r.id),
            name=r.name,
            description=r.description,
            price=r.price,
            taxable=r.taxable if isinstance(r, ItemRecord) else None,
            _full_name=r.full_name,
        )

    @strawberry.field(description="Name with its category path.")
    async def full_name(self, info: GraphInfo) -> str | None:
        """A name search (`/items.json?name=`) answers entries without `full_name`: then it is
        read from the whole catalogue (reference data, cached), keyed by the item's id."""
        if self._full_name is not None:
            return self._full_name
        record = await info.context.data.item_by_id.get(int(self.id))
        return None if record is None else record.full_name

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Item:
        record = await relations.one(info.context.data.item_by_id, id, "Item")
        return cls.from_record(record)


@strawberry.federation.type(keys=["id"], description="A vendor the business buys from.")
class Vendor:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    name: str = strawberry.field(description="Name.")
    active: bool = strawberry.field(description="False once retired.")
    created_at: datetime | None = strawberry.field(description="When it was created.")

    @classmethod
    def from_record(cls, r: VendorRecord) -> Vendor:
        return cls(id=graph_id(r.id), name=r.name, active=r.active, created_at=r.created_at)

    @classmethod
    async def resolve_reference(cls, info: GraphInfo, id: strawberry.ID) -> Vendor:
        record = await relations.one(info.context.data.vendor_by_id, id, "Vendor")
        return cls.from_record(record)
