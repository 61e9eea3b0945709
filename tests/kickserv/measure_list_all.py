"""Measure listing every customer of a 10,000-customer sandbox with 50 ms latency.

    .venv/bin/python -m tests.kickserv.measure_list_all [--customers N] [--latency-ms MS]
                                                       [--concurrency C] [--in-process]

Prints, per page size (25 and 100): requests the sandbox logged, pages, the client's concurrency
limit, the peak concurrency the sandbox observed, wall time, and the floor
ceil(pages / concurrency) x latency. The sandbox runs as its own process by default, so its JSON
rendering does not share this process's GIL with the client; `--in-process` runs it in a thread
(`running_sandbox`) to show that difference. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from kickserv import KickservClient
from sandbox.app import SandboxConfig
from sandbox.testing import running_sandbox

PATH = "/demo/api/v2/customers.json"


class Sandbox(Protocol):
    base_url: str

    def requests(self) -> list[dict[str, Any]]: ...

    def reset_requests(self) -> None: ...


class SandboxProcess:
    """`python -m sandbox` on a free 127.0.0.1 port, read through its admin API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def requests(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base_url}/__sandbox/requests", timeout=30)
        return list(answer.raise_for_status().json()["requests"])

    def reset_requests(self) -> None:
        httpx.delete(f"{self.base_url}/__sandbox/requests", timeout=30).raise_for_status()


@contextlib.contextmanager
def sandbox_process(customers: int, latency_ms: float) -> Iterator[SandboxProcess]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "sandbox", "--port", str(port), "--acme-customers", "3"]
    command += ["--customers", str(customers), "--latency-ms", str(latency_ms)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        handle = SandboxProcess(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{handle.base_url}/__sandbox/config").is_success:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox process did not start")
            time.sleep(0.1)
        yield handle
    finally:
        process.terminate()
        process.wait(timeout=10)


async def measure(sandbox: Sandbox, per_page: int, concurrency: int, latency_s: float) -> dict:
    sandbox.reset_requests()
    async with KickservClient(
        "demo", "demo-token", base_url=sandbox.base_url, max_concurrency=concurrency
    ) as ks:
        started = time.perf_counter()
        customers = await ks.customers.list(per_page=per_page).all()
        wall = time.perf_counter() - started
    log = [r for r in sandbox.requests() if r["path"] == PATH]
    pages = math.ceil(len(customers) / per_page)
    return {
        "per_page": per_page,
        "customers": len(customers),
        "requests": len(log),
        "pages": pages,
        "concurrency": concurrency,
        "peak_in_flight": max(r["concurrent"] for r in log),
        "wall_s": round(wall, 3),
        "floor_s": round(math.ceil(pages / concurrency) * latency_s, 3),
        # summed over requests beyond the injected latency: rendering and queueing in its one loop
        "sandbox_excess_s": round(
            sum(r["duration_ms"] for r in log) / 1000 - len(log) * latency_s, 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--in-process", action="store_true", help="sandbox in a thread, same GIL")
    args = parser.parse_args()
    if args.in_process:
        config = SandboxConfig(
            customers=args.customers, acme_customers=3, latency_ms=args.latency_ms
        )
        context: contextlib.AbstractContextManager[Sandbox] = running_sandbox(config)
    else:
        context = sandbox_process(args.customers, args.latency_ms)
    with context as sandbox:
        where = "in-process thread" if args.in_process else "separate process"
        print(f"sandbox ({where}): {args.customers} customers, {args.latency_ms:g} ms latency")
        for per_page in (25, 100):
            latency_s = args.latency_ms / 1000
            result = asyncio.run(measure(sandbox, per_page, args.concurrency, latency_s))
            print("  " + " ".join(f"{k}={v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
