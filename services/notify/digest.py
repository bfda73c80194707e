"""The daily and weekly digest: which window it covers, and what it says.

The window ends at the scheduled time (``digest.daily_at`` in ``digest.timezone``, and for the
weekly one on ``digest.weekly_day``) at or before ``now``, so a late or repeated run covers the
same window and is recognised as already sent.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.notify.messages import Message, Section

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PERIODS = ("daily", "weekly")


def period_window(period: str, *, now: datetime, digest: dict[str, Any]) -> tuple[datetime, datetime, str]:
    """``(start, end, key)`` of the digest due at or before ``now``."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    zone = ZoneInfo(digest.get("timezone") or "UTC")
    hour, minute = (int(p) for p in (digest.get("daily_at") or "08:00").split(":"))
    local = now.astimezone(zone)
    end = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
    if end > local:
        end -= timedelta(days=1)
    if period == "weekly":
        back = (end.weekday() - DAYS.index(digest.get("weekly_day") or "mon")) % 7
        end -= timedelta(days=back)
    start = end - timedelta(days=1 if period == "daily" else 7)
    return start, end, end.date().isoformat()


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _quote(item: dict[str, Any]) -> str:
    where = f" ({item['touchpoint']})" if item.get("touchpoint") else ""
    score = f"{item['score']} " if item.get("score") else ""
    return f"{score}{where.strip()}: \u201c{item['comment']}\u201d".strip()


def digest_message(period: str, stats: dict[str, Any], *, start: datetime, end: datetime, feed_url: str) -> Message:
    """The digest as a message: counts, NPS, best praise, worst complaints, breaches, root causes."""
    counts = stats["counts"]
    nps = stats["nps"]
    nps_text = f"{nps['score']:+d} ({nps['responses']} answers)" if nps["score"] is not None else "no NPS answers"
    span = f"{start:%a %d %b %H:%M} to {end:%a %d %b %H:%M %Z}"
    title = "Daily" if period == "daily" else "Weekly"
    sections = [
        Section("Best praise", [_quote(i) for i in stats["best_praise"]] or ["No praise with a comment."]),
        Section("Worst complaints", [_quote(i) for i in stats["worst_complaints"]] or ["No complaints."]),
        Section("Top root causes",
                [f"{c['label']}: {c['count']}" for c in stats["root_causes"]] or ["No tickets resolved."]),
    ]
    if stats["breaches"]:
        sections.append(Section("SLA breaches", [
            f"{b['team']}: ticket {b['ticket_id'][:8]} ({b['touchpoint'] or 'no touchpoint'})"
            for b in stats["breaches"]]))
    return Message(
        subject=f"{title} digest: {counts['praise']} praise, {_plural(counts['complaint'], 'complaint')}, "
                f"{_plural(stats['breach_count'], 'SLA breach', 'SLA breaches')}",
        headline=f"{title} digest, {span}", kind="digest",
        facts=[("Feedback", str(counts["total"])), ("Praise", str(counts["praise"])),
               ("Complaints", str(counts["complaint"])), ("Neutral", str(counts["neutral"])),
               ("NPS", nps_text), ("Tickets resolved", str(stats["resolved"])),
               ("SLA breaches", str(stats["breach_count"]))],
        sections=sections, links=[("Open the org feed", feed_url)],
        data={"period": period, "start": start.isoformat(), "end": end.isoformat(), **stats},
    )
