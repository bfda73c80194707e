"""What customers said in a window: NPS, CSAT, CES and stars, by touchpoint, praise vs complaints.

Computed from the grouped rows ``aggregates.feedback_rows`` reads for ``received_at`` in
``[start, end)`` (every feedback triage consumed, ticket or not). Follow-up answers
(``in_reply_to`` a ticket) answer our closed-loop message rather than rate a touchpoint, so they
are left out there.

- NPS: % promoters (9-10) minus % detractors (0-6), from -100 to 100.
- CSAT: % of answers that are 4 or 5 (of 5).
- CES: mean effort score (1-7, higher is easier) and % of answers 5-7.
- Stars: mean rating (1-5).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

KINDS = ("praise", "complaint", "neutral")


def feedback_scores(rows: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
    """Scores, NPS by touchpoint and by day, praise/complaint counts from
    ``(day, metric, score, rating, touchpoint, kind, n)``."""
    answers: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    nps_by_touchpoint: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    nps_by_day: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    kinds = dict.fromkeys(KINDS, 0)
    for day, metric, score, rating, touchpoint, kind, n in rows:
        count = int(n)
        kinds[kind] = kinds.get(kind, 0) + count
        if metric is not None and score is not None:
            answers[metric][score] += count
            if metric == "nps":
                nps_by_touchpoint[touchpoint or "unspecified"][score] += count
                nps_by_day[str(day)][score] += count
        if rating is not None:
            answers["rating"][rating] += count
    return {
        "scores": {"nps": nps(answers["nps"]), "csat": csat(answers["csat"]), "ces": ces(answers["ces"]),
                   "stars": stars(answers["rating"])},
        "nps_by_touchpoint": sorted(({"touchpoint": tp, **nps(scores)} for tp, scores in nps_by_touchpoint.items()),
                                    key=lambda r: (r["nps"], r["touchpoint"])),
        "nps_by_day": [{"day": day, **nps(scores)} for day, scores in sorted(nps_by_day.items())],
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
