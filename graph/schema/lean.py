"""Lean resolvers: what graphql-core calls per field, with Strawberry's per-field layers left out where
they do nothing for this schema.

A 6,000-field answer resolves about 5,900 plain attributes and a few hundred resolver methods. For a
plain attribute Strawberry calls a wrapper, ``StrawberryField.get_result``, then the configured
default resolver (``getattr``) with the field's Python name: three calls where one does. For a method
that takes only ``self`` and ``info`` it builds its ``Info``, converts no arguments, chains no field
extensions, calls the resolver through two more wrappers, and wraps an async one in a coroutine of
its own that awaits ours. Here each is replaced, once, when the schema is built:

- a plain attribute (no resolver, no field extension): ``getattr(source, python_name)``;
- a method of ``(self, info)`` with no GraphQL arguments and no field extension: the method itself,
  called with Strawberry's ``Info`` (the same object Strawberry would build), its coroutine returned
  as is for graphql-core to await.

Everything else (arguments to convert, field extensions, permission classes, a custom default
resolver, exception handlers) keeps Strawberry's resolver. What a field answers is unchanged: the same
attribute, or the same method with the same arguments. ``tests/graph/test_planner_execution.py``
checks which fields are lean and that they answer as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo, GraphQLSchema
from strawberry.types.field import StrawberryField

DEFINITION = "strawberry-definition"  # where Strawberry keeps a GraphQLField's StrawberryField

Resolve = Callable[..., Any]


def _attribute(name: str) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, name)

    return resolve


def _method(func: Callable[[Any, Any], Any], field: StrawberryField, info_class: Any) -> Resolve:
    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return func(source, info_class(_raw_info=info, _field=field))

    return resolve


def _lean(field: StrawberryField, info_class: Any) -> Resolve | None:
    if field.extensions or field.is_subscription:
        return None
    resolver = field.base_resolver
    if resolver is None:
        if field.default_resolver is not getattr or not field.python_name:
            return None
        return _attribute(field.python_name)
    if resolver.arguments or resolver.self_parameter is None or resolver.info_parameter is None:
        return None
    if resolver.root_parameter is not None or resolver.parent_parameter is not None:
        return None
    names = list(resolver.signature.parameters)
    if names != [resolver.self_parameter.name, resolver.info_parameter.name]:
        return None
    func = resolver.wrapped_func
    if not callable(func):
        return None
    return _method(func, field, info_class)


def make_lean(schema: GraphQLSchema, info_class: Any, *, exempt: frozenset[str]) -> int:
    """Replace the resolvers that can be made lean (not on the types named in ``exempt``); returns
    how many were replaced."""
    replaced = 0
    for type_name, graphql_type in schema.type_map.items():
        if not isinstance(graphql_type, GraphQLObjectType) or type_name in exempt:
            continue
        if type_name.startswith("__"):
            continue
        for graphql_field in graphql_type.fields.values():
            replaced += _replace(graphql_field, info_class)
    return replaced


def _replace(graphql_field: GraphQLField, info_class: Any) -> int:
    definition = (graphql_field.extensions or {}).get(DEFINITION)
    if not isinstance(definition, StrawberryField) or graphql_field.resolve is None:
        return 0
    if not getattr(graphql_field.resolve, "_is_default", False) and (
        definition.base_resolver is None
    ):
        return 0  # Strawberry chose a resolver of its own for an attribute: keep it
    lean = _lean(definition, info_class)
    if lean is None:
        return 0
    graphql_field.resolve = lean
    return 1
