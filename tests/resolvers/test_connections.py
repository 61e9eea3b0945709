from __future__ import annotations

import pytest

from resolvers.connections import BadCursor, decode_cursor, encode_cursor, plan_window


@pytest.mark.parametrize(
    ("offset", "first", "max_per_page", "expected_pages"),
    [
        (0, 10, 100, 1),
        (0, 100, 100, 1),
        (0, 101, 100, 2),
        (90, 20, 100, 1),
        (250, 100, 100, 2),
        (0, 5, 25, 1),
    ],
)
def test_window_touches_the_fewest_pages(offset, first, max_per_page, expected_pages):
    plan = plan_window(offset, first, max_per_page)
    assert len(plan.numbers) == expected_pages
    covered = range((plan.numbers[0] - 1) * plan.per_page, plan.numbers[-1] * plan.per_page)
    assert offset in covered and offset + first - 1 in covered
    assert plan.skip == offset - (plan.numbers[0] - 1) * plan.per_page
    assert plan.per_page <= max_per_page


def test_prefers_the_largest_page_size_for_cache_reuse():
    assert plan_window(0, 10, 100).per_page == 100
    assert plan_window(30, 10, 100).per_page == 100


def test_every_window_is_covered_exhaustively():
    for offset in range(0, 120, 7):
        for first in range(1, 130, 11):
            plan = plan_window(offset, first, 50)
            start = (plan.numbers[0] - 1) * plan.per_page
            end = plan.numbers[-1] * plan.per_page
            assert start <= offset and offset + first <= end
            assert len(plan.numbers) >= -(-first // 50)


def test_cursor_round_trip_and_garbage():
    assert decode_cursor(encode_cursor(1234)) == 1234
    for bad in ("", "abc", encode_cursor(1)[:-1] + "!", "a3M6LTE"):
        with pytest.raises(BadCursor):
            decode_cursor(bad)
