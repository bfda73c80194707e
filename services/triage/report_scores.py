"""What customers said in a window: NPS, CSAT, CES and stars, by touchpoint, praise vs complaints.

Computed from triage's ``feedback`` table (every feedback triage consumed, ticket or not) in
one grouped pass over ``received_at`` in ``[start, end)``. Follow-up answers (``in_reply_to`` a
ticket) answer our closed-loop message rather than rate a touchpoint, so they are left out.

- NPS: % promoters (9-10) minus % detractors (0-6), from -100 to 100.
- CSAT: % of answers that are 4 or 5 (of 5).
- CES: mean effort score (1-7, higher is easier) and % of answers 5-7.
- Stars: mean rating (1-5).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.triage.models import Feedback

KINDS = ("praise", "complaint", "neutral")


def feedback_scores(session: Session, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Scores, NPS by touchpoint and praise/complaint counts for feedback received in the window."""
    query = (select(Feedback.metric, Feedback.score, Feedback.rating, Feedback.touchpoint, Feedback.kind, func.count())
             .where(Feedback.received_at >= start, Feedback.received_at < end, Feedback.in_reply_to.is_(None))
             .group_by(Feedback.metric, Feedback.score, Feedback.rating, Feedback.touchpoint, Feedback.kind))
    answers: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    nps_by_touchpoint: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    kinds = dict.fromkeys(KINDS, 0)
    for metric, score, rating, touchpoint, kind, count in session.execute(query):
        kinds[kind] = kinds.get(kind, 0) + count
        if metric is not None and score is not None:
            answers[metric][score] += count
            if metric == "nps":
                nps_by_touchpoint[touchpoint or "unspecified"][score] += count
        if rating is not None:
            answers["rating"][rating] += count
    return {
        "scores": {"nps": nps(answers["nps"]), "csat": csat(answers["csat"]), "ces": ces(answers["ces"]),
                   "stars": stars(answers["rating"])},
        "nps_by_touchpoint": sorted(({"touchpoint": tp, **nps(scores)} for tp, scores in nps_by_touchpoint.items()),
                                    key=lambda r: (r["nps"], r["touchpoint"])),
        "feedback": {**kinds, "total": sum(kinds.values())},
    }


def nps(counts: dict[int, int]) -> dict[str, Any]:
    """Net Promoter Score of a score histogram."""
    n = sum(counts.values())
    promoters = sum(c for s, c in counts.items() if s >= 9)
    detractors = sum(c for s, c in counts.items() if s <= 6)
    return {"responses": n, "promoters": promoters, "passives": n - promoters - detractors,
            "detractors": detractors, "nps": round(100.0 * (promoters - detractors) / n, 1) if n else None}


def csat(counts: dict[int, int]) -> dict[str, Any]:
    """Customer satisfaction: share of 4s and 5s."""
    n = sum(counts.values())
    satisfied = sum(c for s, c in counts.items() if s >= 4)
    return {"responses": n, "satisfied": satisfied, "csat": round(100.0 * satisfied / n, 1) if n else None,
            "mean": _mean(counts)}


def ces(counts: dict[int, int]) -> dict[str, Any]:
    """Customer effort: mean score and share of easy answers (5-7)."""
    n = sum(counts.values())
    easy = sum(c for s, c in counts.items() if s >= 5)
    return {"responses": n, "ces": _mean(counts), "easy_percent": round(100.0 * easy / n, 1) if n else None}


def stars(counts: dict[int, int]) -> dict[str, Any]:
    """Star ratings: how many and their mean."""
    return {"responses": sum(counts.values()), "mean": _mean(counts)}


def _mean(counts: dict[int, int]) -> float | None:
    n = sum(counts.values())
    return round(sum(s * c for s, c in counts.items()) / n, 2) if n else None
