"""`python -m sandbox`: the same as `kickserv-graph sandbox`."""

from __future__ import annotations

import sys

from sandbox.cli import main

sys.exit(main())
