"""The sandbox in its own process while the bench times anything (``python -m sandbox`` on a free
127.0.0.1 port), so it never competes with the bench, a load generator or a server under test for
one interpreter.

The bench reads the request log over the sandbox's admin API (``/__sandbox/requests``). What the
sandbox holds it rebuilds in its own process from the same seed, size and day (the seed is
deterministic), and checks against the served listings' totals before it trusts it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, Protocol

import httpx

from bench.processes import HOST, free_port, stop_process
from sandbox.config import SandboxConfig
from sandbox.data import AccountStore

AUTH = ("demo-token", "demo-token")


class Upstream(Protocol):
    """What the bench needs of a running sandbox: its URL and its request log."""

    base_url: str

    def requests(self) -> list[dict[str, Any]]: ...

    def request_count(self) -> int: ...

    def reset_requests(self) -> None: ...


WARMED_LISTINGS = ("customers", "jobs", "tasks", "invoices", "payments", "opportunities")


class SandboxProcess:
    def __init__(self, base_url: str, config: SandboxConfig, today: date) -> None:
        self.base_url = base_url
        self.config = config
        self.today = today
        self._client = httpx.Client(base_url=base_url, timeout=60.0)
        self._store: AccountStore | None = None

    def api_url(self, account: str = "demo") -> str:
        return f"{self.base_url}/{account}/api/v2"

    def requests(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self._client.get("/__sandbox/requests").json()["requests"]
        return entries

    def request_count(self) -> int:
        count: int = self._client.get("/__sandbox/requests").json()["count"]
        return count

    def reset_requests(self) -> None:
        self._client.delete("/__sandbox/requests")

    def warm(self, account: str = "demo") -> int:
        """Read every page of the listings the scenarios read, once, so the sandbox has built the
        JSON entries it keeps per record (sandbox/fragments.py) before anything is timed: a cold
        run then measures our server's cold caches, not the sandbox's first build of each entry
        (about 1.3x its old CPU per call, all at the calls' arrival). Our servers start after this
        and have read nothing. The request log is emptied after. Returns the calls made."""
        per_page = max(1, min(100, self.config.max_per_page or 100))
        calls = 0
        for listing in WARMED_LISTINGS:
            page, pages = 1, 1
            while page <= pages:
                answer = self._client.get(
                    f"/{account}/api/v2/{listing}.json",
                    params={"page": page, "per_page": per_page},
                    auth=AUTH,
                )
                answer.raise_for_status()
                calls += 1
                total = int(answer.json().get("total_entries") or 0)
                pages = max(1, -(-total // per_page))
                page += 1
        self.reset_requests()
        return calls

    def store(self) -> AccountStore:
        """Account demo as seeded, rebuilt here from the seed (read it; it is not the live store),
        checked against the served totals of customers, jobs, tasks and invoices."""
        if self._store is None:
            from sandbox import choices
            from sandbox.seed import build_account

            store = build_account("demo", self.config.customers, self.config.seed, self.today)
            store.choices = choices.personality(self.config.reference_strict)
            self._check(store)
            self._store = store
        return self._store

    def _check(self, store: AccountStore) -> None:
        served = {
            path: self._client.get(
                f"/demo/api/v2/{path}.json", params={"per_page": 1}, auth=AUTH
            ).json()["total_entries"]
            for path in ("customers", "jobs", "tasks", "invoices")
        }
        local = {
            "customers": len(store.customers),
            "jobs": sum(1 for j in store.jobs.values() if j.status in _job_statuses()),
            "tasks": len(store.tasks),
            "invoices": sum(1 for j in store.jobs.values() if j.invoice_date is not None),
        }
        if served != local:
            raise RuntimeError(
                f"the sandbox's data is not its seed's: served {served}, seed {local}"
            )

    def close(self) -> None:
        self._client.close()


def _job_statuses() -> tuple[str, ...]:
    from sandbox.choices import JOB_STATUSES

    return JOB_STATUSES


def sandbox_argv(config: SandboxConfig, today: date, port: int) -> list[str]:
    argv = [
        sys.executable, "-m", "sandbox", "--host", HOST, "--port", str(port),
        "--customers", str(config.customers), "--acme-customers", str(config.acme_customers),
        "--seed", str(config.seed), "--latency-ms", repr(config.latency_ms),
        "--jitter-ms", repr(config.jitter_ms), "--error-rate", repr(config.error_rate),
        "--rate-limit", str(config.rate_limit), "--max-per-page", str(config.max_per_page),
        "--today", today.isoformat(),
    ]  # fmt: skip
    if config.reference_strict:
        argv.append("--reference-strict")
    return argv


@contextmanager
def running_sandbox_process(
    config: SandboxConfig, today: date | None = None, timeout: float = 120.0
) -> Iterator[SandboxProcess]:
    """``python -m sandbox`` with ``config`` on a free port, its clock pinned to ``today`` (default:
    the config's, else today); stopped when the block ends."""
    day = today or config.today or date.today()
    port = free_port()
    process = subprocess.Popen(
        sandbox_argv(config, day, port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base_url = f"http://{HOST}:{port}"
    sandbox = SandboxProcess(base_url, config, day)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"the sandbox exited on start: {error[-400:]}")
            try:
                httpx.get(f"{base_url}/__sandbox/config", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the sandbox did not answer within {timeout:.0f} s"
                    ) from None
                time.sleep(0.05)
        yield sandbox
    finally:
        sandbox.close()
        stop_process(process, 10.0)
        if process.stderr:
            process.stderr.close()
