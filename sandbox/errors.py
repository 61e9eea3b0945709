"""Errors a handler raises, and the JSON responses they become (bodies are choices.py's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from sandbox import choices


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any], missing_record: bool = False) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.missing_record = missing_record  # its status is the personality's (choices.py)


def missing(kind: str) -> ApiError:
    """A record that does not exist (or that this employee may not see): 400 "Invalid job."."""
    return ApiError(
        choices.MISSING_RECORD_STATUS,
        choices.error_list_body(choices.missing_record_message(kind)),
        missing_record=True,
    )


def invalid(errors: Mapping[str, list[str]]) -> ApiError:
    return ApiError(422, choices.validation_body(dict(errors)))


def invalid_field(field: str, problem: str) -> ApiError:
    return invalid({field: [choices.full_message(field, problem)]})


def error_response(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))
