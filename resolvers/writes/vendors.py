"""Vendors: create, update and delete. Kickserv refuses a second vendor of the same name, so the name is
the natural key that finds a vendor whose POST had an unknown outcome."""

from __future__ import annotations

from dataclasses import dataclass

from kickserv import Vendor
from resolvers.writes import invalidation
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import created_step, record_step
from resolvers.writes.validation import Checks, GivenFields, upstream_path


@dataclass(frozen=True, slots=True)
class VendorFields(GivenFields):
    name: str | None = None
    active: bool | None = None


def _check(spec: VendorFields, *, creating: bool) -> VendorFields:
    checks = Checks()
    name = checks.text(("input", "name"), spec.name, required=creating)
    cleaned = VendorFields(name, spec.active)
    if not cleaned.fields():
        checks.fail(("input",), "must change at least one field")
    checks.done()
    return cleaned


async def create_vendor(scope: WriteScope, spec: VendorFields) -> Vendor:
    cleaned = _check(spec, creating=True)
    name = (cleaned.name or "").lower()

    step = created_step(
        "vendor",
        lambda: scope.ks.vendors.create(**cleaned.fields()),
        Vendor.from_json,
        lambda: scope.ks.vendors.list(per_page=100).all(),
        lambda v: v.name.lower() == name,
        field_path=upstream_path(("input",)),
    )
    return await scope.run_step(
        "createVendor",
        cleaned.fields(),
        step,
        lambda vendor: invalidation.vendor_saved(scope, vendor),
    )


async def update_vendor(scope: WriteScope, vendor_id: int, spec: VendorFields) -> Vendor:
    cleaned = _check(spec, creating=False)
    step = record_step(
        "vendor",
        lambda: scope.ks.vendors.update(vendor_id, **cleaned.fields()),
        Vendor.from_json,
        field_path=upstream_path(("input",)),
    )
    payload = {"vendor": vendor_id, "fields": cleaned.fields()}
    return await scope.run_step(
        "updateVendor", payload, step, lambda vendor: invalidation.vendor_saved(scope, vendor)
    )


async def delete_vendor(scope: WriteScope, vendor_id: int) -> Vendor:
    """``DELETE /vendors/{id}.json`` (the reference lists the verb); answers the vendor as it was."""

    async def deleted(_: Vendor) -> None:
        await invalidation.vendor_deleted(scope, vendor_id)

    payload = {"vendor": vendor_id}
    return await scope.run_delete(
        "deleteVendor", payload, Vendor.from_json, scope.ks.vendors, vendor_id, deleted
    )
