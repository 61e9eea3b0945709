"""Federation v2 ``_entities``: every representation of a request resolved at once, through loaders.

Strawberry's stock ``entities_resolver`` returns one ``resolve_reference`` coroutine per
representation and leaves them to graphql-core's list completion, which happens to gather them, so
loaders do batch today. We do not lean on that detail: ``FederatedSchema`` awaits all representations
together with ``asyncio.gather`` itself, so 100 ``Invoice`` references make one loader batch (one
index lookup) whatever graphql-core does with lists. It also turns what Strawberry lets escape as a
failure of the whole list into a per-item error, in the order given:

- an unknown or non-entity ``__typename`` (Strawberry raises ``KeyError`` for the whole field);
- a key that is not a Kickserv id/number (Strawberry's ``int("abc")`` would be masked as unexpected):
  ASCII digits within Kickserv's range only (``resolvers.parsing``: ``"²"`` passes ``isdigit``);
- a representation without any complete ``@key`` of its type (no key at all);
- a representation carrying fields ``resolve_reference`` does not take (Strawberry's ``TypeError``);
- an entity type without ``resolve_reference`` (nothing in Kickserv can build it from a key alone).

Representations are not mutated (Strawberry pops ``__typename`` out of the caller's dicts).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, NamedTuple

import strawberry
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition

from graph.schema.errors import BadUserInput, GraphError
from resolvers.parsing import NumberError, kickserv_id, quoted

_INT_KEYS = frozenset({"number"})
_ID_KEYS = frozenset({"id"})


class FederatedSchema(strawberry.federation.Schema):
    """A federation v2 schema whose ``_entities`` resolves all representations concurrently."""

    async def entities_resolver(  # type: ignore[override]
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        return list(
            await asyncio.gather(
                *(self._resolve_representation(info, rep) for rep in representations)
            )
        )

    async def _resolve_representation(self, info: Info, representation: Any) -> FederationAny:
        """One entity, or the exception graphql-core reports at ``_entities.<index>``."""
        try:
            resolve, kwargs = self._reference_call(info, representation)
            result = resolve(**kwargs)
            if inspect.isawaitable(result):
                result = await result
            return FederationAny(result)
        except Exception as error:
            return FederationAny(error)

    def _reference_call(
        self, info: Info, representation: Any
    ) -> tuple[Callable[..., Any], dict[str, Any]]:
        if not isinstance(representation, Mapping) or not isinstance(
            representation.get("__typename"), str
        ):
            raise BadUserInput("A representation must be an object with a `__typename` string.")
        type_name: str = representation["__typename"]
        reference = self._reference(type_name)
        kwargs: dict[str, Any] = {}
        for name, value in representation.items():
            if name == "__typename":
                continue
            if name not in reference.parameters and not reference.takes_any:
                raise BadUserInput(
                    f"{type_name} is not keyed by `{name}`.",
                    extensions={"typename": type_name},
                )
            kwargs[name] = _key_value(type_name, name, value)
        keys = reference.keys
        if keys and not any(key <= kwargs.keys() for key in keys):
            named = " or ".join(f"`{' '.join(sorted(key))}`" for key in keys)
            raise BadUserInput(
                f"A {type_name} representation needs its key: {named}.",
                extensions={"typename": type_name},
            )
        if "info" in reference.parameters:
            kwargs["info"] = info
        return reference.resolve, kwargs

    @cached_property
    def _references(self) -> dict[str, _Reference]:
        """Each entity type's reference, by type name, as ``_reference`` reads it once."""
        return {}

    def _reference(self, type_name: str) -> _Reference:
        """How an entity is fetched by its key: its resolver's signature read once per type (an
        ``inspect.signature`` per representation was ~10 us each, a millisecond for 100)."""
        known = self._references
        reference = known.get(type_name)
        if reference is not None:
            return reference
        definition = self._entity_definition(type_name)
        resolve = getattr(definition.origin, "resolve_reference", None)
        if resolve is None:
            raise GraphError(
                f"{type_name} cannot be fetched by its key alone; ask for it through a field.",
                extensions={"typename": type_name},
            )
        parameters = inspect.signature(resolve).parameters
        reference = _Reference(
            resolve,
            frozenset(parameters),
            any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()),
            _key_fields(definition),
        )
        known[type_name] = reference
        return reference

    def _entity_definition(self, type_name: str) -> StrawberryObjectDefinition:
        type_ = self.schema_converter.type_map.get(type_name)
        definition = getattr(type_, "definition", None)
        if not isinstance(definition, StrawberryObjectDefinition) or not _has_key(definition):
            raise BadUserInput(
                f"{quoted(type_name)} is not an entity of this subgraph.",
                extensions={"typename": quoted(type_name, limit=40)},
            )
        return definition


class _Reference(NamedTuple):
    resolve: Callable[..., Any]
    parameters: frozenset[str]  # the resolver's parameter names
    takes_any: bool  # it takes **kwargs
    keys: list[frozenset[str]]


def _has_key(definition: StrawberryObjectDefinition) -> bool:
    return any(isinstance(d, Key) for d in definition.directives or ())


def _key_fields(definition: StrawberryObjectDefinition) -> list[frozenset[str]]:
    """The fields of each ``@key`` of an entity, as Python argument names (``id``, ``number``)."""
    return [
        frozenset(str(d.fields).split()) for d in definition.directives or () if isinstance(d, Key)
    ]


def _key_value(type_name: str, name: str, value: Any) -> Any:
    """Kickserv ids and numbers are integers; anything else is the caller's mistake, said so."""
    if name not in _ID_KEYS | _INT_KEYS:
        return value
    try:
        number = kickserv_id(value)
    except NumberError as exc:
        kind = "id" if name in _ID_KEYS else "number"
        raise BadUserInput(
            f"{type_name}.{name} must be a Kickserv {kind} ({exc}), got {quoted(value)}.",
            extensions={"typename": type_name, "field": name},
        ) from None
    return strawberry.ID(str(number)) if name in _ID_KEYS else number
