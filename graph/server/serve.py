"""``kickserv-graph serve``: the app under uvicorn with uvloop and httptools.

The plain asyncio/h11 stack stalls about 44 ms per request once several workers run, so both are
fixed here rather than left to uvicorn's auto-detection. The app is built by a factory from the
environment, so ``--workers N`` gives N independent processes (the service is stateless).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date

import uvicorn
from starlette.applications import Starlette

from graph.server.settings import Settings, SettingsError


def create_app_from_env() -> Starlette:
    """uvicorn's app factory: the whole server, configured from the environment."""
    from graph.server.assembly import build_app

    return build_app(Settings.from_env())


def check_configuration() -> Settings:
    """Build the app once, so bad settings, key files or manifests stop ``serve`` with one line
    before uvicorn starts workers (each worker builds its own app from the environment)."""
    settings = Settings.from_env()
    from graph.server.assembly import build_app

    try:
        build_app(settings)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise SettingsError(str(exc)) from exc
    return settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to bind (default: GRAPH_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: GRAPH_PORT or 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    sandbox = parser.add_argument_group(
        "built-in sandbox", "used when KICKSERV_ACCOUNT and KICKSERV_API_TOKEN are unset"
    )
    sandbox.add_argument(
        "--customers",
        type=at_least_one,
        metavar="N",
        help="customers to seed (default: SANDBOX_CUSTOMERS or 200)",
    )
    sandbox.add_argument(
        "--seed", type=int, metavar="N", help="data seed (default: SANDBOX_SEED or 1)"
    )
    sandbox.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the sandbox's date, which its data is seeded around (default: SANDBOX_TODAY or the "
        "real date)",
    )


def at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


SANDBOX_OPTIONS = (
    ("customers", "SANDBOX_CUSTOMERS"),
    ("seed", "SANDBOX_SEED"),
    ("today", "SANDBOX_TODAY"),
)


def export_sandbox_options(args: argparse.Namespace) -> None:
    """The sandbox options become SANDBOX_* variables: every worker builds its app from the
    environment (uvicorn's factory), so that is how they reach it."""
    for option, variable in SANDBOX_OPTIONS:
        value = getattr(args, option, None)
        if value is not None:
            os.environ[variable] = value.isoformat() if isinstance(value, date) else str(value)


def describe_upstream(settings: Settings) -> str:
    """One line on what we talk to; never the token."""
    if settings.pass_through and not (settings.kickserv_account and settings.kickserv_api_token):
        return (
            f"pass-through callers' own Kickserv accounts at {settings.kickserv_base_url} "
            "(each request sends X-Kickserv-Account and X-Kickserv-Token)"
        )
    if settings.sandbox_mode:
        today = settings.sandbox_today
        clock = f"today {today.isoformat()}" if today else "real dates"
        return (
            f"the built-in Kickserv sandbox (account demo, {settings.sandbox_customers} customers, "
            f"seed {settings.sandbox_seed}, {clock}); set KICKSERV_ACCOUNT and "
            "KICKSERV_API_TOKEN for a real account"
        )
    return f"Kickserv account {settings.kickserv_account!r} at {settings.kickserv_base_url}"


def run(args: argparse.Namespace) -> int:
    export_sandbox_options(args)
    try:
        settings = check_configuration()
    except SettingsError as exc:
        print(f"kickserv-graph serve: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"GraphiQL: http://{shown_host}:{port}/graphql", flush=True)
    print(f"Serving {describe_upstream(settings)}.", flush=True)
    print("Runs until Ctrl-C; use a second terminal for anything else.", flush=True)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every upstream call at INFO: that is our access log's job, not the console's.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    uvicorn.run(
        "graph.server.serve:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=settings.env == "development",
        server_header=False,
    )
    return 0
