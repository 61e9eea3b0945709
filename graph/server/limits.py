"""Limits checked before execution: depth, aliases, root fields, the page size (``first``),
introspection, and a budget of estimated upstream (Kickserv) calls. Tokens and nesting are capped
while parsing (graph.server.documents), the operations of a batch by graph.server.requests.

Every limit refuses the same way, whatever the media type: HTTP 400 ``QUERY_TOO_COMPLEX`` with
``extensions.rule`` (which limit), ``extensions.limit`` and ``extensions.measure`` (what the request
had; for the limits that stop the parser, where it stopped counting: the limit + 1), built by
``limit_exceeded``.

The cost model, per operation, computed from the document, the variables and the schema alone:

- A field whose resolver is async, or is marked ``metadata={"upstream": True}`` (a sync resolver
  that answers from glue when it can and loads otherwise), may call Kickserv: it costs **one call
  per parent object** it is resolved on (``parents x 1``), even though loaders and the shared cache
  usually make it far less. Plain attributes and other sync resolvers cost nothing.
- Fields answered from one whole listing (employees, job types, charge types) cost **one call per
  operation**, however many parents ask (``SHARED_LISTING_FIELDS``).
- A connection (a type with ``edges`` and ``pageInfo``) costs one call per ``PAGE_SIZE`` items per
  parent, and its ``edges``/``nodes`` multiply their children by its expected size: ``first`` (from
  the literal or the variables, else the argument's default), at most ``MAX_FIRST``.
- Any other list multiplies its children by a per-field expected size (``LIST_SIZES``, else
  ``DEFAULT_LIST_SIZE``). ``_entities`` multiplies by the number of representations and costs one
  call per representation (a router's 100 invoices estimate 100, though they cost one batch).
- Introspection fields (``__schema``, ``__type``) cost nothing and count for no depth; they, and
  ``_service``, are what the introspection switch allows or refuses.

So ``customers(first: 20) { nodes { jobs(first: 5) { nodes { tasks { id } } } } }`` is
``1 + 20 x (1 + 5 x 1) = 121``. The estimate is an upper bound in spirit: batching only lowers it.

Fragments are measured once per (fragment, type) and reused, so a document that spreads fragments
into each other exponentially costs its size, not its expansion, to measure.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.pyutils import Undefined

from graph.schema.connections import MAX_FIRST
from graph.schema.errors import ErrorCode, GraphError, QueryTooComplex
from resolvers.bounded import BytesLRU

PAGE_SIZE = 100  # items per upstream page (KICKSERV_MAX_PER_PAGE's default)
DEFAULT_LIST_SIZE = 5
LIST_SIZES: Mapping[str, int] = {
    "Query.employees": 50,
    "Query.jobTypes": 25,
    "Query.jobChargeTypes": 25,
    "Customer.children": 10,
    "Customer.locations": 10,
    "Customer.invoices": 10,
    "Customer.opportunities": 10,
    "Customer.notes": 10,
    "Job.lineItems": 10,
    "Job.notes": 10,
    "Invoice.lineItems": 10,
    "Employee.tasks": 25,
}
SHARED_LISTING_FIELDS = frozenset(
    {
        "Query.employees",
        "Query.employee",
        "Query.jobTypes",
        "Query.jobChargeTypes",
        "Task.assignees",
        "Job.jobType",
        "Opportunity.jobType",
        "LineItem.chargeType",
    }
)
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})
SCHEMA_FIELDS = frozenset({"_service"})  # the federation SDL: the schema, by another name


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 15
    max_aliases: int = 30
    max_root_fields: int = 20
    max_first: int = MAX_FIRST


@dataclass(frozen=True, slots=True)
class OperationCost:
    """What ``measure`` found; ``estimate`` is in upstream calls."""

    depth: int
    aliases: int
    root_fields: int
    estimate: int
    introspection: bool


@dataclass(slots=True)
class _Cost:
    calls: int = 0  # per parent object
    shared: frozenset[str] = frozenset()
    depth: int = 0
    aliases: int = 0
    introspection: bool = False
    fields: int = 0  # fields at this level (root fields, for the root)

    def add(self, other: _Cost) -> None:
        self.calls += other.calls
        self.shared |= other.shared
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.introspection |= other.introspection
        self.fields += other.fields


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Mapping[str, Any]
    defaults: Mapping[str, Any]
    max_first: int
    memo: dict[tuple[str, str, int | None], _Cost] = field(default_factory=dict)

    def selection(
        self, selections: SelectionSetNode, parent: GraphQLNamedType, items: int | None = None
    ) -> _Cost:
        """Cost of ``selections`` on one ``parent`` object; ``items`` sizes a connection's lists."""
        total = _Cost()
        for node in selections.selections:
            if isinstance(node, FieldNode):
                total.add(self.field(node, parent, items))
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                total.add(self.selection(node.selection_set, target or parent, items))
            elif isinstance(node, FragmentSpreadNode):
                total.add(self.spread(node.name.value, items))
        return total

    def spread(self, name: str, items: int | None) -> _Cost:
        fragment = self.fragments[name]
        target = self.schema.get_type(fragment.type_condition.name.value)
        assert target is not None  # validated
        key = (name, target.name, items)
        cost = self.memo.get(key)
        if cost is None:
            cost = self.selection(fragment.selection_set, target, items)
            self.memo[key] = cost
        return _Cost(
            cost.calls, cost.shared, cost.depth, cost.aliases, cost.introspection, cost.fields
        )

    def field(self, node: FieldNode, parent: GraphQLNamedType, items: int | None) -> _Cost:
        name = node.name.value
        alias = 1 if node.alias is not None else 0
        if name in INTROSPECTION_FIELDS:
            return _Cost(aliases=alias, introspection=True, fields=1)
        if name == "__typename":
            return _Cost(aliases=alias, depth=1)
        definition = _field_of(parent, name)
        if definition is None:  # validation guarantees it exists; be lenient all the same
            return _Cost(aliases=alias, depth=1, fields=1)
        coordinate = f"{parent.name}.{name}"
        named = get_named_type(definition.type)
        child = _Cost()
        size = 1
        own = 1 if _is_async(definition) else 0
        if _is_connection(named):
            size = self.first(node, definition, coordinate)
            own = max(1, math.ceil(size / PAGE_SIZE))
            if node.selection_set is not None:
                child = self.selection(node.selection_set, named, items=size)
            return self.combine(own, 1, child, alias, coordinate)
        if _is_list(definition.type):
            if name == "_entities":
                size = self.representations(node)
                own = size  # each representation is a lookup of its own
            elif items is not None and name in ("edges", "nodes"):
                size, own = items, 0
            else:
                size = LIST_SIZES.get(coordinate, DEFAULT_LIST_SIZE)
        if node.selection_set is not None:
            child = self.selection(node.selection_set, named)
        cost = self.combine(own, size, child, alias, coordinate)
        cost.introspection |= name in SCHEMA_FIELDS
        return cost

    @staticmethod
    def combine(own: int, size: int, child: _Cost, alias: int, coordinate: str) -> _Cost:
        shared = child.shared
        if own and coordinate in SHARED_LISTING_FIELDS:
            own, shared = 0, shared | {coordinate}
        return _Cost(
            calls=own + size * child.calls,
            shared=shared,
            depth=1 + child.depth,
            aliases=alias + child.aliases,
            introspection=child.introspection,
            fields=1,
        )

    def first(self, node: FieldNode, definition: GraphQLField, coordinate: str) -> int:
        value = self.argument(node, "first")
        if value is Undefined:
            argument = definition.args.get("first")
            value = argument.default_value if argument is not None else Undefined
        if not isinstance(value, int) or isinstance(value, bool):
            return self.max_first  # absent or ill-typed (execution will say so): assume the most
        if value > self.max_first:
            raise limit_exceeded(
                "pageSize",
                value,
                self.max_first,
                f"`first` is {value} on {coordinate}; at most {self.max_first} items per page "
                "(page with `after` for more).",
                argument="first",
                field=coordinate,
            )
        return max(value, 0)

    def representations(self, node: FieldNode) -> int:
        value = self.argument(node, "representations")
        return len(value) if isinstance(value, list) else 1

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self.value(argument.value)
        return Undefined

    def value(self, node: ValueNode) -> Any:
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            return self.defaults.get(name, Undefined)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return list(node.values)
        return Undefined


