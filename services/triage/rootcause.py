"""Suggesting a root cause for a complaint: keyword evidence from the taxonomy."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.org import Org

BUILTIN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "product_defect": ("broken", "broke", "defect", "faulty", "stopped working", "doesn't work", "cracked",
                       "damaged", "malfunction", "leak", "crack", "dead on arrival", "quality"),
    "delivery_logistics": ("delivery", "delivered", "courier", "parcel", "package", "shipping", "tracking",
                           "late", "arrived", "driver", "lost in transit"),
    "billing_payment": ("charged", "charge", "invoice", "refund", "billing", "payment", "overcharged",
                        "double", "bill", "subscription"),
    "staff_conduct": ("rude", "impolite", "unprofessional", "attitude", "shouted", "ignored me", "agent was"),
    "slow_response": ("no reply", "no response", "waiting", "waited", "on hold", "days to answer", "slow",
                      "never answered", "still no"),
    "onboarding_docs": ("instructions", "manual", "documentation", "docs", "setup", "set up", "confusing",
                        "how to", "tutorial", "guide"),
    "website_app": ("website", "app", "login", "log in", "page", "crash", "error", "checkout", "button",
                    "password", "site"),
    "pricing_value": ("expensive", "price", "overpriced", "cost", "value for money", "cheaper", "pricey"),
    "policy": ("policy", "return window", "warranty", "terms", "not allowed", "rules"),
}


@dataclass(frozen=True)
class Suggestion:
    code: str
    confidence: float


def keywords_for(org: Org) -> dict[str, tuple[str, ...]]:
    """Built-in keywords plus the org file's, per code."""
    merged = {code: tuple(BUILTIN_KEYWORDS.get(code, ())) for code in org.root_causes}
    for code, cause in org.root_causes.items():
        merged[code] = tuple(dict.fromkeys(merged.get(code, ()) + cause.keywords))
    return merged


def suggest(text: str | None, keywords: dict[str, tuple[str, ...]]) -> Suggestion:
    """The most likely cause of ``text`` and how sure we are (``other`` with low confidence if unsure)."""
    words = (text or "").lower()
    scores: dict[str, int] = {}
    for code, terms in keywords.items():
        hits = sum(1 for term in terms if re.search(rf"\b{re.escape(term)}", words))
        if hits:
            scores[code] = hits
    if not scores:
        return Suggestion("other", 0.1)
    best = max(scores, key=lambda c: scores[c])
    total = sum(scores.values())
    return Suggestion(best, round(min(0.95, scores[best] / total * min(1.0, 0.5 + 0.25 * scores[best])), 3))
