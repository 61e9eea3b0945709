"""``python -m bench.loadgen``: a small HTTP/1.1 keep-alive load generator, used when wrk is absent.

Raw asyncio streams (uvloop when installed) rather than an HTTP client library: a client library would
cost more CPU per request than the servers under test and measure itself. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit


async def _worker(
    host: str,
    port: int,
    request: bytes,
    deadline: float,
    budget: list[int],
    out: dict[str, list[float]],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            out["latencies"].append(time.perf_counter() - started)
            if status != 200 or b'"errors"' in body:
                out["bad"].append(float(status))
    finally:
        writer.close()


async def run(
    url: str, body: bytes, concurrency: int, max_requests: int, max_seconds: float
) -> dict[str, float | int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if host != "127.0.0.1":
        raise SystemExit("the load generator targets 127.0.0.1 only")
    request = (
        f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nAccept: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    out: dict[str, list[float]] = {"latencies": [], "bad": []}
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + max_seconds
    await asyncio.gather(
        *(_worker(host, port, request, deadline, budget, out) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(out["latencies"])

    def pct(p: float) -> int:
        return int(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1e6)

    return {
        "requests": len(latencies),
        "duration_us": int(elapsed * 1e6),
        "p50_us": pct(50) if latencies else 0,
        "p99_us": pct(99) if latencies else 0,
        "bad": len(out["bad"]),
        "socket_errors": 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--url", required=True)
    parser.add_argument("--body-file", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        pass
    body = Path(args.body_file).read_bytes()
    result = asyncio.run(run(args.url, body, args.concurrency, args.requests, args.seconds))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
