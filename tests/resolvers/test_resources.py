"""The table of cached resources (resolvers/resources.py): every entry named once, read somewhere,
voided by what the table says and nothing else; no resource spelled as a string outside it."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kickserv import Customer, Vendor
from resolvers import resources
from resolvers.cache import CacheKey, MemoryStore, SharedCache
from resolvers.kept import kept
from resolvers.resources import INDEXES, RESOURCES, Change, Index, Listing, Record
from resolvers.tenant import Tenant

ROOT = Path(__file__).resolve().parent.parent.parent
TENANT_METHODS = {"page", "window", "everything", "record", "prime", "peek", "forget_record"}


def entries() -> dict[str, Record[Any, Any] | Listing[Any, Any] | Index[Any, Any]]:
    return {
        name: value
        for name, value in vars(resources).items()
        if isinstance(value, Record | Listing | Index)
    }


def tenant() -> Tenant:
    client: Any = SimpleNamespace(credential_fingerprint="f")
    return Tenant("demo", client, SharedCache(store=MemoryStore()))


def test_every_entry_is_in_the_table_once() -> None:
    listed = [*RESOURCES, *INDEXES]
    assert sorted(map(id, listed)) == sorted(map(id, entries().values()))
    for group in (RESOURCES, INDEXES):
        names = [entry.name for entry in group]
        assert len(set(names)) == len(names), names


def test_every_kind_of_change_voids_something() -> None:
    for change in Change:
        names, indexes = resources.voided_by([change])
        assert names or indexes, change


def test_every_entry_is_read_through_its_constant() -> None:
    source = "".join(
        (ROOT / "resolvers" / name).read_text(encoding="utf-8")
        for name in ("data.py", "tenant.py", "plan.py")
    )
    unread = [name for name in entries() if f"resources.{name}" not in source]
    assert unread == []


def string_resources(path: Path) -> list[str]:
    """Calls of a Tenant method whose resource (first argument) is a string literal."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in TENANT_METHODS | {"changed", "forget", "invalidate"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.args[0].value!r}")
    return found


def test_no_resource_is_spelled_outside_the_table() -> None:
    paths = sorted((ROOT / "resolvers").rglob("*.py"))
    spelled = [
        hit for path in paths if path.name != "resources.py" for hit in string_resources(path)
    ]
    assert spelled == []


@pytest.mark.parametrize("change", list(Change), ids=lambda c: c.name)
async def test_a_change_forgets_what_the_table_says_and_nothing_else(change: Change) -> None:
    t = tenant()
    for entry in RESOURCES:
        await t.cache.put(CacheKey(t.key, entry.name, 1), "v", entry.lifetime)
    await t.changed(change)
    kept = {e.name for e in RESOURCES if await t.cache.peek(CacheKey(t.key, e.name, 1))}
    voided = {e.name for e in RESOURCES if change in e.voided_by}
    assert kept == {e.name for e in RESOURCES} - voided


async def test_a_vendor_write_voids_the_single_vendor_records_too() -> None:
    # The bug this table was made for: `_entities` answered a renamed vendor's old name for 600 s.
    names, _ = resources.voided_by([Change.VENDOR])
    assert {resources.VENDORS.name, resources.VENDOR.name} <= names


async def test_a_primed_record_is_found_under_the_key_a_read_asks_for() -> None:
    t = tenant()
    vendor = Vendor.from_json({"id": 5, "name": "Acme", "active": True})
    customer = Customer.from_json({"id": 10, "customer_number": 7, "name": "X"})
    await t.prime(resources.VENDOR, vendor)
    await t.prime(resources.CUSTOMER, customer)
    await t.prime(resources.CUSTOMER_ID, customer)

    async def never() -> Any:
        raise AssertionError("fetched although primed")

    assert await t.record(resources.VENDOR, 5, never) == vendor
    # The cache keeps the typed fields, not the raw payload (resolvers.kept)
    assert await t.record(resources.CUSTOMER, 7, never) == kept(customer)
    assert await t.peek(resources.CUSTOMER_ID, 10) == kept(customer)
    assert await t.peek(resources.JOB_ID, 10) is None  # another resource, another entry
