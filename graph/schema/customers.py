"""Customers and the locations where work is done (a customer's service address or a child's)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, cast

import strawberry

from graph.schema import billing, jobs, people
from graph.schema.common import UPSTREAM, Address, GraphInfo, graph_id, then
from graph.schema.connections import Connection, connection, window_args
from graph.schema.contacts import PrimaryContact
from graph.schema.selection import asked
from graph.schema.statuses import JobStatus
from kickserv import Address as AddressRecord
from kickserv import Customer as CustomerRecord
from kickserv import CustomerRef
from resolvers import relations

if TYPE_CHECKING:
    from graph.schema.billing import Invoice, Payment
    from graph.schema.jobs import Job, Opportunity
    from graph.schema.people import Note

JobT = Annotated["Job", strawberry.lazy("graph.schema.jobs")]
OpportunityT = Annotated["Opportunity", strawberry.lazy("graph.schema.jobs")]
InvoiceT = Annotated["Invoice", strawberry.lazy("graph.schema.billing")]
PaymentT = Annotated["Payment", strawberry.lazy("graph.schema.billing")]
NoteT = Annotated["Note", strawberry.lazy("graph.schema.people")]


def _service_address(self: Customer, info: GraphInfo) -> Address:
    source = self._record if self._record is not None else self._ref
    assert source is not None
    return Address.from_record(source.service_address)


def _billing_address(self: Customer, info: GraphInfo) -> Address:
    # Glue has no billing address: an empty one, as it always was.
    return Address.from_record(
        AddressRecord() if self._record is None else self._record.billing_address
    )


@strawberry.federation.type(
    keys=["id", "number"],
    description="A Kickserv customer. Child customers are the extra service locations of a parent.",
)
class Customer:
    id: strawberry.ID = strawberry.field(description="Global Kickserv id.")
    number: int = strawberry.field(description="Customer number (what Kickserv URLs use).")
    name: str = strawberry.field(description="Display name.")
    first_name: str | None = strawberry.field(description="First name of a person customer.")
    last_name: str | None = strawberry.field(description="Last name of a person customer.")
    company_name: str | None = strawberry.field(description="Company name of a business customer.")
    email: str | None = strawberry.field(description="Email address.")
    phone: str | None = strawberry.field(description="Phone number.")
    mobile: str | None = strawberry.field(description="Mobile phone number.")
    # Made when asked (from the record, or the glue), not with every customer.
    service_address: Address = strawberry.field(
        resolver=_service_address, description="Where the work is done."
    )
    billing_address: Address = strawberry.field(
        resolver=_billing_address, description="Where invoices go."
    )
    balance: Decimal | None = strawberry.field(description="What the customer owes now.")
    is_active: bool = strawberry.field(description="False once the customer is deactivated.")
    created_at: datetime | None = strawberry.field(description="When the customer was created.")
    updated_at: datetime | None = strawberry.field(description="When the customer last changed.")
    _record: strawberry.Private[CustomerRecord | None]
    _ref: strawberry.Private[CustomerRef | None]

    @classmethod
    def from_record(cls, r: CustomerRecord) -> Customer:
        return cls(
            id=graph_id(r.id),
            number=r.customer_number,
            name=r.name,
            first_name=r.first_name,
            last_name=r.last_name,
            company_name=r.company_name,
            email=r.email_address,
            phone=r.phone_number,
            mobile=r.mobile,
            balance=r.balance,
            is_active=r.is_active,
            created_at=r.created_at,
            updated_at=r.updated_at,
            _record=r,
            _ref=None,
        )

    @classmethod
    def from_ref(cls, ref: CustomerRef) -> Customer:
        """A partial customer from glue: ``resolvers.relations`` hands one out only when the query
        asks for nothing the glue lacks."""
        return cls(
            id=graph_id(ref.id),
            number=ref.customer_number or 0,
            name=ref.name or "",
            first_name=None,
            last_name=None,
            company_name=None,
            email=None,
            phone=None,
            mobile=None,
            balance=None,
            is_active=True,
            created_at=None,
            updated_at=None,
            _record=None,
            _ref=ref,
        )

    @classmethod
    def of(cls, found: CustomerRecord | CustomerRef | None) -> Customer | None:
        """The type for what ``resolvers.relations`` found: a record, its glue, or nothing."""
        if found is None:
            return None
        return cls.from_ref(found) if isinstance(found, CustomerRef) else cls.from_record(found)

    async def _full(self, info: GraphInfo) -> CustomerRecord:
        if self._record is not None:
            return self._record
        assert self._ref is not None
        return await relations.customer_record(info.context.data, self._ref)

    @classmethod
    async def resolve_reference(
        cls, info: GraphInfo, id: strawberry.ID | None = None, number: int | None = None
    ) -> Customer:
        data = info.context.data
        record = await relations.by_number_or_id(
            data.customer_by_number,
            data.customer_by_id,
            number,
            id,
            "Customer",
        )
        return cls.from_record(record)

    @strawberry.field(description="The parent customer, when this one is a child (a location).")
    async def parent(self, info: GraphInfo) -> Customer | None:
        found = await relations.parent(info.context.data, await self._full(info))
        return Customer.of(found)

    @strawberry.field(description="Child customers: the extra service locations of this customer.")
    async def children(self, info: GraphInfo) -> list[Customer] | None:
        found = await relations.children(info.context.data, await self._full(info), asked(info))
        return [Customer.of(c) for c in found]  # type: ignore[misc]

    @strawberry.field(
        description="Where work is done: this customer's own service address, then each child customer.",
        metadata=UPSTREAM,
    )
    def locations(self, info: GraphInfo) -> list[Location] | None:
        # Sync while the record and the children's glue answer (no coroutine per customer).
        record = self._record
        if record is None:
            return cast("list[Location]", self._located(info))  # graphql-core awaits it
        found = relations.child_locations(info.context.data, record, asked(info))
        return then(found, lambda children: Location.all_of(record, children))

    async def _located(self, info: GraphInfo) -> list[Location]:
        record = await self._full(info)
        found = relations.child_locations(info.context.data, record, asked(info))
        return Location.all_of(record, await relations.settled(found))

    @strawberry.field(description="This customer's jobs, newest first.")
    async def jobs(
        self,
        info: GraphInfo,
        first: int = 25,
        after: str | None = None,
        status: JobStatus | None = None,
    ) -> Connection[JobT] | None:
        offset, first = window_args(first, after)
        wanted = None if status is None else status.value
        window = await info.context.data.customer_jobs(self.number, offset, first, wanted)
        return connection(window, jobs.Job.from_record)

    @strawberry.field(description="This customer's opportunities (estimates), newest first.")
    async def opportunities(self, info: GraphInfo) -> list[OpportunityT] | None:
        records = await info.context.data.opportunities_of_customer(int(self.id))
        return [jobs.Opportunity.from_record(r) for r in records]

    @strawberry.field(description="This customer's invoices, newest first.")
    async def invoices(self, info: GraphInfo) -> list[InvoiceT] | None:
        found = await relations.customer_invoices(info.context.data, self.number)
        return [billing.Invoice.from_job(j) for j in found]

    @strawberry.field(description="Payments this customer made.")
    async def payments(
        self, info: GraphInfo, first: int = 25, after: str | None = None
    ) -> Connection[PaymentT] | None:
        offset, first = window_args(first, after)
        window = await info.context.data.payments(self.number, None, None, offset, first)
        return connection(window, billing.Payment.from_record)

    @strawberry.field(
        description="Tags on this customer (`/customers/{n}/tags.json`; null when Kickserv has "
        "no tag set for it)."
    )
    async def tags(self, info: GraphInfo) -> list[str] | None:
        number = self.number or (await self._full(info)).customer_number  # glue may lack it
        found = await info.context.data.customer_tags(number)
        return None if found is None else list(found)

    @strawberry.field(
        description="Who to talk to: the customer's contact person (Kickserv's `contact`), with "
        "the customer's email and phone. Null when the customer names no contact."
    )
    async def primary_contact(self, info: GraphInfo) -> PrimaryContact | None:
        return PrimaryContact.of(await self._full(info))

    @strawberry.field(
        description="When this customer's last job was completed (Kickserv keeps it)."
    )
    async def last_job_completed_at(self, info: GraphInfo) -> datetime | None:
        return (await self._full(info)).last_job_completed_at

    @strawberry.field(description="Notes on this customer (never shown to the customer).")
    async def notes(self, info: GraphInfo) -> list[NoteT] | None:
        notes = await info.context.data.customer_notes(self.number)
        return [people.Note.from_record(n) for n in notes]


@strawberry.type(
    description="A place where work is done: a customer's service address, or a child customer's."
)
class Location:
    id: strawberry.ID = strawberry.field(
        description="Id of the customer whose service address this is."
    )
    name: str = strawberry.field(description="The location's name (its customer's name).")
    is_primary: bool = strawberry.field(
        description="True for the customer's own service address, false for a child customer."
    )
    address: Address = strawberry.field(description="The service address.")
    _site: strawberry.Private[int | None]  # customer number whose jobs happen here
    _site_id: strawberry.Private[int]
    _owner: strawberry.Private[CustomerRecord | None]

    @classmethod
    def at(
        cls, site: CustomerRecord | CustomerRef, *, primary: bool, owner: CustomerRecord | None
    ) -> Location:
        """The service address of ``site`` (a record, or glue), owned by ``owner`` if known."""
        return cls(
            id=graph_id(site.id),
            name=site.name or "",
            is_primary=primary,
            address=Address.from_record(site.service_address),
            _site=site.customer_number,
            _site_id=site.id,
            _owner=owner,
        )

    @classmethod
    def primary(cls, customer: CustomerRecord) -> Location:
        return cls.at(customer, primary=True, owner=customer)

    @classmethod
    def child(cls, child: CustomerRecord | CustomerRef, owner: CustomerRecord | None) -> Location:
        """A child customer's location (from its record, or from the parent's glue of it)."""
        return cls.at(child, primary=False, owner=owner)

    @classmethod
    def all_of(
        cls, customer: CustomerRecord, children: list[CustomerRecord | CustomerRef]
    ) -> list[Location]:
        """A customer's own location, then each child customer's."""
        return [cls.primary(customer)] + [cls.child(c, customer) for c in children]

    @classmethod
    def of_site(cls, found: CustomerRecord | CustomerRef | None) -> Location | None:
        """The location of a task or job from the customer ``resolvers.relations`` found."""
        if found is None:
            return None
        if isinstance(found, CustomerRef):  # glue: the parent is unknown until asked
            return cls.at(found, primary=True, owner=None)
        return cls.primary(found) if found.parent_id is None else cls.child(found, None)

    @strawberry.field(description="The customer this location belongs to (the parent of a child).")
    async def customer(self, info: GraphInfo) -> Customer | None:
        if self._owner is not None:
            return Customer.from_record(self._owner)
        return Customer.from_record(
            await relations.location_owner(info.context.data, self._site_id)
        )

    @strawberry.field(description="Jobs done at this location, newest first.")
    async def jobs(
        self, info: GraphInfo, first: int = 25, after: str | None = None
    ) -> Connection[JobT] | None:
        offset, first = window_args(first, after)
        data = info.context.data
        number = await relations.site_number(data, self._site, self._site_id)
        window = await data.customer_jobs(number, offset, first, None)
        return connection(window, jobs.Job.from_record)
