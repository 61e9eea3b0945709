"""What a write can refuse or fail with, beside the Kickserv client's own exceptions.

```
WriteError                    base; the graph maps each to a stable code (graph/mutations)
├── InvalidInput              bad input, found before any upstream call or named by Kickserv's 422
├── IdempotencyKeyReused      the key was used with different input
├── IdempotencyKeyInUse       a duplicate is still running past our patience
├── LeaseLost                 another replica took the key over while this one was slow
└── RecordedFailure           a failure kept as the key's outcome (replays raise it again)
    └── TotalsMismatch        Kickserv's invoice totals differ from the exact sum of its charges
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One bad input field: its path in the mutation's arguments and what is wrong."""

    path: Path
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "message": self.message}


class WriteError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(WriteError):
    def __init__(self, problems: Sequence[FieldProblem], *, upstream: bool = False) -> None:
        first = problems[0]
        where = ".".join(str(p) for p in first.path)
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        source = "Kickserv refused" if upstream else "Invalid"
        super().__init__(f"{source} `{where}`: {first.message}{more}")
        self.problems = tuple(problems)
        self.upstream = upstream


class IdempotencyKeyReused(WriteError):
    pass


class IdempotencyKeyInUse(WriteError):
    pass


class LeaseLost(WriteError):
    pass


class RecordedFailure(WriteError):
    """A failure that is the key's outcome: the write is done, a replay answers the same."""

    code = "WRITE_FAILED"

    def __init__(self, message: str, extensions: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.extensions = dict(extensions or {})

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "extensions": self.extensions}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> RecordedFailure:
        kind = TotalsMismatch if data.get("code") == TotalsMismatch.code else RecordedFailure
        failure = kind(str(data.get("message", "")), data.get("extensions"))
        return failure


class TotalsMismatch(RecordedFailure):
    code = "TOTALS_MISMATCH"
