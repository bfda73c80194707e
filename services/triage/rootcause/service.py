"""Suggesting a root cause for a complaint: keyword evidence plus a naive Bayes text classifier.

The classifier starts from hand-written seed phrases and the org file's keywords, and learns
each cause an employee confirms when resolving a ticket. Keywords add precise evidence when
they appear. Both work offline with no model to download.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from services.triage.rootcause.classifier import NaiveBayes
from services.triage.rootcause.seed_phrases import SEED_PHRASES
from shared.org import Org

OTHER = "other"
KEYWORD_WEIGHT = 0.35

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


def new_classifier(org: Org) -> NaiveBayes:
    """A classifier knowing the seed phrases and the keywords of the org's taxonomy."""
    model = NaiveBayes()
    for code in org.root_causes:
        model.learn_all((phrase, code) for phrase in SEED_PHRASES.get(code, ()))
        for keyword in org.root_causes[code].keywords:
            model.learn(keyword, code)
        if code not in SEED_PHRASES:  # a cause the org file added: its keywords are all we know yet
            model.learn_all((keyword, code) for keyword in BUILTIN_KEYWORDS.get(code, ()))
    return model


@functools.lru_cache(maxsize=64)
def _keyword_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    # one alternation per cause, compiled once; each keyword counts once however often it appears
    return re.compile("|".join(rf"\b({re.escape(term)})" for term in terms))


def keyword_scores(text: str, keywords: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """How many of each cause's keywords appear in ``text``."""
    words = text.lower()
    scores: dict[str, int] = {}
    for code, terms in keywords.items():
        # every match of the pattern starts with one of the terms: no term in the text, no match
        # (a plain loop: a generator per cause was half the time of this function)
        for term in terms:
            if term in words:
                break
        else:
            continue
        pattern = _keyword_pattern(terms)
        found = {match.lastindex for match in pattern.finditer(words)}
        hits = len(found)
        if hits:
            scores[code] = hits
    return scores


def suggest(text: str | None, keywords: dict[str, tuple[str, ...]],
            classifier: NaiveBayes | None = None) -> Suggestion:
    """The most likely cause of ``text`` and how sure we are (``other`` with low confidence if unsure)."""
    words = (text or "").strip()
    hits = keyword_scores(words, keywords)
    probabilities = classifier.probabilities(words, labels=list(keywords)) if classifier and words else {}
    if not hits and not probabilities:
        return Suggestion(OTHER, 0.1)
    combined = dict(probabilities)
    if hits:
        total = sum(hits.values())
        share = 1.0 - KEYWORD_WEIGHT if probabilities else 0.0
        # taxonomy order, so that ties always go the same way
        combined = {code: combined.get(code, 0.0) * share for code in keywords if code in combined or code in hits}
        weight = KEYWORD_WEIGHT if probabilities else min(0.9, 0.5 + 0.1 * total)
        for code, count in hits.items():
            combined[code] += weight * count / total
    best = max(combined, key=lambda code: combined[code])
    return Suggestion(best, round(min(0.99, combined[best]), 3))


def accuracy(examples: Iterable[tuple[str, str]], keywords: dict[str, tuple[str, ...]],
             classifier: NaiveBayes | None) -> float:
    """Top-1 accuracy of :func:`suggest` on labeled ``(text, code)`` examples it never learned."""
    pairs = list(examples)
    right = sum(1 for text, code in pairs if suggest(text, keywords, classifier).code == code)
    return right / len(pairs) if pairs else 0.0
