"""Lean resolvers: what graphql-core calls per field, with Strawberry's per-field layers left out where
they do nothing for this schema.

A 6,000-field answer resolves about 5,900 plain attributes and a few hundred resolver methods. For a
plain attribute Strawberry calls a wrapper, ``StrawberryField.get_result``, then the configured
default resolver (``getattr``) with the field's Python name: three calls where one does. For a method
that takes only ``self`` and ``info`` it builds its ``Info``, converts no arguments, chains no field
extensions, calls the resolver through two more wrappers, and wraps an async one in a coroutine of
its own that awaits ours. Here each is replaced, once, when the schema is built:

- a plain attribute (no resolver, no field extension): ``getattr(source, python_name)``;
- a method of ``(self, info, ...)`` with no field extension: the method itself, called with
  Strawberry's ``Info`` (the same object Strawberry would build) and the arguments graphql-core
  coerced under their Python names, its coroutine returned as is for graphql-core to await. A leaf
  value (scalar, enum; optional or not) is passed as coerced (Strawberry's conversion returns it as
  is); any other argument (an input object, a list, a global id) goes through Strawberry's own
  ``convert_argument``, as Strawberry's ``convert_arguments`` would call it, its GraphQL name
  worked out once instead of per call.

A plain attribute of a scalar or enum type is also listed on its object type (``LEAF_ATTRIBUTES``)
for ``graph.schema.execution``, which completes it without graphql-core's per-field work.

Everything else (field extensions, permission classes, a custom default resolver, exception
handlers, a resolver taking ``root`` or ``parent``) keeps Strawberry's resolver. What a field answers
is unchanged: the same attribute, or the same method with the same arguments.
``tests/graph/test_planner_execution.py`` checks which fields are lean and that they answer as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, NamedTuple

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    get_nullable_type,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types.arguments import StrawberryArgument, convert_argument
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.scalar import ScalarDefinition, ScalarWrapper

DEFINITION = "strawberry-definition"  # where Strawberry keeps a GraphQLField's StrawberryField
# Where make_lean leaves, on an object type, its fields that are plain attributes of a leaf type
# (graph.schema.execution reads them).
LEAF_ATTRIBUTES = "kickserv-graph-leaf-attributes"


GraphQLLeafTypes = (GraphQLScalarType, GraphQLEnumType)
GraphQLLeafType = GraphQLScalarType | GraphQLEnumType


class LeafAttribute:
    """A field's short path: the attribute it reads, its type's output coercion."""

    __slots__ = ("attribute", "coerce", "non_null", "text")

    def __init__(self, attribute: str, field_type: GraphQLLeafType, non_null: bool) -> None:
        self.attribute = attribute
        self.coerce: Callable[[Any], Any] = field_type.coerce_output_value
        self.non_null = non_null
        # String and ID coerce a str to itself (graphql-core's serialize_string, serialize_id)
        self.text = field_type is GraphQLString or field_type is GraphQLID


Resolve = Callable[..., Any]


def _attribute(name: str) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    resolve.attribute = name  # type: ignore[attr-defined]  # what graph.schema.execution reads
    return resolve


def _method(
    func: Callable[..., Any], field: StrawberryField, info_class: Any, arguments: _Arguments
) -> Resolve:
    if not arguments.names:

        def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return func(source, info_class(_raw_info=info, _field=field))

        return resolve

    names = arguments.names
    if not arguments.to_convert:

        def resolve_with(source: Any, info: GraphQLResolveInfo[Any], **given: Any) -> Any:
            # What graphql-core coerced, under the Python names (Strawberry's conversion of a leaf
            # value returns it as is); an argument graphql-core did not give is left to the Python
            # default.
            kwargs = {names[name]: value for name, value in given.items() if name in names}
            return func(source, info_class(_raw_info=info, _field=field), **kwargs)

        return resolve_with

    to_convert, registry, config = arguments.to_convert, arguments.registry, arguments.config
    maybes = arguments.maybes

    def resolve_converting(source: Any, info: GraphQLResolveInfo[Any], **given: Any) -> Any:
        # Strawberry's convert_arguments, its names worked out once: the leaf values as they are,
        # the others through Strawberry's own convert_argument (input objects, lists, global ids),
        # but for null, which it converts to null unless the argument is a Maybe.
        strawberry_info = info_class(_raw_info=info, _field=field)
        kwargs: dict[str, Any] = {}
        for name, value in given.items():
            if name not in names:
                continue
            argument_type = to_convert.get(name)
            if argument_type is not None and (value is not None or name in maybes):
                value = convert_argument(
                    value, argument_type, registry, config, strawberry_info, path=(name,)
                )
            kwargs[names[name]] = value
        return func(source, strawberry_info, **kwargs)

    return resolve_converting


# Argument types whose value Strawberry passes on as graphql-core coerced it (leaf values).
_LEAVES: tuple[Any, ...] = (int, str, bool, float, strawberry.ID, date)


def _is_leaf(argument_type: Any) -> bool:
    if isinstance(argument_type, StrawberryMaybe):
        return False  # Strawberry wraps its value in Some
    if isinstance(argument_type, StrawberryOptional):
        argument_type = argument_type.of_type
    if isinstance(argument_type, StrawberryEnumDefinition) or has_enum_definition(argument_type):
        return True
    return any(argument_type is leaf for leaf in _LEAVES)


class _Arguments(NamedTuple):
    names: dict[str, str]  # GraphQL name -> Python name, of every argument
    to_convert: dict[str, Any]  # GraphQL name -> Strawberry type, of those not leaf values
    registry: Mapping[object, ScalarWrapper | ScalarDefinition]
    config: StrawberryConfig
    maybes: frozenset[str]  # those whose null Strawberry wraps (Some(None)) or refuses


def _arguments(
    arguments: list[StrawberryArgument],
    config: StrawberryConfig,
    registry: Mapping[object, ScalarWrapper | ScalarDefinition],
) -> _Arguments | None:
    """The resolver's arguments as ``_method`` passes them on; None when one has no Python name."""
    names: dict[str, str] = {}
    to_convert: dict[str, Any] = {}
    maybes: set[str] = set()
    for argument in arguments:
        if not argument.python_name:
            return None
        name = config.name_converter.from_argument(argument)
        names[name] = argument.python_name
        if not _is_leaf(argument.type):
            to_convert[name] = argument.type
        argument_type = argument.type
        if isinstance(argument_type, StrawberryOptional) and not isinstance(
            argument_type, StrawberryMaybe
        ):
            argument_type = argument_type.of_type
        if isinstance(argument_type, StrawberryMaybe):
            maybes.add(name)
    return _Arguments(names, to_convert, registry, config, frozenset(maybes))


