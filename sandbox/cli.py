"""`kickserv-graph sandbox` / `python -m sandbox`: serve the sandbox with uvicorn."""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import date

from sandbox import choices
from sandbox.app import create_app, sandbox_state
from sandbox.config import DEFAULT_HOST, DEFAULT_PORT, SandboxConfig

# The SandboxConfig fields a flag sets (`--latency-ms` sets latency_ms), with the flag's type and
# help; its default is SandboxConfig's.
_CONFIG_FLAGS: tuple[tuple[str, Callable[[str], int | float], str], ...] = (
    ("customers", int, "customers of account demo (default %(default)s)"),
    ("acme_customers", int, "customers of account acme (default %(default)s)"),
    ("seed", int, "data seed (default %(default)s)"),
    ("latency_ms", float, "added to every API response"),
    ("jitter_ms", float, "random extra latency, at most"),
    ("error_rate", float, "share of API requests answered 500 (0..1)"),
    ("rate_limit", int, "requests per second per token, then 429 (0 = off)"),
    ("max_per_page", int, "larger per_page values are clamped to this"),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="interface to bind (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    defaults = SandboxConfig()
    for name, kind, text in _CONFIG_FLAGS:
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=kind, default=getattr(defaults, name), help=text)
    parser.add_argument(
        "--today", type=date.fromisoformat, default=None, help="pin the sandbox clock (YYYY-MM-DD)"
    )
    parser.add_argument(
        "--reference-strict",
        action="store_true",
        default=choices.strict_from_env(),
        help="take the most conservative alternative of every behaviour the Kickserv reference "
        "leaves open (docs/sandbox-client-contract.md; default: SANDBOX_REFERENCE_STRICT)",
    )


def config_from(args: argparse.Namespace) -> SandboxConfig:
    flags = {name: getattr(args, name) for name, _, _ in _CONFIG_FLAGS}
    return SandboxConfig(today=args.today, reference_strict=args.reference_strict, **flags)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    started = time.perf_counter()
    app = create_app(config_from(args))
    state = sandbox_state(app)
    sizes = ", ".join(f"{slug}: {len(s.customers)} customers" for slug, s in state.stores.items())
    base = f"http://{args.host}:{args.port}"
    mode = "strict reference mode" if state.config.reference_strict else "lenient mode"
    print(f"Kickserv sandbox seeded in {time.perf_counter() - started:.2f}s ({sizes}; {mode})")
    print(f"  API    {base}/demo/api/v2/customers.json   (curl -u demo-token:demo-token …)")
    print(f"  tokens {base}/__sandbox/tokens   knobs {base}/__sandbox/config")
    quiet_collector()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


# Allocations between young collections (CPython's default: 700; our server's graph.server.collector
# goes further, collecting between requests, which this stand-in for Kickserv does not need). Seeded,
# the sandbox holds every account's records: hundreds of thousands of objects that live as long as
# it does.
YOUNG_COLLECTION_EVERY = 10_000


def quiet_collector() -> None:
    """Keep the garbage collector from pausing the sandbox mid-level: what seeding built is frozen
    out of its full collections, and young collections are made rarer. A full collection walked
    the seeded records in 16-20 ms (`collected 0`; gc.callbacks, 1,000 customers, 2026-12-04), in
    about one cold dashboard of ten; calls sent together then reached the sandbox apart by that
    much more, which its request log can read as one more round, and Kickserv's farm of servers
    does not stall all its calls at once so."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args())
