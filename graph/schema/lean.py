"""Lean resolvers: what graphql-core calls per field, with Strawberry's per-field layers left out where
they do nothing for this schema.

A 6,000-field answer resolves about 5,900 plain attributes and a few hundred resolver methods. For a
plain attribute Strawberry calls a wrapper, ``StrawberryField.get_result``, then the configured
default resolver (``getattr``) with the field's Python name: three calls where one does. For a method
that takes only ``self`` and ``info`` it builds its ``Info``, converts no arguments, chains no field
extensions, calls the resolver through two more wrappers, and wraps an async one in a coroutine of
its own that awaits ours. Here each is replaced, once, when the schema is built:

- a plain attribute (no resolver, no field extension): ``getattr(source, python_name)``;
- a method of ``(self, info, ...)`` with no field extension whose GraphQL arguments are all leaf
  values (scalars, enums; optional or not): the method itself, called with Strawberry's ``Info``
  (the same object Strawberry would build) and the arguments graphql-core coerced under their
  Python names (Strawberry's conversion returns a leaf value as is), its coroutine returned as is
  for graphql-core to await.

Everything else (input objects, lists or global ids to convert, field extensions, permission
classes, a custom default resolver, exception handlers) keeps Strawberry's resolver. What a field
answers is unchanged: the same attribute, or the same method with the same arguments. ``tests/graph/test_planner_execution.py``
checks which fields are lean and that they answer as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, NamedTuple

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    get_nullable_type,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"  # where Strawberry keeps a GraphQLField's StrawberryField
# Where make_lean leaves, on an object type, its fields that are plain attributes of a leaf type
# (graph.schema.execution reads them).
LEAF_ATTRIBUTES = "kickserv-graph-leaf-attributes"


GraphQLLeafTypes = (GraphQLScalarType, GraphQLEnumType)


class LeafAttribute(NamedTuple):
    attribute: str  # the Python attribute the field reads
    coerce: Callable[[Any], Any]  # the field type's coerce_output_value
    non_null: bool


Resolve = Callable[..., Any]


def _attribute(name: str) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    resolve.attribute = name  # type: ignore[attr-defined]  # what graph.schema.execution reads
    return resolve


def _method(
    func: Callable[..., Any], field: StrawberryField, info_class: Any, names: dict[str, str]
) -> Resolve:
    if not names:

        def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return func(source, info_class(_raw_info=info, _field=field))

        return resolve

    def resolve_with(source: Any, info: GraphQLResolveInfo[Any], **given: Any) -> Any:
        # What graphql-core coerced, under the Python names (Strawberry's conversion of a leaf value
        # returns it as is); an argument graphql-core did not give is left to the Python default.
        kwargs = {names[name]: value for name, value in given.items() if name in names}
        return func(source, info_class(_raw_info=info, _field=field), **kwargs)

    return resolve_with


# Argument types whose value Strawberry passes on as graphql-core coerced it (leaf values).
_LEAVES: tuple[Any, ...] = (int, str, bool, float, strawberry.ID, date)


def _is_leaf(argument_type: Any) -> bool:
    if isinstance(argument_type, StrawberryOptional):
        argument_type = argument_type.of_type
    if isinstance(argument_type, StrawberryEnumDefinition) or has_enum_definition(argument_type):
        return True
    return any(argument_type is leaf for leaf in _LEAVES)


def _argument_names(
    arguments: list[StrawberryArgument], name_of: Callable[[StrawberryArgument], str]
) -> dict[str, str] | None:
    """GraphQL name -> Python name of each argument, when every one is a leaf value (no input
    object, list, global id or ``Maybe`` to convert); else None."""
    names: dict[str, str] = {}
    for argument in arguments:
        if not argument.python_name or not _is_leaf(argument.type):
            return None
        names[name_of(argument)] = argument.python_name
    return names


def _lean(field: StrawberryField, config: StrawberryConfig) -> Resolve | None:
    if field.extensions or field.is_subscription:
        return None
    resolver = field.base_resolver
    if resolver is None:
        if field.default_resolver is not getattr or not field.python_name:
            return None
        return _attribute(field.python_name)
    if resolver.self_parameter is None or resolver.info_parameter is None:
        return None
    if resolver.root_parameter is not None or resolver.parent_parameter is not None:
        return None
    arguments = _argument_names(resolver.arguments, config.name_converter.from_argument)
    if arguments is None:
        return None
    names = list(resolver.signature.parameters)
    expected = [resolver.self_parameter.name, resolver.info_parameter.name]
    if names != expected + [a.python_name for a in resolver.arguments]:
        return None
    func = resolver.wrapped_func
    if not callable(func):
        return None
    return _method(func, field, config.info_class, arguments)


def make_lean(schema: GraphQLSchema, config: StrawberryConfig, *, exempt: frozenset[str]) -> int:
    """Replace the resolvers that can be made lean (not on the types named in ``exempt``); returns
    how many were replaced."""
    replaced = 0
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name in exempt:
            continue
        if type_name.startswith("__"):
            continue
        leaves: dict[str, LeafAttribute] = {}
        for name, graphql_field in graphql_type.fields.items():
            replaced += _replace(graphql_field, config)
            leaf = _leaf_attribute(graphql_field)
            if leaf is not None:
                leaves[name] = leaf
        if leaves:
            graphql_type.extensions = {**graphql_type.extensions, LEAF_ATTRIBUTES: leaves}
    return replaced


def _leaf_attribute(graphql_field: GraphQLField) -> LeafAttribute | None:
    """The field's short path (graph.schema.execution) when it was made a plain attribute and its
    type is a scalar or enum."""
    attribute = getattr(graphql_field.resolve, "attribute", None)
    non_null = isinstance(graphql_field.type, GraphQLNonNull)
    field_type = get_nullable_type(graphql_field.type)
    if not isinstance(attribute, str) or not isinstance(field_type, GraphQLLeafTypes):
        return None
    return LeafAttribute(attribute, field_type.coerce_output_value, non_null)


def _replace(graphql_field: GraphQLField, config: StrawberryConfig) -> int:
    definition = (graphql_field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or graphql_field.resolve is None:
        return 0
    if not getattr(graphql_field.resolve, "_is_default", False) and (
        definition.base_resolver is None
    ):
        return 0  # Strawberry chose a resolver of its own for an attribute: keep it
    lean = _lean(definition, config)
    if lean is None:
        return 0
    graphql_field.resolve = lean
    return 1
