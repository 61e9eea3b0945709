"""The sandbox clock: real time shifted to a chosen "today", so seeded data and tests stay stable."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from sandbox.choices import week_start


class SandboxClock:
    """`today` is real today unless pinned; `now()` keeps the real time of day on the pinned date."""

    def __init__(self, today: date | None = None) -> None:
        self._pinned = today
        self._started = datetime.now(UTC)

    def now(self, tz: timezone) -> datetime:
        real = datetime.now(tz)
        if self._pinned is None:
            return real.replace(microsecond=0)
        # The pinned day is the account's own date at start, whatever UTC's date is then
        # (at 03:00 UTC it is still yesterday in New York).
        shift = self._pinned - self._started.astimezone(tz).date()
        return (real + shift).replace(microsecond=0)

    def today(self, tz: timezone) -> date:
        return self.now(tz).date()


def scheduled_window(word: str, today: date) -> tuple[date, date] | None:
    """The [start, end) dates a `scheduled=` word of /jobs.json stands for, or None if unknown."""
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    monday = week_start(today)
    windows = {
        "today": (today, today + timedelta(days=1)),
        "tomorrow": (today + timedelta(days=1), today + timedelta(days=2)),
        "this_week": (monday, monday + timedelta(days=7)),
        "next_week": (monday + timedelta(days=7), monday + timedelta(days=14)),
        "last_week": (monday - timedelta(days=7), monday),
        "this_month": (month_start, next_month),
        "next_month": (next_month, (next_month + timedelta(days=32)).replace(day=1)),
        "last_month": ((month_start - timedelta(days=1)).replace(day=1), month_start),
    }
    return windows.get(word)
