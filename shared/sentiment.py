"""How a feedback feels: positive, neutral or negative, from its score, refined by its comment.

Both triage (does it open a ticket?) and notify (is it praise or a complaint?) use this, so they
always agree. Scores lead; a comment's own sentiment can turn a positive score into a problem
("10, but the delivery was a disaster") or a neutral one either way, and decides alone when there
is no score (a chat or social message). The comment's language is detected
(:mod:`shared.language`): English is read by VADER, Bengali by the project's own lexicon
(:mod:`shared.sentiment_bn`); a comment in another language leaves the score to decide.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from shared import sentiment_bn
from shared.language import language_of

POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
KIND = {POSITIVE: "praise", NEUTRAL: "neutral", NEGATIVE: "complaint"}

# (negative up to, neutral up to); above is positive. Standard NPS: promoters 9-10.
BUCKETS = {"nps": (6, 8), "csat": (2, 3), "ces": (3, 4), "rating": (2, 3)}
NEGATIVE_COMMENT = -0.35
POSITIVE_COMMENT = 0.5

# Words customers complain with that VADER's lexicon lacks, or reads the other way ("a joke").
CUSTOMER_WORDS = {"rubbish": -2.5, "shambles": -2.5, "shoddy": -2.2, "nightmare": -2.5, "ripoff": -2.5,
                  "rip-off": -2.5, "overcharged": -2.0, "joke": -1.5, "scammed": -2.7, "unreliable": -1.8}

_analyzer: Any = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Sentiment:
    label: str
    kind: str
    score_label: str | None
    comment_score: float | None


def score_bucket(metric: str, score: int) -> str:
    """The bucket of a score on ``metric`` (nps, csat, ces or rating)."""
    negative_max, neutral_max = BUCKETS[metric]
    if score <= negative_max:
        return NEGATIVE
    if score <= neutral_max:
        return NEUTRAL
    return POSITIVE


def looks_english(text: str, locale: str | None) -> bool:
    """Whether VADER (English only) may judge ``text``: the text is English, whatever the locale."""
    return language_of(text, locale) == "en"


def comment_polarity(text: str) -> float:
    """VADER compound score of English ``text``, -1 (very negative) to 1 (very positive)."""
    global _analyzer
    if _analyzer is None:
        with _lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                analyzer = SentimentIntensityAnalyzer()
                analyzer.lexicon.update(CUSTOMER_WORDS)
                _analyzer = analyzer
    return float(_analyzer.polarity_scores(text)["compound"])


def text_polarity(text: str, locale: str | None = None) -> float | None:
    """-1 to 1 for a comment in a language we read (English, Bengali); ``None`` otherwise."""
    language = language_of(text, locale)
    if language == "en":
        return comment_polarity(text)
    if language == "bn":
        return sentiment_bn.polarity(text)
    return None


def classify(*, metric: str | None, score: int | None, rating: int | None, comment: str | None,
             locale: str | None = None) -> Sentiment:
    """Classify a feedback from its score (survey first, then stars) and its comment."""
    score_label = None
    if metric is not None and score is not None:
        score_label = score_bucket(metric, score)
    elif rating is not None:
        score_label = score_bucket("rating", rating)
    polarity = None
    text = (comment or "").strip()
    if text:
        polarity = text_polarity(text, locale)
    label = score_label
    if label is None:
        if polarity is None:
            label = NEUTRAL
        elif polarity <= NEGATIVE_COMMENT:
            label = NEGATIVE
        elif polarity >= POSITIVE_COMMENT:
            label = POSITIVE
        else:
            label = NEUTRAL
    elif polarity is not None and polarity <= NEGATIVE_COMMENT and label != NEGATIVE:
        label = NEGATIVE
    return Sentiment(label=label, kind=KIND[label], score_label=score_label, comment_score=polarity)


def classify_feedback(data: dict[str, Any]) -> Sentiment:
    """Classify a ``feedback.received`` data dict."""
    survey = data.get("survey") or {}
    return classify(metric=survey.get("metric"), score=survey.get("score"), rating=data.get("rating"),
                    comment=data.get("comment"), locale=data.get("locale"))