def _field_of(parent: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = parent.fields.get(name)
        return found
    return None


def _is_list(type_: Any) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _is_connection(type_: GraphQLNamedType) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


def _is_async(definition: GraphQLField) -> bool:
    """May this field's resolver call Kickserv?"""
    strawberry_field = (definition.extensions or {}).get("strawberry-definition")
    if (getattr(strawberry_field, "metadata", None) or {}).get("upstream"):
        return True
    resolver = getattr(strawberry_field, "base_resolver", None)
    return bool(resolver is not None and resolver.is_async)


def _variable_defaults(operation: OperationDefinitionNode) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            value = definition.default_value
            if isinstance(value, IntValueNode):
                defaults[definition.variable.name.value] = int(value.value)
            elif isinstance(value, ListValueNode):
                defaults[definition.variable.name.value] = list(value.values)
    return defaults


def measure(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    max_first: int = MAX_FIRST,
) -> OperationCost:
    """Depth, aliases, root fields and estimated upstream calls of a validated operation.

    Raises ``QueryTooComplex`` (rule ``pageSize``) for a ``first`` over the cap: refused before
    anything runs.
    """
    root = schema.get_root_type(operation.operation)
    assert root is not None  # validated
    walk = _Walk(schema, fragments, variables or {}, _variable_defaults(operation), max_first)
    cost = walk.selection(operation.selection_set, root)
    return OperationCost(
        depth=cost.depth,
        aliases=cost.aliases,
        root_fields=cost.fields,
        estimate=cost.calls + len(cost.shared),
        introspection=cost.introspection,
    )


class MeasuredCosts:
    """``measure`` remembered per (operation, variables): a repeated request (a response cache
    hit above all) pays a dictionary lookup, not a walk of its document. Bounded, LRU, in entries
    and in bytes.

    Keyed by the operation node's identity (documents are parsed once per text, graph.server.documents)
    and the variables' canonical JSON; the entry holds the node, so its id cannot be reused. The node
    keeps its whole document alive (its source text and tokens), so an entry weighs what the
    document cache estimates that document at, plus the variables' key (a digest when they are
    long): a document too large to keep (over a tenth of ``max_bytes``) is measured every time."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        max_first: int = MAX_FIRST,
        maxsize: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
    ):
        self._graphql_schema = schema
        self._max_first = max_first
        self._costs: BytesLRU[tuple[int, bytes], tuple[OperationDefinitionNode, OperationCost]]
        self._costs = BytesLRU(max_bytes, maxsize)

    def __len__(self) -> int:
        return len(self._costs)

    @property
    def bytes(self) -> int:
        return self._costs.bytes

    def measure(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> OperationCost:
        try:
            given = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return self._measure(document, operation, variables)
        # Long variables are remembered by their digest: the key must not keep a client's megabytes.
        key = (id(operation), given if len(given) <= 1024 else hashlib.sha256(given).digest())
        known = self._costs.get(key)
        if known is not None and known[0] is operation:
            return known[1]
        cost = self._measure(document, operation, variables)
        self._costs.put(key, (operation, cost), len(key[1]) + _retained(operation))
        return cost

    def _measure(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> OperationCost:
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        return measure(
            self._graphql_schema, fragments, operation, variables, max_first=self._max_first
        )


def _retained(operation: OperationDefinitionNode) -> int:
    """What remembering ``operation`` keeps alive: its whole document, as the document cache
    estimates it (its node holds the source text and the token chain)."""
    from graph.server.documents import document_bytes  # (documents imports this module)

    return 0 if operation.loc is None else document_bytes(operation.loc.source.body)


def limit_exceeded(
    rule: str, measure: int, limit: int, message: str, **extensions: Any
) -> QueryTooComplex:
    """The refusal of every limit: 400 ``QUERY_TOO_COMPLEX`` naming the rule, the limit and the
    measure (and whatever else locates it, e.g. the field of a ``first``)."""
    return QueryTooComplex(
        message, extensions={"rule": rule, "limit": limit, "measure": measure, **extensions}
    )


def enforce(cost: OperationCost, limits: Limits, budget: int) -> None:
    """Raise ``QueryTooComplex`` (with the rule, the limit and the measure) when over a limit."""
    for rule, measure, limit in (
        ("depth", cost.depth, limits.max_depth),
        ("aliases", cost.aliases, limits.max_aliases),
        ("rootFields", cost.root_fields, limits.max_root_fields),
    ):
        if measure > limit:
            raise limit_exceeded(
                rule, measure, limit, f"The operation's {rule} is {measure}; the limit is {limit}."
            )
    if cost.estimate > budget:
        raise limit_exceeded(
            "budget",
            cost.estimate,
            budget,
            f"The operation is estimated to cost {cost.estimate} upstream calls; the budget is "
            f"{budget}. Ask for fewer items (`first`) or fewer nested lists.",
        )


class IntrospectionDisabled(GraphError):
    """Refused like Apollo Server refuses it, so tools recognise the failure."""

    code = ErrorCode.GRAPHQL_VALIDATION_FAILED
    http_status = 400

    def __init__(self) -> None:
        super().__init__(
            "Introspection (__schema, __type, _service) is disabled for this caller; use the "
            "published schema.graphql, or an API key with introspection allowed.",
            extensions={"reason": "INTROSPECTION_DISABLED"},
        )
