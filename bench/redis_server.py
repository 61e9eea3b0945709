"""A ``redis-server`` of the bench's own on a free 127.0.0.1 port, and what it says it did.

Debian's ``redis-server`` (and ``redis-cli``, from the same package) from PATH; no persistence, a
temporary directory, stopped (by its own process id) when the block ends. Missing: ``RedisMissing``,
with the way to fix it.

What Redis did is read with ``redis-cli``: ``INFO commandstats`` (calls per command, including the
commands a Lua script runs inside Redis) and ``INFO stats`` (``total_commands_processed``, which counts
those too). Round-trips, the commands a client sent, are counted exactly with ``MONITOR``
(``commands_sent``): a command run by a script shows as sent by ``lua``, and is not one.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import HOST, free_port, process_cpu_seconds, stop_process

NO_REDIS = (
    "{missing} is not on PATH: the state-modes bench measures a real Redis. Install Debian's "
    "package (apt-get install redis-server, which brings redis-cli; scripts/test does), or leave "
    "the state part out."
)
# One MONITOR line: `1700000000.123456 [0 127.0.0.1:40000] "evalsha" "..."`, or `[0 lua]` for a
# command a script ran.
_MONITOR_LINE = re.compile(rb'^\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"')


class RedisMissing(RuntimeError):
    pass


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    cli: str
    directory: Path

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def _cli(self, *args: str, timeout: float = 10.0) -> str:
        return subprocess.run(
            [self.cli, "-h", HOST, "-p", str(self.port), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        ).stdout

    def info(self, section: str) -> dict[str, str]:
        """``INFO section`` as ``{field: value}`` (each call is itself one ``info`` command)."""
        fields: dict[str, str] = {}
        for line in self._cli("info", section).splitlines():
            name, sep, value = line.strip().partition(":")
            if sep and not name.startswith("#"):
                fields[name] = value
        return fields

    def command_calls(self) -> dict[str, int]:
        """Calls so far per command (``INFO commandstats``), plus ``total_commands_processed``
        under ``"*total"``."""
        calls = {
            name.removeprefix("cmdstat_"): int(value.split("calls=", 1)[1].split(",", 1)[0])
            for name, value in self.info("commandstats").items()
            if name.startswith("cmdstat_")
        }
        calls["*total"] = int(self.info("stats")["total_commands_processed"])
        return calls

    def flush(self) -> None:
        self._cli("flushall")

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.process.pid)

    @contextmanager
    def monitor(self) -> Iterator[Callable[[], Counter[str]]]:
        """``MONITOR`` while the block runs; the callable yielded (call it after the block) gives
        the commands clients sent, by name (what scripts ran inside Redis is left out)."""
        process = subprocess.Popen(
            [self.cli, "-h", HOST, "-p", str(self.port), "monitor"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert process.stdout is not None
        lines: list[bytes] = []
        started = threading.Event()

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if line.strip() == b"OK":
                    started.set()
                else:
                    lines.append(line)
            started.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        sent: Counter[str] = Counter()
        try:
            if not started.wait(10):
                raise RuntimeError("redis-cli monitor did not start")
            yield lambda: sent
            time.sleep(0.2)  # what Redis has executed is on its way to the monitor
        finally:
            stop_process(process, timeout=5)
            reader.join(5)
            process.stdout.close()
        for line in lines:
            found = _MONITOR_LINE.match(line)
            if found and found.group(1) != b"lua":
                sent[found.group(2).decode().lower()] += 1


def _answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def require_redis() -> tuple[str, str]:
    """The paths of ``redis-server`` and ``redis-cli`` (``RedisMissing`` when one is not on PATH)."""
    binary, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if binary is None or cli is None:
        raise RedisMissing(
            NO_REDIS.format(missing="redis-server" if binary is None else "redis-cli")
        )
    return binary, cli


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for the block (``RedisMissing`` when it is not installed)."""
    binary, cli = require_redis()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
             "--dir", directory],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        server = RedisServer(process, port, cli, Path(directory))
        try:
            deadline = time.monotonic() + 10
            while not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {HOST}:{port}")
                time.sleep(0.02)
            yield server
        finally:
            stop_process(process, timeout=10)
