"""/invoices.json and /payments.json: the account-wide money listings."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kickserv.errors import ResponseShape
from kickserv.pages import Paginator
from kickserv.records import Invoice, Payment
from kickserv.resources.base import Resource

# An invoice read without its embedded tasks: compiled here, at import, rather than by the first
# listing that asks for it (Record.reader compiles a reader once per process).
_WITHOUT_TASKS = Invoice.reader(tasks=())


class Invoices(Resource):
    """Invoices are jobs with invoice fields; Kickserv has no get-one-invoice endpoint."""

    def list(
        self,
        *,
        invoice_status: str | None = None,
        per_page: int | None = None,
        embedded_tasks: bool = True,
        parse: Callable[[object], Invoice] | None = None,
    ) -> Paginator[Invoice]:
        """Newest first. `invoice_status` is "paid" or "unpaid". Each page's
        `extra["total_balance_remaining"]` is the Decimal owed over all matching invoices.
        `embedded_tasks=False`: each invoice's `tasks` are not read (left empty; still in `raw`).
        `parse` reads each invoice instead (e.g. an ``Invoice.reader`` that leaves out what the
        caller drops)."""
        if parse is None:
            parse = Invoice.from_json if embedded_tasks else _WITHOUT_TASKS
        return self._paginate(
            "invoices.json",
            ("invoices", "jobs"),
            parse,
            {"invoice_status": invoice_status},
            per_page,
        )

    async def total_balance_remaining(self, invoice_status: str | None = None) -> Decimal:
        """What all matching invoices still owe, from one small page."""
        page = await self.list(invoice_status=invoice_status).page(1, per_page=1)
        total = page.extra.get("total_balance_remaining")
        if not isinstance(total, Decimal):
            raise ResponseShape(
                "GET /invoices.json carried no total_balance_remaining.",
                method="GET",
                path=self._transport.prefix + "invoices.json",
            )
        return total


class Payments(Resource):
    """/payments.json (meta.pagination envelope). Payments there carry no job id."""

    def list(
        self,
        *,
        customer_number: int | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        per_page: int | None = None,
    ) -> Paginator[Payment]:
        """`customer_number` is sent as Kickserv's misnamed `customer_id` parameter (it takes the
        number). `sort_by`: date, created_at, amount...; `sort_order`: "ASC" or "DESC"."""
        filters = {"customer_id": customer_number, "sort_by": sort_by, "sort_order": sort_order}
        return self._paginate("payments.json", ("payments",), Payment.from_json, filters, per_page)

    async def create(self, customer_number: int, **fields: Any) -> Payment:
        """POST /payments.json: a payment of a customer, applied to no job. The reference confirms
        that POST creates a payment, not its payload: the customer goes as `customer_id` holding
        its number, as the GET filter of that name takes it."""
        body = {"payment": {**fields, "customer_id": customer_number}}
        return await self._call("POST", "payments.json", "payment", Payment.from_json, body)
