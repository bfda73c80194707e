"""Clocks an SLA can run on: the wall clock (the default) or a team's business hours.

A calendar answers two questions: what moment is ``seconds`` of working time after ``start``,
and how much working time lies between two moments. Business hours are working days, a daily
window in the team's time zone, and optionally the public holidays of a country (``holidays``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3700  # ten years of calendar days: a bound, so a calendar with no working time fails loudly


class CalendarError(ValueError):
    """A business-hours specification that cannot be used."""


class Calendar(Protocol):
    def add(self, start: datetime, seconds: float) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> float: ...


class WallClock:
    """Every second counts."""

    def add(self, start: datetime, seconds: float) -> datetime:
        """``seconds`` after ``start``."""
        return start + timedelta(seconds=seconds)

    def between(self, start: datetime, end: datetime) -> float:
        """Seconds from ``start`` to ``end`` (0 if ``end`` is earlier)."""
        return max(0.0, (end - start).total_seconds())


WALL_CLOCK = WallClock()


@dataclass(frozen=True)
class BusinessHours:
    """Working days, a daily window in ``zone``, minus ``closed`` dates (holidays)."""

    days: frozenset[int]
    opens: time
    closes: time
    zone: ZoneInfo
    closed: Any = None  # a holidays.HolidayBase, or None

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days or (self.closed is not None and day in self.closed):
            return None
        start = datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(UTC)
        return start, end

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when ``seconds`` of working time after ``start`` have passed."""
        remaining = timedelta(seconds=seconds)
        cursor = start.astimezone(UTC)
        day = cursor.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            window = self._window(day)
            if window is not None and cursor < window[1]:
                begin = max(cursor, window[0])
                available = window[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
                cursor = window[1]
            day += timedelta(days=1)
        raise CalendarError("no working time found within ten years")

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds from ``start`` to ``end`` (0 if ``end`` is earlier)."""
        a, b = start.astimezone(UTC), end.astimezone(UTC)
        if b <= a:
            return 0.0
        total = 0.0
        day = a.astimezone(self.zone).date()
        last = b.astimezone(self.zone).date()
        while day <= last:
            window = self._window(day)
            if window is not None:
                lo, hi = max(a, window[0]), min(b, window[1])
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total


def _days(spec: str) -> frozenset[int]:
    chosen: set[int] = set()
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise CalendarError(f"days: {spec!r} is not like 'mon-fri' or 'mon,wed,fri'")
        a, b = DAYS.index(first), DAYS.index(last or first)
        chosen.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(chosen)


def _time(value: Any, name: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError as exc:
        raise CalendarError(f"{name}: {value!r} is not a time like '09:00'") from exc


def business_hours(spec: dict[str, Any]) -> BusinessHours:
    """Build business hours from ``{"days", "start", "end", "timezone", "country"?, "subdiv"?}``."""
    unknown = set(spec) - {"days", "start", "end", "timezone", "country", "subdiv"}
    if unknown:
        raise CalendarError(f"unknown field(s) {', '.join(sorted(unknown))}")
    try:
        zone = ZoneInfo(str(spec.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"timezone: {spec.get('timezone')!r} is not a known time zone") from exc
    opens, closes = _time(spec.get("start", "09:00"), "start"), _time(spec.get("end", "17:00"), "end")
    if closes <= opens:
        raise CalendarError("end must be after start")
    closed = None
    if spec.get("country"):
        import holidays

        try:
            closed = holidays.country_holidays(str(spec["country"]), subdiv=spec.get("subdiv"))
        except NotImplementedError as exc:
            raise CalendarError(f"country: {spec['country']!r} has no holiday calendar") from exc
    return BusinessHours(days=_days(str(spec.get("days", "mon-fri"))), opens=opens, closes=closes, zone=zone,
                         closed=closed)
