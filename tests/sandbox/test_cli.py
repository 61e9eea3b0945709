"""The command line: flags become a SandboxConfig, and `python -m sandbox` serves real HTTP."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from datetime import date

import httpx

from sandbox.cli import add_arguments, config_from


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_defaults_are_the_quickstart_ones():
    args = _parse()
    assert (args.host, args.port, args.customers) == ("127.0.0.1", 8025, 200)
    config = config_from(args)
    assert config.max_per_page == 100 and config.today is None and config.rate_limit == 0


def test_flags_reach_the_config():
    args = _parse(
        "--customers", "20", "--seed", "9", "--latency-ms", "5", "--jitter-ms", "2",
        "--error-rate", "0.1", "--rate-limit", "7", "--max-per-page", "50", "--today", "2026-11-21",
    )  # fmt: skip
    config = config_from(args)
    assert (config.customers, config.seed, config.latency_ms, config.jitter_ms) == (20, 9, 5, 2)
    assert (config.error_rate, config.rate_limit, config.max_per_page) == (0.1, 7, 50)
    assert config.today == date(2026, 11, 21)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_python_dash_m_sandbox_serves_basic_auth_requests():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", str(port), "--customers", "20"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/demo/api/v2/customers.json"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(url, auth=("demo-token", "demo-token"))
                break
            except httpx.ConnectError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["total_entries"] == 20
        assert httpx.get(url).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()


QUIET_CHILD = """
import argparse, gc, json
import uvicorn
from sandbox import cli

seen = {}

def serve(app, **options):  # what the collector looks like when the sandbox starts serving
    customer = next(iter(cli.sandbox_state(app).stores["demo"].customers.values()))
    seen["tracked"] = gc.is_tracked(customer)
    seen["collected_fully"] = any(o is customer for o in gc.get_objects(generation=2))
    seen["frozen"] = gc.get_freeze_count()
    seen["young_every"] = gc.get_threshold()[0]

uvicorn.run = serve
parser = argparse.ArgumentParser()
cli.add_arguments(parser)
cli.run(parser.parse_args(["--customers", "50"]))
print(json.dumps(seen))
"""


def test_what_seeding_built_is_out_of_the_collectors_full_collections_when_serving():
    """A full collection walked the seeded records in 16-20 ms mid-level (sandbox.cli); frozen,
    they are never walked, and young collections come every YOUNG_COLLECTION_EVERY allocations."""
    from sandbox.cli import YOUNG_COLLECTION_EVERY

    done = subprocess.run(
        [sys.executable, "-c", QUIET_CHILD], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["tracked"]  # a record the collector would walk, were it not frozen
    assert not seen["collected_fully"]
    assert seen["frozen"] > 10_000
    assert seen["young_every"] == YOUNG_COLLECTION_EVERY
