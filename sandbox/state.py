"""Everything a running sandbox holds: the accounts' stores, the clock, the knobs and the log."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

from sandbox import choices
from sandbox.clock import SandboxClock
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore, Employee
from sandbox.knobs import RateLimiter
from sandbox.log import RequestLog
from sandbox.seed import build_accounts


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock = SandboxClock(config.today)
        self.choices = choices.personality(config.reference_strict)
        seed_day = config.today or datetime.now(UTC).date()
        self.stores: dict[str, AccountStore] = build_accounts(
            config.seed, config.account_sizes(), seed_day
        )
        for store in self.stores.values():
            store.choices = self.choices
        self.knobs = config.knobs()
        self.log = RequestLog()
        self.rate_limiter = RateLimiter()
        self.dice = random.Random(config.seed)  # latency jitter and injected errors
        self._tokens: dict[str, tuple[str, int]] = {
            e.token: (slug, e.id) for slug, s in self.stores.items() for e in s.employees.values()
        }

    def store(self, account: str) -> AccountStore:
        return self.stores[account]

    def today(self, account: str) -> date:
        return self.clock.today(self.stores[account].tz)

    def authenticate(self, account: str, token: str | None) -> Employee | None:
        """The employee whose token this is, if it belongs to `account` and may log in."""
        found = self._tokens.get(token) if token else None
        if found is None or found[0] != account:
            return None
        employee = self.stores[account].employees[found[1]]
        if not employee.active and not choices.INACTIVE_EMPLOYEES_MAY_LOG_IN:
            return None
        return employee
