"""Write generations: a number per tenant that changes whenever this server writes for it.

Anything cached from a tenant's reads that must not outlive a write (the graph's response cache)
keys itself by the tenant's current generation: after a write the key changes, so what was cached
before is never found again and simply ages out.

Generations are drawn from one process-wide counter, so a number is never reused. The map is
bounded: past ``max_tenants`` the least recently written tenant is dropped, and every tenant without
an entry moves to a fresh ``floor`` at that moment, so a dropped tenant can never fall back to a
number it had before its last write.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict


class WriteGenerations:
    def __init__(self, max_tenants: int = 100_000) -> None:
        self._max_tenants = max_tenants
        self._counter = itertools.count(1)
        self._floor = 0
        self._generations: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._generations)

    def of(self, tenant: str) -> int:
        """The tenant's current generation."""
        return self._generations.get(tenant, self._floor)

    def bump(self, tenant: str) -> int:
        """A write for ``tenant`` happened (or may have): give it a generation never seen before."""
        generation = next(self._counter)
        self._generations[tenant] = generation
        self._generations.move_to_end(tenant)
        if len(self._generations) > self._max_tenants:
            self._generations.popitem(last=False)
            self._floor = next(self._counter)
        return generation
