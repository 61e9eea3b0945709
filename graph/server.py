"""``kickserv-graph serve``: the app under uvicorn with uvloop and httptools.

The plain asyncio/h11 stack stalls about 44 ms per request once several workers run, so both are
fixed here rather than left to uvicorn's auto-detection. The app is built by a factory from the
environment, so ``--workers N`` gives N independent processes (the service is stateless).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn

from graph.settings import Settings, SettingsError

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from strawberry.federation import Schema


class SchemaMissing(RuntimeError):
    """graph.schema.build_schema is not there (yet): the server has nothing to serve."""


def load_schema_builder() -> Callable[[Settings], Schema]:
    """``graph.schema.build_schema``, imported late so the CLI works while it is being written."""
    try:
        schema_module = importlib.import_module("graph.schema")
    except ModuleNotFoundError as exc:
        if exc.name != "graph.schema":
            raise  # graph.schema exists but one of its own imports is missing: show that.
        raise SchemaMissing(
            "graph/schema.py is missing: `serve` needs graph.schema.build_schema(settings) to "
            "build the GraphQL schema."
        ) from None
    builder: Callable[[Settings], Schema] | None = getattr(schema_module, "build_schema", None)
    if builder is None:
        raise SchemaMissing("graph/schema.py has no build_schema(settings) function.")
    return builder


def create_app_from_env() -> Starlette:
    """uvicorn's app factory: settings from the environment.

    ``graph.main.build_app`` assembles the full server (schema, tenancy context, upstream
    extensions); without it the schema alone is served with the default context.
    """
    settings = Settings.from_env()
    try:
        main = importlib.import_module("graph.main")
    except ModuleNotFoundError as exc:
        if exc.name != "graph.main":
            raise
    else:
        app: Starlette = main.build_app(settings)
        return app
    from graph.app import create_app

    return create_app(settings, load_schema_builder()(settings))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="interface to bind (default: GRAPH_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default: GRAPH_PORT or 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")


def describe_upstream(settings: Settings) -> str:
    """One line on what we talk to; never the token."""
    if settings.sandbox_mode:
        return (
            f"the built-in Kickserv sandbox (account demo, {settings.sandbox_customers} customers, "
            f"seed {settings.sandbox_seed}); set KICKSERV_ACCOUNT and KICKSERV_API_TOKEN for a "
            "real account"
        )
    return f"Kickserv account {settings.kickserv_account!r} at {settings.kickserv_base_url}"


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        load_schema_builder()
    except (SettingsError, SchemaMissing) as exc:
        print(f"kickserv-graph serve: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"GraphiQL: http://{shown_host}:{port}/graphql", flush=True)
    print(f"Serving {describe_upstream(settings)}.", flush=True)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every upstream call at INFO: that is our access log's job, not the console's.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    uvicorn.run(
        "graph.server:create_app_from_env",
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
