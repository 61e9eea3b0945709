"""Money mutations: invoicing a job, recording a payment, vendors."""

from __future__ import annotations

import strawberry

from graph.schema.billing import Invoice, Payment
from graph.schema.catalog import Vendor
from graph.schema.common import GraphInfo
from graph.schema.mutations.inputs import InvoiceInput, PaymentInput, VendorInput, required_id
from graph.schema.mutations.scope import Key, write_scope
from resolvers.writes import invoicing, payments, vendors


@strawberry.type
class BillingMutations:
    @strawberry.mutation(
        description="Turn a job into an invoice (Kickserv keeps invoices as jobs); its totals are "
        "checked to the cent against an exact sum of its line items (TOTALS_MISMATCH if not)."
    )
    async def invoice_job(
        self, info: GraphInfo, job_number: int, input: InvoiceInput, idempotency_key: Key = None
    ) -> Invoice:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return Invoice.from_job(await invoicing.invoice_job(scope, job_number, spec))

    @strawberry.mutation(
        description="Record a payment against a job (and its invoice); balances update."
    )
    async def record_payment(
        self, info: GraphInfo, job_number: int, input: PaymentInput, idempotency_key: Key = None
    ) -> Payment:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        recorded = await payments.record_payment(scope, job_number, spec)
        return Payment.from_record(recorded.payment, job=recorded.job)

    @strawberry.mutation(description="Create a vendor.")
    async def create_vendor(
        self, info: GraphInfo, input: VendorInput, idempotency_key: Key = None
    ) -> Vendor:
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return Vendor.from_record(await vendors.create_vendor(scope, spec))

    @strawberry.mutation(description="Change a vendor's name or retire it.")
    async def update_vendor(
        self, info: GraphInfo, id: strawberry.ID, input: VendorInput, idempotency_key: Key = None
    ) -> Vendor:
        vendor_id = required_id(id, ("id",))
        spec = input.to_spec()
        scope = write_scope(info, idempotency_key)
        return Vendor.from_record(await vendors.update_vendor(scope, vendor_id, spec))

    @strawberry.mutation(
        description="Delete a vendor; answers it as it was. (`updateVendor(input: {active: "
        "false})` retires one and keeps its history.)"
    )
    async def delete_vendor(
        self, info: GraphInfo, id: strawberry.ID, idempotency_key: Key = None
    ) -> Vendor:
        vendor_id = required_id(id, ("id",))
        scope = write_scope(info, idempotency_key)
        return Vendor.from_record(await vendors.delete_vendor(scope, vendor_id))
