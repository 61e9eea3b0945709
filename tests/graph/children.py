"""Child processes of the metrics and access-log tests: a clean environment, and a stop."""

from __future__ import annotations

import os
import subprocess


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without the server's own variables (or a metrics directory a
    shell may have set), plus ``extra``."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GRAPH_", "KICKSERV_", "SANDBOX_", "PROMETHEUS_"))
    }
    return {**kept, **extra}


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
