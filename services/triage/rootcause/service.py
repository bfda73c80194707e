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
from services.triage.rootcause.keywords import BUILTIN_KEYWORDS
from services.triage.rootcause.seed_phrases import SEED_PHRASES
from shared.language import normalize
from shared.org import Org

OTHER = "other"
KEYWORD_WEIGHT = 0.35



@dataclass(frozen=True)
class Suggestion:
    code: str
    confidence: float


def keywords_for(org: Org) -> dict[str, tuple[str, ...]]:
    """Built-in keywords plus the org file's, per code."""
    merged = {code: tuple(BUILTIN_KEYWORDS.get(code, ())) for code in org.root_causes}
    for code, cause in org.root_causes.items():
        merged[code] = tuple(dict.fromkeys(merged.get(code, ()) + tuple(normalize(k) for k in cause.keywords)))
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


# A keyword matches where a word starts, in any script: Python's \b takes Bengali vowel signs and
# the virama for non-word characters, so it would match inside a Bengali word. An English keyword
# then ends where the word ends, less a common inflection (charge → charged, charges, charging; app
# is not "apply"); a keyword in another script may begin a longer word, as Bengali inflects by
# suffixes (ডেলিভারি → ডেলিভারিতে, পৌঁছায়নি).
_WORD_CHAR = r"(?:[^\W_]|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u0900-\u0963\u0966-\u0dff\u200c\u200d])"
_ENGLISH_ENDINGS = r"(?:s|es|d|ed|ing|er|ers|ly)?"


def _keyword_regex(term: str, word_end: str) -> str:
    escaped = re.escape(term)
    if not term.isascii():
        return f"({escaped})"
    if term.endswith("e") and len(term) > 3:  # charge → charging
        escaped = rf"(?:{escaped}|{re.escape(term[:-1])}(?=ing))"
    return rf"({escaped}){_ENGLISH_ENDINGS}{word_end}"


@functools.lru_cache(maxsize=128)
def _keyword_pattern(terms: tuple[str, ...], ascii_text: bool = False) -> re.Pattern[str]:
    # one alternation per cause, compiled once; each keyword counts once however often it appears.
    # The word-start check comes once, before the alternation (per keyword it was most of the
    # time); in an ASCII text it is \b, which the engine checks fastest.
    start, end = (r"\b", r"\b") if ascii_text else (f"(?<!{_WORD_CHAR})", f"(?!{_WORD_CHAR})")
    return re.compile(start + "(?:" + "|".join(_keyword_regex(term, end) for term in terms) + ")")


@functools.lru_cache(maxsize=128)
def _searched(terms: tuple[str, ...], ascii_text: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The terms that can appear in a text (only ASCII ones in an ASCII text), and their probes:
    every match starts with a probe (the term, or an English term less its final e)."""
    kept = tuple(term for term in terms if term.isascii()) if ascii_text else terms
    probes = tuple(term[:-1] if term.isascii() and term.endswith("e") and len(term) > 3 else term for term in kept)
    return kept, probes


def keyword_scores(text: str, keywords: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """How many of each cause's keywords appear in ``text`` (keywords are lower case and NFC)."""
    ascii_text = text.isascii()
    words = text.lower() if ascii_text else normalize(text)
    scores: dict[str, int] = {}
    for code, all_terms in keywords.items():
        terms, probes = _searched(all_terms, ascii_text)
        # no probe in the text, no match (a plain loop: a generator per cause was half the time
        # of this function)
        for term in probes:
            if term in words:
                break
        else:
            continue
        pattern = _keyword_pattern(terms, ascii_text)
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
