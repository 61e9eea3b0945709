"""``kickserv-graph serve``: the app under uvicorn with uvloop and httptools (its protocol with each
request head bounded in bytes and in time: ``graph.server.protocol``).

The plain asyncio/h11 stack stalls about 44 ms per request once several workers run, so both are
fixed here rather than left to uvicorn's auto-detection. The app is built by a factory from the
environment, so ``--workers N`` gives N processes; what they must agree on (idempotency records,
write generations, APQ documents) is in the state store they share (``GRAPH_STATE_DIR`` or
``GRAPH_REDIS_URL``).

With the built-in sandbox and several workers, the workers must also share one Kickserv: the
sandbox then runs as one child process on a free local port, and a fresh state directory (the
sandbox is seeded afresh, so nothing of an earlier run may replay) serves them all.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import uvicorn
from starlette.applications import Starlette

from graph.server import collector
from graph.server.allocator import return_large_blocks
from graph.server.metrics import multiprocess_directory
from graph.server.observe import logging_config
from graph.server.protocol import GuardedHttpToolsProtocol
from graph.server.settings import Settings, SettingsError


def create_app_from_env() -> Starlette:
    """uvicorn's app factory: the whole server, configured from the environment (in each worker,
    which also gives large requests' memory back to the system when done: graph.server.allocator).
    What it built (modules, the schema: tens of thousands of objects that live as long as the
    worker) is frozen out of the garbage collector's full collections, which otherwise walk it
    all every few hundred requests that pause (measured before warm requests stopped pausing: p99
    80 -> 26 ms on the warm small query with the response cache off); young collections are made
    rare inside requests and happen in the pauses between them (``graph.server.collector``)."""
    from graph.server.assembly import build_app

    return_large_blocks()
    app = build_app(Settings.from_env())
    compile_ahead()
    collector.install()
    return app


def compile_ahead() -> None:
    """What a request would otherwise compile on first use, compiled at start: the size counter
    of each record and page class the shared cache keeps (``resolvers.bounded``; each record's
    ``from_json`` and ``replace`` are compiled as it is declared). The first request after start
    compiled those it met, which was a third of the small query's instructions (76 -> 51 M) and a
    tenth of the dashboard's (1,078 -> 972 M; a fresh ``serve`` against the bench's sandbox,
    callgrind, 2026-12-03); here they cost ~22 ms of CPU, once."""
    from kickserv.pages import Page
    from kickserv.records.record import declared
    from resolvers.bounded import prepare
    from resolvers.task_groups import ListedPage, ListedTask

    prepare((Page, ListedPage, ListedTask, *declared()))


def check_configuration() -> Settings:
    """Build the app once and open its state store, so bad settings, key files, manifests or a
    corrupt state file stop ``serve`` with one line before uvicorn starts workers (each worker
    builds its own app from the environment)."""
    settings = Settings.from_env()
    from graph.server.assembly import build_app, server_of
    from resolvers.state import StateStoreError, open_state_store

    try:
        where = server_of(build_app(settings)).state_location
        if where is not None and not where.startswith(("redis://", "rediss://", "unix://")):
            asyncio.run(open_state_store(where).aclose())  # Redis may come later: not checked
    except (OSError, ValueError, json.JSONDecodeError, StateStoreError) as exc:
        raise SettingsError(str(exc)) from exc
    return settings


@contextmanager
def shared_sandbox(args: argparse.Namespace) -> Iterator[None]:
    """With the built-in sandbox and several workers: one sandbox process for all of them, and
    one fresh state directory, both gone when ``serve`` ends."""
    settings = Settings.from_env()
    if args.workers <= 1 or not settings.sandbox_mode:
        yield
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "graph.server.cli", "sandbox", "--host", "127.0.0.1",
        "--port", str(port), "--customers", str(settings.sandbox_customers),
        "--seed", str(settings.sandbox_seed), "--latency-ms", str(settings.sandbox_latency_ms),
    ]  # fmt: skip
    if settings.sandbox_today is not None:
        command += ["--today", settings.sandbox_today.isoformat()]
    if settings.sandbox_reference_strict:
        command.append("--reference-strict")
    sandbox = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    state = tempfile.TemporaryDirectory(prefix="kickserv-graph-state-")
    try:
        _wait_for(f"http://127.0.0.1:{port}/__sandbox/config", sandbox)
        os.environ.update(
            KICKSERV_ACCOUNT="demo",
            KICKSERV_API_TOKEN="demo-token",
            KICKSERV_BASE_URL=f"http://127.0.0.1:{port}",
        )
        os.environ.setdefault("GRAPH_STATE_DIR", state.name)
        print(f"Sandbox for all {args.workers} workers: http://127.0.0.1:{port}", flush=True)
        yield
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
        state.cleanup()


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SettingsError(f"the sandbox process stopped at start (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SettingsError(f"the sandbox did not answer at {url} within {timeout:g} s")


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
    sandbox.add_argument(
        "--reference-strict",
        action="store_const",
        const="true",
        help="the strict reference sandbox: every behaviour the Kickserv reference leaves open "
        "takes its most conservative alternative (default: SANDBOX_REFERENCE_STRICT or off)",
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
    ("reference_strict", "SANDBOX_REFERENCE_STRICT"),
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
        strict = ", strict reference mode" if settings.sandbox_reference_strict else ""
        return (
            f"the built-in Kickserv sandbox (account demo, {settings.sandbox_customers} customers, "
            f"seed {settings.sandbox_seed}, {clock}{strict}); set KICKSERV_ACCOUNT and "
            "KICKSERV_API_TOKEN for a real account"
        )
    return f"Kickserv account {settings.kickserv_account!r} at {settings.kickserv_base_url}"


def run(args: argparse.Namespace) -> int:
    export_sandbox_options(args)
    try:
        # Several workers: each imports prometheus-client with PROMETHEUS_MULTIPROC_DIR set.
        with shared_sandbox(args), multiprocess_directory(args.workers):
            return _serve(args, check_configuration())
    except SettingsError as exc:
        print(f"kickserv-graph serve: {exc}", file=sys.stderr)
        return 2


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = settings.port if args.port is None else args.port
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"GraphiQL: http://{shown_host}:{port}/graphql", flush=True)
    print(f"Serving {describe_upstream(settings)}.", flush=True)
    print("Runs until Ctrl-C; use a second terminal for anything else.", flush=True)
    uvicorn.run(
        "graph.server.serve:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,  # httptools, each request head bounded in bytes and time
        lifespan="on",
        log_level=settings.log_level.lower(),
        # Applied in every worker: one format for all lines; graph.access replaces uvicorn's own
        # access log, and httpx's line per upstream call is left out.
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        server_header=False,
    )
    return 0
