"""Line items (Kickserv's job charges): adding them, one journaled step each, and changing one.

A charge carries no field a marker could hide in without showing on the invoice, so a charge whose
POST had an unknown outcome is found by before-image: the job's charges that were not there before
(and not claimed by an earlier step of the same write) and that match what was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from kickserv import Job, JobCharge
from resolvers.resources import Change
from resolvers.writes import invalidation
from resolvers.writes.errors import Path
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, Step, created_step, raw_of, record_step
from resolvers.writes.validation import Checks, GivenFields, upstream_path


@dataclass(frozen=True, slots=True)
class LineItemSpec(GivenFields):
    description: str | None = None
    details: str | None = None
    quantity: Decimal | None = None
    price_per_unit: Decimal | None = None
    discount: Decimal | None = None
    item_id: int | None = None
    job_charge_type_id: int | None = None
    taxable: bool | None = None

    def matches(self, charge: JobCharge) -> bool:
        """Whether ``charge`` is what this spec would create (Kickserv fills the rest)."""
        sent = {
            "description": (self.description, charge.description),
            "details": (self.details, charge.details),
            "quantity": (self.quantity, charge.quantity),
            "price_per_unit": (self.price_per_unit, charge.price_per_unit),
            "discount": (self.discount, charge.discount),
            "item_id": (self.item_id, charge.item_id),
            "job_charge_type_id": (self.job_charge_type_id, charge.job_charge_type_id),
        }
        return all(want is None or want == got for want, got in sent.values())


def check_line_item(
    checks: Checks, path: Path, spec: LineItemSpec, *, creating: bool
) -> LineItemSpec:
    description = checks.text((*path, "description"), spec.description)
    details = checks.text((*path, "details"), spec.details)
    if creating and description is None and spec.item_id is None:
        checks.fail((*path, "description"), "is required unless an itemId is given")
    checks.amount((*path, "quantity"), spec.quantity)
    checks.amount((*path, "discount"), spec.discount)
    if spec.price_per_unit is not None and not spec.price_per_unit.is_finite():
        checks.fail((*path, "pricePerUnit"), "must be a finite number")
    checks.positive_id((*path, "itemId"), spec.item_id)
    checks.positive_id((*path, "jobChargeTypeId"), spec.job_charge_type_id)
    return LineItemSpec(
        description, details, spec.quantity, spec.price_per_unit, spec.discount, spec.item_id,
        spec.job_charge_type_id, spec.taxable,
    )  # fmt: skip


def charge_step(
    scope: WriteScope,
    job_number: int,
    index: int,
    spec: LineItemSpec,
    base: Path,
    before: Callable[[], list[int]],
) -> Step[JobCharge]:
    """Step ``charge:{index}``; ``before()`` gives the charge ids that are not this step's."""

    async def charges() -> tuple[JobCharge, ...]:
        return (await scope.ks.jobs.get(job_number)).job_charges or ()

    return created_step(
        f"charge:{index}",
        lambda: scope.ks.jobs.create_charge(job_number, **spec.fields()),
        JobCharge.from_json,
        charges,
        spec.matches,
        known=before,
        field_path=upstream_path((*base, index)),
    )


def _money(job: Job) -> tuple[Change, ...]:
    """The charges of an invoiced job are what its invoice (and its customer) owe."""
    return (Change.JOB_MONEY,) if job.invoice_status is not None else ()


def done_charge_ids(saga: Saga) -> list[int]:
    return [v["id"] for k, v in saga.done.items() if k.startswith("charge:")]


async def add_line_items(scope: WriteScope, job_number: int, items: Sequence[LineItemSpec]) -> Job:
    checks = Checks()
    if not items:
        checks.fail(("lineItems",), "must hold at least one line item")
    cleaned = [
        check_line_item(checks, ("lineItems", i), s, creating=True) for i, s in enumerate(items)
    ]
    checks.done()

    async def body(saga: Saga) -> Job:
        async def existing() -> list[int]:
            job = await scope.ks.jobs.get(job_number)
            return [c.id for c in job.job_charges or ()]

        present: list[int] = await saga.remember("before", existing)
        for index, spec in enumerate(cleaned):
            step = charge_step(
                scope, job_number, index, spec, ("lineItems",),
                lambda: present + done_charge_ids(saga),
            )  # fmt: skip
            await saga.run(step)
        job = await scope.ks.jobs.get(job_number)
        await invalidation.job_saved(scope, job, *_money(job))
        return job

    payload = {"job": job_number, "items": [s.fields() for s in cleaned]}
    return await scope.run("addLineItems", payload, body, raw_of, Job.from_json)


async def update_line_item(
    scope: WriteScope, job_number: int, charge_id: int, spec: LineItemSpec
) -> Job:
    checks = Checks()
    cleaned = check_line_item(checks, ("input",), spec, creating=False)
    if not cleaned.fields():
        checks.fail(("input",), "must change at least one field")
    checks.done()

    async def body(saga: Saga) -> Job:
        await saga.run(
            record_step(
                "charge",
                lambda: scope.ks.jobs.update_charge(job_number, charge_id, **cleaned.fields()),
                JobCharge.from_json,
                field_path=upstream_path(("input",)),
            )
        )
        job = await scope.ks.jobs.get(job_number)
        await invalidation.job_saved(scope, job, *_money(job))
        return job

    payload = {"job": job_number, "charge": charge_id, "fields": cleaned.fields()}
    return await scope.run("updateLineItem", payload, body, raw_of, Job.from_json)
