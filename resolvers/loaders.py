"""A request's loaders: a typed aiodataloader, and the descriptor that makes one on first use.

``resolvers.data.RequestData`` declares its loaders as ``LazyLoader`` class attributes; a request
primes them (with the records a listing brought) whether or not they are made.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Hashable, Sequence
from typing import Any, Generic, Protocol, TypeVar, overload

from aiodataloader import DataLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Primed = dict[str, list[tuple[Callable[[Any], Any], Sequence[Any]]]]
"""Per loader not made yet: values to prime, each list with how its values are keyed."""


class LoaderHost(Protocol):
    """What a ``LazyLoader`` is declared on (``RequestData``): its batch functions are methods."""

    loaders_enabled: bool
    primed: Primed


class Loader(DataLoader[K, "V | None"], Generic[K, V]):
    """A typed aiodataloader: ``batch(keys) -> values in key order, None where missing``."""

    def __init__(
        self,
        batch: Callable[[list[K]], Coroutine[Any, Any, list[V | None]]],
        *,
        enabled: bool = True,
    ) -> None:
        super().__init__(batch_load_fn=batch, batch=enabled, cache=enabled)

    async def get(self, key: K) -> V | None:
        value: V | None = await self.load(key)
        return value

    async def get_many(self, keys: Sequence[K]) -> list[V | None]:
        values: list[V | None] = await self.load_many(list(keys))
        return values


class LazyLoader(Generic[K, V]):
    """A request's loader, made on first use: a request uses a few of them, and making one costs
    ~2.5 µs (aiodataloader inspects its batch function), ~37 µs for all of them on every request.
    Records primed before then are kept on the request and primed into the loader when it is made,
    in order (a loader's first prime of a key wins, as it would have); a listing's records are
    kept as the listing, keyed only then (most requests never make the loaders they prime)."""

    def __init__(self, batch: str) -> None:
        self.batch = batch
        self.name = ""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    @overload
    def __get__(self, data: None, owner: type[Any]) -> LazyLoader[K, V]: ...
    @overload
    def __get__(self, data: LoaderHost, owner: type[Any]) -> Loader[K, V]: ...
    def __get__(self, data: LoaderHost | None, owner: type[Any]) -> LazyLoader[K, V] | Loader[K, V]:
        if data is None:
            return self
        loader: Loader[K, V] = Loader(getattr(data, self.batch), enabled=data.loaders_enabled)
        for key_of, values in data.primed.pop(self.name, ()):
            for value in values:
                loader.prime(key_of(value), value)
        data.__dict__[self.name] = loader  # found before this descriptor from now on
        return loader

    def prime(self, data: LoaderHost, key: K, value: V) -> None:
        """``key``'s value for ``data``'s loader, without making the loader."""
        self.prime_all(data, (value,), lambda _value: key)

    def prime_all(self, data: LoaderHost, values: Sequence[V], key_of: Callable[[V], K]) -> None:
        """Each of ``values`` under its ``key_of`` for ``data``'s loader, in order, without making
        the loader (``values`` is kept as it is until then: an immutable listing's items)."""
        made: Loader[K, V] | None = data.__dict__.get(self.name)
        if made is not None:
            for value in values:
                made.prime(key_of(value), value)
        else:
            data.primed.setdefault(self.name, []).append((key_of, values))
