"""`kickserv-graph sandbox` / `python -m sandbox`: serve the sandbox with uvicorn."""

from __future__ import annotations

import argparse
import time
from datetime import date

from sandbox.app import create_app, sandbox_state
from sandbox.config import DEFAULT_HOST, DEFAULT_PORT, SandboxConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="interface to bind (default %(default)s)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    parser.add_argument(
        "--customers", type=int, default=200, help="customers of account demo (default %(default)s)"
    )
    parser.add_argument(
        "--acme-customers",
        type=int,
        default=30,
        help="customers of account acme (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=1, help="data seed (default %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every API response")
    parser.add_argument(
        "--jitter-ms", type=float, default=0.0, help="random extra latency, at most"
    )
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of API requests answered 500 (0..1)"
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="requests per second per token, then 429 (0 = off)",
    )
    parser.add_argument(
        "--max-per-page", type=int, default=100, help="larger per_page values are clamped to this"
    )
    parser.add_argument(
        "--today", type=date.fromisoformat, default=None, help="pin the sandbox clock (YYYY-MM-DD)"
    )


def config_from(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        seed=args.seed,
        customers=args.customers,
        acme_customers=args.acme_customers,
        today=args.today,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        error_rate=args.error_rate,
        rate_limit=args.rate_limit,
        max_per_page=args.max_per_page,
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    started = time.perf_counter()
    app = create_app(config_from(args))
    state = sandbox_state(app)
    sizes = ", ".join(f"{slug}: {len(s.customers)} customers" for slug, s in state.stores.items())
    base = f"http://{args.host}:{args.port}"
    print(f"Kickserv sandbox seeded in {time.perf_counter() - started:.2f}s ({sizes})")
    print(f"  API    {base}/demo/api/v2/customers.json   (curl -u demo-token:demo-token …)")
    print(f"  tokens {base}/__sandbox/tokens   knobs {base}/__sandbox/config")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args())
