"""Vendors: create, update and delete. Kickserv refuses a second vendor of the same name, so the name is
the natural key that finds a vendor whose POST had an unknown outcome."""

from __future__ import annotations

from dataclasses import dataclass

from kickserv import Vendor
from resolvers.writes import invalidation
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, created_step, raw_of, record_step, run_delete
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

    async def body(saga: Saga) -> Vendor:
        vendor = await saga.run(
            created_step(
                "vendor",
                lambda: scope.ks.vendors.create(**cleaned.fields()),
                Vendor.from_json,
                lambda: scope.ks.vendors.list(per_page=100).all(),
                lambda v: v.name.lower() == name,
                field_path=upstream_path(("input",)),
            )
        )
        await invalidation.vendor_saved(scope, vendor)
        return vendor

    return await scope.run("createVendor", cleaned.fields(), body, raw_of, Vendor.from_json)


async def update_vendor(scope: WriteScope, vendor_id: int, spec: VendorFields) -> Vendor:
    cleaned = _check(spec, creating=False)

    async def body(saga: Saga) -> Vendor:
        vendor = await saga.run(
            record_step(
                "vendor",
                lambda: scope.ks.vendors.update(vendor_id, **cleaned.fields()),
                Vendor.from_json,
                field_path=upstream_path(("input",)),
            )
        )
        await invalidation.vendor_saved(scope, vendor)
        return vendor

    payload = {"vendor": vendor_id, "fields": cleaned.fields()}
    return await scope.run("updateVendor", payload, body, raw_of, Vendor.from_json)


async def delete_vendor(scope: WriteScope, vendor_id: int) -> Vendor:
    """``DELETE /vendors/{id}.json`` (the reference lists the verb); answers the vendor as it was."""

    async def body(saga: Saga) -> Vendor:
        vendors = scope.ks.vendors
        before = await run_delete(
            saga,
            Vendor.from_json,
            lambda: vendors.get(vendor_id),
            lambda: vendors.delete(vendor_id),
        )
        await invalidation.vendor_deleted(scope, vendor_id)
        return before

    return await scope.run("deleteVendor", {"vendor": vendor_id}, body, raw_of, Vendor.from_json)
