"""The SLA clock: due and warning times, and the state a ticket is in at a given moment.

Pure functions of their inputs; ``now`` is always passed in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

ON_TRACK, AT_RISK, BREACHED, MET, MISSED = "on_track", "at_risk", "breached", "met", "missed"


def sla_seconds(priority: str, *, default_seconds: int, by_priority: dict[str, int]) -> int:
    """How long a ticket of ``priority`` has."""
    return by_priority.get(priority, default_seconds)


def due_at(received_at: datetime, seconds: int) -> datetime:
    """When the promise runs out."""
    return received_at + timedelta(seconds=seconds)


def warn_at(received_at: datetime, due: datetime, warning_ratio: float) -> datetime:
    """When a ticket becomes at risk: ``warning_ratio`` of the way from receipt to due."""
    return received_at + (due - received_at) * warning_ratio


def state_at(now: datetime, *, warn: datetime, due: datetime) -> str:
    """SLA state of an open ticket at ``now``."""
    if now >= due:
        return BREACHED
    if now >= warn:
        return AT_RISK
    return ON_TRACK


def outcome(resolved_at: datetime, due: datetime) -> str:
    """``met`` if resolved by the due time, else ``missed``."""
    return MET if resolved_at <= due else MISSED
