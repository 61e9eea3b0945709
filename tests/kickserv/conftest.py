"""Shared pieces of the kickserv client tests: a MockTransport-backed client and envelopes."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from kickserv import KickservClient, UpstreamCall

TOKEN = "tok-3f9a-VERY-SECRET"
BASE = "https://kickserv.test"


class Recorder:
    """Collects sleeps and observer calls so tests can assert waits without waiting. Its clock
    moves only when something sleeps (deadlines and the governor's turns are timed by it)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.calls: list[UpstreamCall] = []
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def observe(self, call: UpstreamCall) -> None:
        self.calls.append(call)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


MakeClient = Callable[..., KickservClient]


@pytest.fixture
async def make_client(recorder: Recorder) -> AsyncIterator[MakeClient]:
    opened: list[httpx.AsyncClient] = []

    def make(handler: Callable[[httpx.Request], Any], **options: Any) -> KickservClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        opened.append(http)
        options.setdefault("sleep", recorder.sleep)
        options.setdefault("clock", recorder.clock)
        options.setdefault("on_response", recorder.observe)
        options.setdefault("draw", lambda: 0.0)
        return KickservClient("demo", TOKEN, base_url=BASE, http=http, **options)

    yield make
    for http in opened:
        await http.aclose()


def will_paginate(plural: str, entries: list[Any], page: int, per_page: int, total: int) -> dict:
    pages = math.ceil(total / per_page) if total else 0
    return {
        plural: entries,
        "current_page": page,
        "per_page": per_page,
        "total_entries": total,
        "total_pages": pages,
        "next_page": page + 1 if page < pages else None,
        "previous_page": page - 1 if page > 1 else None,
    }


def customer(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": 10_000_000 + number,
        "customer_number": number,
        "name": f"Customer {number}",
        "service_city": "Springfield",
        "balance": "0.0",
        "created_at": "2024-01-02T03:04:05-05:00",
        "custom_text1": None,
        **extra,
    }


def paged_customers(total: int, max_per_page: int = 100) -> Callable[[httpx.Request], Any]:
    """A handler serving `total` customers with will_paginate, clamping per_page like Kickserv."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        per_page = min(int(request.url.params.get("per_page", "25")), max_per_page)
        start = (page - 1) * per_page
        numbers = range(start + 1, min(start + per_page, total) + 1)
        body = will_paginate("customers", [customer(n) for n in numbers], page, per_page, total)
        return httpx.Response(200, json=body)

    return handler
