"""`kickserv.pages.on_first_envelope`: a page 1's envelope is told before its items are parsed, so
a caller reading the listing whole can send for the other pages a parse earlier."""

from __future__ import annotations

from typing import Any

from kickserv.pages import on_first_envelope, parse_page

from .conftest import will_paginate


def recording() -> tuple[list[Any], Any, Any]:
    events: list[Any] = []

    def told(total_pages: int, per_page: int) -> None:
        events.append(("told", total_pages, per_page))

    def parse(value: object) -> object:
        events.append("parsed")
        return value

    return events, told, parse


def test_page_one_tells_its_page_count_before_its_items_are_parsed():
    events, told, parse = recording()
    body = will_paginate("tasks", [{"id": n} for n in range(3)], 1, 3, 250)
    with on_first_envelope(told):
        page = parse_page(body, ("tasks",), parse, asked_page=1, asked_per_page=3)
    assert events == [("told", 84, 3), "parsed", "parsed", "parsed"]
    assert page.total_pages == 84 and len(page.items) == 3


def test_meta_pagination_is_told_too():
    events, told, parse = recording()
    body = {
        "payments": [{"id": 1}, {"id": 2}],
        "meta": {"pagination": {"current_page": 1, "next_page": 2, "total_pages": 5}},
    }
    with on_first_envelope(told):
        parse_page(body, ("payments",), parse, asked_page=1, asked_per_page=2)
    assert events[0] == ("told", 5, 2)


def test_other_pages_and_reads_outside_are_not_told():
    events, told, parse = recording()
    second = will_paginate("tasks", [{"id": 4}], 2, 3, 250)
    with on_first_envelope(told):
        parse_page(second, ("tasks",), parse, asked_page=2, asked_per_page=3)
    parse_page(will_paginate("tasks", [{"id": 1}], 1, 3, 250), ("tasks",), parse, asked_page=1)
    assert events == ["parsed", "parsed"]