def _lean(
    field: StrawberryField,
    config: StrawberryConfig,
    registry: Mapping[object, ScalarWrapper | ScalarDefinition],
) -> Resolve | None:
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
    arguments = _arguments(resolver.arguments, config, registry)
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


def make_lean(
    schema: GraphQLSchema,
    config: StrawberryConfig,
    registry: Mapping[object, ScalarWrapper | ScalarDefinition],
    *,
    exempt: frozenset[str],
) -> int:
    """Replace the resolvers that can be made lean (not on the types named in ``exempt``); returns
    how many were replaced. ``registry``: the schema's scalars (Strawberry's converter's), which
    argument conversion reads."""
    replaced = 0
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name in exempt:
            continue
        if type_name.startswith("__"):
            continue
        leaves: dict[str, LeafAttribute] = {}
        for name, graphql_field in graphql_type.fields.items():
            replaced += _replace(graphql_field, config, registry)
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
    return LeafAttribute(attribute, field_type, non_null)


def _replace(
    graphql_field: GraphQLField,
    config: StrawberryConfig,
    registry: Mapping[object, ScalarWrapper | ScalarDefinition],
) -> int:
    definition = (graphql_field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or graphql_field.resolve is None:
        return 0
    if not getattr(graphql_field.resolve, "_is_default", False) and (
        definition.base_resolver is None
    ):
        return 0  # Strawberry chose a resolver of its own for an attribute: keep it
    lean = _lean(definition, config, registry)
    if lean is None:
        return 0
    graphql_field.resolve = lean
    return 1
