"""Vendors: create and update. Kickserv refuses a second vendor of the same name, so the name is
the natural key that finds a vendor whose POST had an unknown outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kickserv import Vendor
from resolvers.writes import invalidation
from resolvers.writes.scope import WriteScope
from resolvers.writes.steps import Saga, Step, raw_of
from resolvers.writes.validation import Checks, upstream_path


@dataclass(frozen=True, slots=True)
class VendorFields:
    name: str | None = None
    active: bool | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in (("name", self.name), ("active", self.active)) if v is not None}


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

    async def named() -> list[Vendor]:
        return [
            v for v in await scope.ks.vendors.list(per_page=100).all() if v.name.lower() == name
        ]

    async def snapshot() -> list[int]:
        return [v.id for v in await named()]

    async def find(before: list[int]) -> Vendor | None:
        return next((v for v in await named() if v.id not in set(before)), None)

    async def body(saga: Saga) -> Vendor:
        vendor = await saga.run(
            Step(
                "vendor",
                send=lambda: scope.ks.vendors.create(**cleaned.fields()),
                dump=raw_of,
                load=Vendor.from_json,
                find=find,
                snapshot=snapshot,
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
            Step(
                "vendor",
                send=lambda: scope.ks.vendors.update(vendor_id, **cleaned.fields()),
                dump=raw_of,
                load=Vendor.from_json,
                field_path=upstream_path(("input",)),
            )
        )
        await invalidation.vendor_saved(scope, vendor)
        return vendor

    payload = {"vendor": vendor_id, "fields": cleaned.fields()}
    return await scope.run("updateVendor", payload, body, raw_of, Vendor.from_json)
