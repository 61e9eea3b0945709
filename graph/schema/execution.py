"""graphql-core's execution with a short path for plain leaf attributes.

Most fields of a large answer are scalars read straight from a record's attribute (a customer's
name, a job's total). graphql-core executes each one the same way as any field: a ``Path``, a
``GraphQLResolveInfo`` (Strawberry's, with its operation context), the resolver call, then
``complete_value`` through the non-null and leaf checks to ``coerce_output_value``. For a field whose
resolver ``graph.schema.lean`` made a plain ``getattr`` and whose type is a scalar or enum (nullable
or not), none of that changes the answer: the value is the attribute, coerced by the field type's
own ``coerce_output_value``. ``execute_fields`` here does exactly that for those fields, and hands
every other field, and any of those fields whose short path would not simply succeed (the attribute
missing, an exception as value, null for a non-null field, a value the scalar refuses or coerces to
null), to graphql-core's ``execute_field``, which then reports it as it always does. Every other
field (objects, lists, resolvers with work to do, ``__typename``) goes graphql-core's way, and with
middleware (this server configures none) every field does.

``execute_fields``' loop is graphql-core 3.3's own (``graphql.execution.executor``), with the short
path added; ``tests/graph/test_lean_execution.py`` checks answers and errors against graphql-core's
default executor.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Sequence
from inspect import isawaitable
from typing import Any

from graphql import GraphQLObjectType, GraphQLResolveInfoHelpers
from graphql.execution import Executor
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from graph.schema.lean import LEAF_ATTRIBUTES, LeafAttribute

# One selection on one type: each field's response name, its short path (None: graphql-core's way)
# and its field details.
Plan = list[tuple[str, LeafAttribute | None, FieldDetailsList]]


class LeanExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = _helpers(self)
        # Per selection (graphql-core memoizes a type's collected fields for the execution: every
        # item of a list shares them), kept alive with it so its id is not reused meanwhile.
        self._plans: dict[int, tuple[GroupedFieldSet, Plan | None]] = {}

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> Plan | None:
        known = self._plans.get(id(fields))
        if known is not None:
            return known[1]
        leaves: dict[str, LeafAttribute] | None = parent_type.extensions.get(LEAF_ATTRIBUTES)
        plan: Plan | None = None
        if leaves is not None and self.middleware_manager is None:
            plan = [
                (name, leaves.get(details[0].node.name.value), details)
                for name, details in fields.items()
            ]
        self._plans[id(fields)] = (fields, plan)
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        append_awaitable = awaitable_fields.append
        try:
            for response_name, leaf, field_details_list in plan:
                if leaf is not None:
                    value = _leaf_value(source_value, leaf)
                    if value is not Undefined:
                        results[response_name] = value
                        continue
                field_path = Path(path, response_name, parent_type.name)
                result = self.execute_field(
                    parent_type, source_value, field_details_list, field_path, position_context
                )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        append_awaitable(response_name)
        except Exception:
            if awaitable_fields:
                # Settle what other fields started: they may fail too.
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise

        if not awaitable_fields:
            return results

        async def get_results() -> dict[str, Any]:
            if len(awaitable_fields) == 1:
                field = awaitable_fields[0]
                results[field] = await results[field]
            else:
                awaited = await gather_with_cancel(*(results[f] for f in awaitable_fields))
                results.update(zip(awaitable_fields, awaited, strict=True))
            return results

        return get_results()


def _helpers(executor: Executor[Any]) -> GraphQLResolveInfoHelpers:
    """``info.async_helpers`` as graphql-core's executor makes them, but holding the executor
    weakly: its own bound methods made a cycle (executor -> helpers -> executor) that kept every
    request's executor, context, loaders and records until the garbage collector found them, and
    with many requests in flight they lived long enough to be promoted and counted in full
    collections of the whole heap. The executor is alive whenever its own code calls ``track``
    (graphql-core's abstract type checks); a resolver still running after its execution ended (an
    error settled the rest in the background) has its awaitables settled the same way."""
    alive = weakref.ref(executor)

    def track(values: Sequence[Any]) -> None:
        found = alive()
        if found is not None:
            found.track_async_work(values)
        else:
            _settle_orphans(values)

    return GraphQLResolveInfoHelpers(gather=_gather, track=track)


def _gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
    return gather_with_cancel(*values)  # graphql-core's gather_async_work, which reads no state


_orphans: set[asyncio.Future[Any]] = set()


def _settle_orphans(values: Sequence[Any]) -> None:
    """What graphql-core's ``settle_in_background`` does with the awaitables of an executor that is
    gone: settled, their errors observed, the gathering kept until then."""
    awaitables = [value for value in values if isawaitable(value)]
    if not awaitables:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no running event loop: they can never run
        for awaitable in awaitables:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
        return
    future = asyncio.gather(*awaitables, return_exceptions=True)
    _orphans.add(future)
    future.add_done_callback(_orphans.discard)


def _leaf_value(source: Any, leaf: LeafAttribute) -> Any:
    """The field's coerced value, or ``Undefined`` when graphql-core must complete it (and report
    what went wrong)."""
    try:
        value = getattr(source, leaf.attribute)
    except Exception:
        return Undefined
    if type(value) is str and leaf.text:
        return value  # String and ID give a string back as it is
    if value is None or value is Undefined:
        return Undefined if leaf.non_null else None
    if isinstance(value, Exception):
        return Undefined
    try:
        coerced = leaf.coerce(value)
    except Exception:
        return Undefined
    return Undefined if coerced is None else coerced
