"""Input types of the mutations, and their conversion to the write layer's specs.

Only shape is checked here (ids are ASCII digits within Kickserv's range; decimals were bounded by
the ``Decimal`` scalar, ``graph.schema.query.DECIMAL``); what the values mean is checked by
``resolvers.writes`` before any upstream call, with the same input paths.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from graph.schema.billing import InvoiceStatus
from graph.schema.statuses import JobStatus
from resolvers.parsing import NumberError, quoted
from resolvers.parsing import kickserv_id as parse_id
from resolvers.writes.customers import CustomerFields
from resolvers.writes.errors import FieldProblem, InvalidInput, Path
from resolvers.writes.invoicing import InvoiceSpec
from resolvers.writes.jobs import JobChanges, NewJob
from resolvers.writes.line_items import LineItemSpec
from resolvers.writes.payments import PaymentSpec
from resolvers.writes.tasks import TaskSpec
from resolvers.writes.vendors import VendorFields


def kickserv_id(value: strawberry.ID | None, path: Path) -> int | None:
    """A Kickserv id given as a GraphQL ID (ASCII digits, 1 to 2^53 - 1, ``resolvers.parsing``),
    or a BAD_USER_INPUT naming its path."""
    if value is None:
        return None
    text = str(value)
    try:
        return parse_id(text)
    except NumberError as exc:
        problem = f"must be a Kickserv id ({exc}), got {quoted(text)}"
        raise InvalidInput([FieldProblem(path, problem)]) from None


def required_id(value: strawberry.ID, path: Path) -> int:
    found = kickserv_id(value, path)
    assert found is not None
    return found


@strawberry.input(description="A postal address; each part is optional.")
class AddressInput:
    line1: str | None = strawberry.field(default=None, description="Street address.")
    line2: str | None = strawberry.field(default=None, description="Second line (suite, unit).")
    city: str | None = strawberry.field(default=None, description="City.")
    state: str | None = strawberry.field(default=None, description="State or region.")
    zip: str | None = strawberry.field(default=None, description="ZIP or postal code.")


@strawberry.input(description="A customer's fields; on update, only those given change.")
class CustomerInput:
    name: str | None = strawberry.field(default=None, description="Display name.")
    first_name: str | None = strawberry.field(default=None, description="First name.")
    last_name: str | None = strawberry.field(default=None, description="Last name.")
    company_name: str | None = strawberry.field(default=None, description="Company name.")
    email: str | None = strawberry.field(default=None, description="Email address.")
    phone: str | None = strawberry.field(default=None, description="Phone number.")
    mobile: str | None = strawberry.field(default=None, description="Mobile phone number.")
    service_address: AddressInput | None = strawberry.field(
        default=None, description="Where the work is done."
    )
    billing_address: AddressInput | None = strawberry.field(
        default=None, description="Where invoices go."
    )
    special_instructions: str | None = strawberry.field(
        default=None, description="Instructions for technicians."
    )
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Makes this customer a location (child) of that customer."
    )

    def to_spec(self) -> CustomerFields:
        service = self.service_address or AddressInput()
        billing = self.billing_address or AddressInput()
        return CustomerFields(
            name=self.name, first_name=self.first_name, last_name=self.last_name,
            company_name=self.company_name, email_address=self.email, phone_number=self.phone,
            mobile=self.mobile, service_address=service.line1, service_address_2=service.line2,
            service_city=service.city, service_state=service.state,
            service_zip_code=service.zip, billing_address=billing.line1,
            billing_city=billing.city, billing_state=billing.state, billing_zip_code=billing.zip,
            special_instructions=self.special_instructions,
            parent_id=kickserv_id(self.parent_id, ("input", "parentId")),
        )  # fmt: skip


@strawberry.input(description="A note.")
class NoteInput:
    body: str = strawberry.field(description="The text.")
    public: bool = strawberry.field(
        default=False, description="Whether the customer may see it (job notes only)."
    )


@strawberry.input(description="A line item (Kickserv's job charge).")
class LineItemInput:
    description: str | None = strawberry.field(
        default=None, description="What is charged (required unless itemId is given)."
    )
    details: str | None = strawberry.field(default=None, description="More about it.")
    quantity: Decimal | None = strawberry.field(default=None, description="How many (default 1).")
    price_per_unit: Decimal | None = strawberry.field(
        default=None, description="Price of one (default: the item's price)."
    )
    discount: Decimal | None = strawberry.field(
        default=None, description="Amount taken off this line."
    )
    item_id: strawberry.ID | None = strawberry.field(
        default=None, description="The catalogue item charged."
    )
    charge_type_id: strawberry.ID | None = strawberry.field(
        default=None, description="The kind of charge."
    )
    taxable: bool | None = strawberry.field(
        default=None, description="Whether tax applies (default: the item's setting)."
    )

    def to_spec(self, path: Path) -> LineItemSpec:
        return LineItemSpec(
            description=self.description,
            details=self.details,
            quantity=self.quantity,
            price_per_unit=self.price_per_unit,
            discount=self.discount,
            item_id=kickserv_id(self.item_id, (*path, "itemId")),
            job_charge_type_id=kickserv_id(self.charge_type_id, (*path, "chargeTypeId")),
            taxable=self.taxable,
        )


@strawberry.input(description="A visit to schedule.")
class TaskInput:
    starts_at: datetime = strawberry.field(description="Start, with a UTC offset.")
    ends_at: datetime | None = strawberry.field(
        default=None, description="End (default: one hour after the start)."
    )
    description: str | None = strawberry.field(default=None, description="What is to be done.")
    task_type_id: strawberry.ID | None = strawberry.field(
        default=None, description="Kickserv task type."
    )
    assignee_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Ids of the employees assigned."
    )

    def to_spec(self, path: Path) -> TaskSpec:
        assignees = (
            None
            if self.assignee_ids is None
            else tuple(
                required_id(e, (*path, "assigneeIds", i)) for i, e in enumerate(self.assignee_ids)
            )
        )
        return TaskSpec(
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            description=self.description,
            task_type_id=kickserv_id(self.task_type_id, (*path, "taskTypeId")),
            employee_ids=assignees,
        )


@strawberry.input(
    description="A new job with its line items and scheduled visits, created in one mutation."
)
class CreateJobInput:
    customer_number: int = strawberry.field(description="The customer's number.")
    job_type_id: strawberry.ID = strawberry.field(description="The kind of work.")
    name: str | None = strawberry.field(default=None, description="Short title.")
    description: str | None = strawberry.field(default=None, description="What is to be done.")
    po_number: str | None = strawberry.field(default=None, description="Customer's PO number.")
    line_items: list[LineItemInput] = strawberry.field(
        default_factory=list, description="Line items to add."
    )
    tasks: list[TaskInput] = strawberry.field(
        default_factory=list, description="Visits to schedule, with their technicians."
    )

    def to_spec(self) -> NewJob:
        return NewJob(
            customer_number=self.customer_number,
            job_type_id=required_id(self.job_type_id, ("input", "jobTypeId")),
            name=self.name,
            description=self.description,
            po_number=self.po_number,
            line_items=[
                item.to_spec(("input", "lineItems", i)) for i, item in enumerate(self.line_items)
            ],
            tasks=[task.to_spec(("input", "tasks", i)) for i, task in enumerate(self.tasks)],
        )


@strawberry.input(description="Changes to a job; only the fields given change.")
class JobChangesInput:
    name: str | None = strawberry.field(default=None, description="Short title.")
    description: str | None = strawberry.field(default=None, description="What is to be done.")
    status: JobStatus | None = strawberry.field(
        default=None, description="Move the job: e.g. SCHEDULED, IN_PROGRESS, COMPLETE, ON_HOLD."
    )
    job_type_id: strawberry.ID | None = strawberry.field(
        default=None, description="The kind of work."
    )
    po_number: str | None = strawberry.field(default=None, description="Customer's PO number.")
    started_at: datetime | None = strawberry.field(
        default=None,
        description="When work started (Kickserv's `started_on`; by default Kickserv stamps it "
        "when the job moves to IN_PROGRESS). The answer's `startedOn` says what Kickserv kept.",
    )
    completed_at: datetime | None = strawberry.field(
        default=None,
        description="When work was completed (Kickserv's `completed_on`; by default stamped on "
        "COMPLETE). The answer's `completedOn` says what Kickserv kept.",
    )

    def to_spec(self) -> JobChanges:
        return JobChanges(
            name=self.name,
            description=self.description,
            status=self.status.value if self.status is not None else None,
            job_type_id=kickserv_id(self.job_type_id, ("input", "jobTypeId")),
            po_number=self.po_number,
            started_on=self.started_at,
            completed_on=self.completed_at,
        )


@strawberry.input(description="A new opportunity (an estimate).")
class CreateOpportunityInput:
    customer_number: int = strawberry.field(description="The customer's number.")
    job_type_id: strawberry.ID = strawberry.field(description="The kind of work proposed.")
    name: str | None = strawberry.field(default=None, description="Short title.")
    description: str | None = strawberry.field(default=None, description="What is proposed.")

    def to_spec(self) -> NewJob:
        return NewJob(
            customer_number=self.customer_number,
            job_type_id=required_id(self.job_type_id, ("input", "jobTypeId")),
            name=self.name,
            description=self.description,
        )


@strawberry.input(description="The invoice fields of a job.")
class InvoiceInput:
    invoice_date: date | None = strawberry.field(
        default=None, description="Date on the invoice (default: today, UTC)."
    )
    terms: str | None = strawberry.field(default=None, description="e.g. 'Net 30'.")
    notes: str | None = strawberry.field(default=None, description="Notes printed on it.")
    status: InvoiceStatus | None = strawberry.field(
        default=None, description="Force paid or unpaid (default: from the balance)."
    )
    tax_rate: Decimal | None = strawberry.field(
        default=None, description="Sales tax percentage for the job's taxable lines."
    )

    def to_spec(self) -> InvoiceSpec:
        return InvoiceSpec(
            invoice_date=self.invoice_date,
            terms=self.terms,
            notes=self.notes,
            status=self.status.value if self.status is not None else None,
            tax_rate=self.tax_rate,
        )


@strawberry.input(description="A payment received.")
class PaymentInput:
    amount: Decimal = strawberry.field(description="How much (at most 2 decimal places).")
    date: date | None = strawberry.field(default=None, description="When (default: today).")
    payment_type: str | None = strawberry.field(
        default=None, description="How: Check, Cash, Credit Card, ..."
    )
    notes: str | None = strawberry.field(default=None, description="Internal notes.")
    ref_number: str | None = strawberry.field(
        default=None, description="Reference, e.g. a check number (syncs to QuickBooks)."
    )

    def to_spec(self) -> PaymentSpec:
        return PaymentSpec(self.amount, self.date, self.payment_type, self.notes, self.ref_number)


@strawberry.input(description="A vendor's fields; on update, only those given change.")
class VendorInput:
    name: str | None = strawberry.field(default=None, description="Name (unique).")
    active: bool | None = strawberry.field(default=None, description="False to retire it.")

    def to_spec(self) -> VendorFields:
        return VendorFields(self.name, self.active)
