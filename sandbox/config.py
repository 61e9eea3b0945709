"""How a sandbox starts: data scale, seed, clock and the initial knobs."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

from sandbox import choices
from sandbox.knobs import FaultRule, Knobs

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8025


@dataclass
class SandboxConfig:
    """`customers` sizes account demo, `acme_customers` account acme; `today=None` is real today."""

    seed: int = 1
    customers: int = 200
    acme_customers: int = 30
    today: date | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit: int = 0
    rate_limit_window_s: float = 1.0
    max_per_page: int = choices.DEFAULT_MAX_PER_PAGE
    faults: list[FaultRule] = field(default_factory=list)
    # The strict reference mode (sandbox/choices.py STRICT); unset, SANDBOX_REFERENCE_STRICT decides.
    reference_strict: bool = field(default_factory=choices.strict_from_env)

    def account_sizes(self) -> dict[str, int]:
        return {"demo": self.customers, "acme": self.acme_customers}

    def knobs(self) -> Knobs:
        """The knobs the sandbox starts with: each is this config's field of the same name (the
        faults copied, since the knobs change while the sandbox runs)."""
        start = {f.name: getattr(self, f.name) for f in fields(Knobs)}
        return Knobs(**{**start, "faults": list(self.faults)})
