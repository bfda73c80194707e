"""A small multinomial naive Bayes text classifier: needs no model download and learns online.

Words are cut in any script (:func:`shared.language.words`), lower-cased, lightly stemmed (English
and Bengali each by its own rules) and paired into bigrams; common function words are dropped.
Each class keeps token counts, so learning one more confirmed example is an update of a few
counters, never a retraining.
"""

from __future__ import annotations

import functools
import math
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable

from shared.language import VIRAMA, bengali_stem, is_bengali, normalize, split_negation, words

STOP = frozenset(
    "a an the and or but if of to in on at for with from by is are was were be been being it its this that "
    "these those i me my we our you your he she they them their his her as so than then there here have has "
    "had do does did not no just very too also can could would should will shall may might must am".split()
)
# Bengali function words: pronouns, postpositions, particles, the commonest auxiliaries
STOP_BN = frozenset(normalize(w) for w in (
    "আমি আমার আমাকে আমরা আমাদের তুমি তোমার আপনি আপনার আপনাকে আপনারা আপনাদের সে তার তাকে তারা তাদের "
    "এই এটা এটি এগুলো ওই ওটা সেই সেটা যে যা যার কি কী কেন কোন কোনো এবং ও আর বা কিন্তু তবে তো ই "
    "হয় হয়ে হয়েছে হয়েছিল হল হলো ছিল ছিলো ছিলেন আছে আছি আছেন থেকে জন্য দিয়ে নিয়ে সাথে সঙ্গে কাছে "
    "পর পরে আগে মধ্যে একটা একটি এক খুব অনেক শুধু এখন এখনো এখনও তখন না নি নেই নাই নয় "
    "করে করা করতে করেছি করেছে করেছেন করলাম করছি করছে গেছে গেল গিয়ে যায় যাচ্ছে দিন দিলাম"
).split())
SUFFIXES = ("ingly", "edly", "ing", "ed", "ies", "es", "s", "ly")
PREFIX_LETTERS = 3  # a Bengali word's first letters (with their marks) stand for its family too


def stem(word: str) -> str:
    """A crude English suffix stripper: enough to match 'charged', 'charges' and 'charge'."""
    if len(word) > 4 and word.endswith(("ied", "ies")):
        return word[:-3] + "y"
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word.rstrip("e") if len(word) > 4 else word


def _prefix(word: str) -> str | None:
    """The first letters of a Bengali word with the marks that sit on them (never cut inside a conjunct)."""
    letters, end = 0, 0
    for i, char in enumerate(word):
        base = unicodedata.category(char) == "Lo"
        if base and letters == PREFIX_LETTERS and word[i - 1] != VIRAMA:
            break
        if base:
            letters += 1
        end = i + 1
    return word[:end] if end < len(word) and letters == PREFIX_LETTERS else None


@functools.lru_cache(maxsize=1 << 16)
def _terms(word: str) -> tuple[str, ...]:
    # A pure function of one word, and complaints repeat their words: stemming each word anew
    # was a fifth of a root-cause suggestion. Bounded, so that ever-new words (order numbers) only
    # evict old ones.
    if is_bengali(word):
        if word in STOP_BN:
            return ()
        verb, _ = split_negation(word)
        kept = bengali_stem(verb)
        if kept in STOP_BN or len(kept) < 2:
            return ()
        prefix = _prefix(kept)
        return (kept, "~" + prefix) if prefix else (kept,)
    if word.isascii():
        stemmed = stem(word.replace("'", ""))
        return (stemmed,) if stemmed not in STOP and len(stemmed) > 1 else ()
    return (word,) if len(word) > 1 else ()  # another script: the whole word, not English stemming


def tokens(text: str) -> list[str]:
    """Terms of ``text`` in any script and bigrams of adjacent words.

    English words are stemmed; Bengali words are kept whole less one common inflection, and their
    first letters count as one more term (পৌঁছায়নি and পৌঁছাবে share পৌঁছা); function words in
    both languages are dropped.
    """
    kept: list[str] = []
    extra: list[str] = []
    for word in words(text):
        found = _terms(word)
        if found:
            kept.append(found[0])
            extra.extend(found[1:])
    bigrams = [f"{a}_{b}" for a, b in zip(kept, kept[1:], strict=False)]
    return kept + extra + bigrams


class NaiveBayes:
    """Multinomial naive Bayes with Laplace smoothing over :func:`tokens`."""

    def __init__(self, alpha: float = 0.5):
        self.alpha = alpha
        self.counts: dict[str, Counter[str]] = {}
        self.totals: Counter[str] = Counter()
        self.docs: Counter[str] = Counter()
        self.vocabulary: set[str] = set()
        # token → {label: log(count + alpha) - log(alpha)}: what seeing the token adds to each label that has it
        self._boost: dict[str, dict[str, float]] = {}
        self._terms: tuple[tuple[str, ...], list[tuple[str, float, float]]] | None = None
        self.last_example_id = 0  # the newest confirmed example (database row id) learned so far
        self._lock = threading.Lock()

    def learn(self, text: str, label: str, weight: int = 1) -> None:
        """Add one labeled example."""
        found = tokens(text)
        with self._lock:
            bag = self.counts.setdefault(label, Counter())
            for token in found:
                bag[token] += weight
            self.totals[label] += len(found) * weight
            self.docs[label] += weight
            self.vocabulary.update(found)
            self._terms = None
            floor = math.log(self.alpha)
            for token in set(found):
                self._boost.setdefault(token, {})[label] = math.log(bag[token] + self.alpha) - floor

    def learn_all(self, examples: Iterable[tuple[str, str]]) -> None:
        """Add many ``(text, label)`` examples."""
        for text, label in examples:
            self.learn(text, label)

    def probabilities(self, text: str, labels: Iterable[str] | None = None) -> dict[str, float]:
        """P(label | text) for each label; empty if no word of ``text`` was ever seen.

        log P(label) + Σ log((count(token, label) + α) / (total(label) + α·|V|)) over the known tokens,
        summed as a base every label gets (each token at count 0) plus, per token, what it adds to
        the few labels that have it.
        """
        found_all = tokens(text)
        with self._lock:
            found = [t for t in found_all if t in self.vocabulary]
            terms = self._label_terms(tuple(labels if labels is not None else self.counts))
            if not found or not terms:
                return {}
            n = len(found)
            logs = {label: prior + n * per_token for label, prior, per_token in terms}
            for token in found:
                for label, boost in self._boost[token].items():
                    if label in logs:
                        logs[label] += boost
        top = max(logs.values())
        exps = {label: math.exp(value - top) for label, value in logs.items()}
        norm = sum(exps.values())
        return {label: value / norm for label, value in exps.items()}

    def _label_terms(self, labels: tuple[str, ...]) -> list[tuple[str, float, float]]:
        """``(label, log P(label), log(α / (total(label) + α·|V|)))`` of the labels with examples.

        They change only when the model learns, which forgets them; worked out anew for every
        text they were a third of :meth:`probabilities`. Called with the lock held.
        """
        if self._terms is not None and self._terms[0] == labels:
            return self._terms[1]
        candidates = [lbl for lbl in labels if self.docs[lbl] > 0]
        all_docs = sum(self.docs[lbl] for lbl in candidates)
        size, floor = len(self.vocabulary), math.log(self.alpha)
        terms = [(label, math.log(self.docs[label] / all_docs),
                  floor - math.log(self.totals[label] + self.alpha * size)) for label in candidates]
        self._terms = (labels, terms)
        return terms
