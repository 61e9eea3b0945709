"""Warm load against one server: wrk when installed, else bench.loadgen, both in their own process.

Every run is bounded twice: by time (``max_seconds``) and by requests (``max_requests``). wrk stops its
threads once their share of the request budget is answered, but always reports over the full duration,
so when the budget is hit first the figures say so (``budget_hit``) and the rate is a lower bound.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

_WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
local limit = %(limit)d
count = 0
bad = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  count = count + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
  if count >= limit then wrk.thread:stop() end
end
function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '\\nBENCH_JSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"bad":%%d,"socket_errors":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), b,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class LoadResult:
    tool: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    bad: int
    budget_hit: bool

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def load_tool(prefer: str = "auto") -> str:
    if prefer == "python":
        return "python"
    if shutil.which("wrk"):
        return "wrk"
    if prefer == "wrk":
        raise SystemExit("--load-tool wrk: wrk is not installed")
    return "python"


def run_load(
    url: str,
    body: bytes,
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    tool: str = "auto",
) -> LoadResult:
    if urlsplit(url).hostname != "127.0.0.1":
        raise ValueError("load runs target 127.0.0.1 only")
    chosen = load_tool(tool)
    with tempfile.TemporaryDirectory() as tmp:
        if chosen == "wrk" and b"]==]" not in body:
            threads = max(1, min(2, concurrency))
            script = Path(tmp, "post.lua")
            script.write_text(
                _WRK_SCRIPT % {"body": body.decode(), "limit": max(1, max_requests // threads)}
            )
            seconds = max(1, round(max_seconds))
            command = [
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{seconds}s",
                "--timeout",
                f"{max(2, seconds)}s",
                "-s",
                str(script),
                url,
            ]
            timeout = seconds + 30.0
        else:
            chosen = "python"
            body_file = Path(tmp, "body.json")
            body_file.write_bytes(body)
            command = [
                sys.executable,
                "-m",
                "bench.loadgen",
                "--url",
                url,
                "--body-file",
                str(body_file),
                "--concurrency",
                str(concurrency),
                "--requests",
                str(max_requests),
                "--seconds",
                str(max_seconds),
            ]
            timeout = max_seconds + 60
        output = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=True
        ).stdout
    line = next(
        (ln for ln in reversed(output.splitlines()) if ln.startswith(("BENCH_JSON ", "{"))), None
    )
    if line is None:
        raise RuntimeError(f"the load generator printed no result: {output[-500:]}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    seconds_taken = raw["duration_us"] / 1e6
    requests = int(raw["requests"])
    return LoadResult(
        tool=chosen,
        concurrency=concurrency,
        requests=requests,
        seconds=round(seconds_taken, 3),
        rps=round(requests / seconds_taken, 1) if seconds_taken > 0 else 0.0,
        p50_ms=round(raw["p50_us"] / 1000, 3),
        p99_ms=round(raw["p99_us"] / 1000, 3),
        bad=int(raw["bad"]) + int(raw["socket_errors"]),
        budget_hit=requests >= max_requests,
    )
