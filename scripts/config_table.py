"""Write the README's Configuration table from graph/server/settings.py (the one place each variable
is documented): `.venv/bin/python scripts/config_table.py`. tests/graph/test_app.py checks they
agree."""

from __future__ import annotations

import sys
from pathlib import Path

from graph.server.environment import configuration_table

README = Path(__file__).resolve().parents[1] / "README.md"
HEADING = "## Configuration\n"


def configuration_section(text: str) -> tuple[int, int]:
    """Where the Configuration section's table starts and ends in the README."""
    start = text.index("| variable | default | meaning |", text.index(HEADING))
    end = text.find("\n\n", start)
    return start, len(text) if end == -1 else end


def main() -> int:
    text = README.read_text()
    start, end = configuration_section(text)
    README.write_text(text[:start] + configuration_table() + text[end:])
    print(f"wrote the Configuration table of {README.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
