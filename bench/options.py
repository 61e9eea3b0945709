"""How big a run is: the full benchmark, ``--quick`` (under two minutes) and ``tiny`` (the smoke test)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from graph.server.settings import Settings

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Options:
    mode: str = "full"
    customers: int = 1000  # sandbox scale for scenarios 1-6
    scale_customers: int = 10_000  # scenario 7
    index_invoices: int = 100_000  # synthetic invoices in the index memory measurement
    latency_ms: float = 50.0  # mean injected latency per upstream call
    jitter_ms: float = 10.0  # +/- around the mean, uniform
    seed: int = 1
    load_seconds: float = 8.0  # per warm load run, scenarios 1-5
    load_requests: int = 5_000
    small_seconds: float = 10.0  # per server in the warm small-query comparison
    small_requests: int = 200_000
    exec_repeats: int = 60  # executions timed for the execution floor
    cold_runs: int = 5  # fresh servers per scenario's cold run: its figures are their median's
    exec_fields: int = 6_000
    # State modes (``--state``; not part of the default run): per load, rounds, MONITOR pass.
    state_seconds: float = 3.0
    state_requests: int = 200_000
    state_repeats: int = 3
    state_monitor_requests: int = 100
    state_cache_off: bool = True  # the same again with GRAPH_RESPONSE_CACHE=off
    state_log_entries: int = 64  # writes in the tenant's write log (64: as many as it keeps)
    state_record_repeats: int = 40  # bench.record_cache: warm dashboards timed per variant
    upstream_concurrency: int = Settings().kickserv_concurrency  # the server's own default
    install_peers: bool = True  # npm ci in bench/peers when GraphQL Mesh's packages are missing
    load_tool: str = "python"  # "python" (bench.loadgen), "wrk", or "auto" (wrk when installed)
    only: tuple[str, ...] = ()  # scenario keys; empty = all
    results_dir: Path = RESULTS_DIR
    refresh_readme: bool = True

    @property
    def latency_floor_ms(self) -> float:
        return max(0.0, self.latency_ms - self.jitter_ms)

    def wants(self, key: str) -> bool:
        """Parts of the default run; ``state`` runs only when named (``--state``)."""
        if key in OPT_IN:
            return key in self.only
        return not self.only or key in self.only


OPT_IN = ("state",)  # parts a run without --only leaves out


FULL = Options()
QUICK = replace(
    FULL,
    mode="quick",
    customers=300,
    scale_customers=2_000,
    index_invoices=20_000,
    load_seconds=2.0,
    load_requests=600,
    small_seconds=3.0,
    small_requests=60_000,
    exec_repeats=15,
    cold_runs=1,
    state_seconds=1.5,
    state_repeats=2,
    state_monitor_requests=50,
    state_record_repeats=20,
    refresh_readme=False,
)
TINY = replace(
    QUICK,
    mode="tiny",
    customers=40,
    scale_customers=150,
    index_invoices=1_000,
    latency_ms=2.0,
    jitter_ms=1.0,
    load_seconds=0.5,
    load_requests=20,
    small_seconds=0.5,
    small_requests=50,
    exec_repeats=2,
    exec_fields=300,
    cold_runs=2,  # the repeated cold runs' path, run
    state_seconds=0.3,
    state_requests=60,
    state_repeats=1,
    state_monitor_requests=5,
    state_record_repeats=2,
    install_peers=False,
)
PROFILES = {"full": FULL, "quick": QUICK, "tiny": TINY}
