"""How a Bengali comment feels, from a lexicon written for this project: offline, no model.

Each word (after the light stemming of :mod:`shared.language`) or short phrase carries a valence
from -3 to 3. Intensifiers (খুব, একদম) strengthen the next sentiment word; a negation after it
(না, নেই, নয়, or a verb ending in -নি) turns it around, as Bengali puts the negation after the
verb or adjective: "ভালো না" is not good, "কোনো সমস্যা হয়নি" had no problem. A negated verb with
no sentiment word of its own ("পাইনি", "কাজ করে না") is a let-down. What follows কিন্তু/তবে (but)
weighs more than what comes before. The sum is squashed into -1..1 like VADER's compound score.
"""

from __future__ import annotations

import math
import unicodedata

from shared.language import bengali_stem, is_bengali, split_negation, words

_POSITIVE = {
    3: "দারুণ দারুন চমৎকার অসাধারণ অসাধারন সেরা শ্রেষ্ঠ নিখুঁত মুগ্ধ অনবদ্য অতুলনীয় বেস্ট এক্সিলেন্ট "
       "অসাম পারফেক্ট ভালোবাসি ভালবাসি লাভ চমৎকারভাবে",
    2: "ভালো ভাল সুন্দর ধন্যবাদ ধন্যবাদান্তে কৃতজ্ঞ কৃতজ্ঞতা খুশি সন্তুষ্ট সন্তুষ্টি সন্তোষজনক পছন্দ প্রশংসা "
       "প্রশংসনীয় আন্তরিক ভদ্র বিনয়ী সহায়ক সহযোগিতা উপকার উপকৃত আরামদায়ক টেকসই মজবুত সুবিধাজনক সাশ্রয়ী "
       "যত্নশীল পেশাদার প্রিয় উত্তম চমক অভিনন্দন শুভকামনা সুপারিশ রেকমেন্ড সুপার নাইস গ্রেট থ্যাংকস "
       "থ্যাঙ্কস থ্যাংক ওয়াও বাহ স্বস্তি নিশ্চিন্ত মানসম্মত মানসম্পন্ন উন্নতমানের ফ্রেশ তাজা সুস্বাদু মজাদার",
    1: "দ্রুত তাড়াতাড়ি সময়মতো সময়মত ঠিকঠাক ঠিকঠাকমতো সহজ সাহায্য যত্ন আস্থা ভরসা উন্নত যুক্তিসঙ্গত "
       "ফাস্ট গুড ওকে সমাধান সমাধানে",
}
_NEGATIVE = {
    3: "ফালতু জঘন্য প্রতারণা প্রতারক ঠকানো ঠকিয়েছে ঠকিয়েছেন ঠকলাম ধোঁকা জালিয়াতি চুরি ভয়াবহ ভয়ঙ্কর "
       "হয়রানি ভোগান্তি অকেজো দুর্ব্যবহার ওয়ার্স্ট ফ্রড বাটপার বাটপারি",
    2: "খারাপ বাজে বিরক্ত বিরক্তিকর বিরক্তি হতাশ হতাশাজনক হতাশা নিরাশ রাগ রাগান্বিত ক্ষুব্ধ অসন্তুষ্ট নষ্ট "
       "ভাঙা ভাঙ্গা ভেঙে ভেঙ্গে ত্রুটি ত্রুটিপূর্ণ অভদ্র বেয়াদব অপমান অপমানজনক ধমক অবহেলা দায়িত্বজ্ঞানহীন "
       "অযোগ্য ব্যর্থ কষ্ট দুঃখজনক লজ্জাজনক অন্যায় অন্যায্য অযৌক্তিক নিম্নমানের নিম্নমান নকল ভেজাল পচা "
       "নোংরা ছেঁড়া ফাটা ফেটে অপচয় ক্ষতি ক্ষতিগ্রস্ত ঝামেলা বেকার অকার্যকর আফসোস মিথ্যা মিথ্যে "
       "ফেক ড্যামেজ ডিফেক্টিভ রুড বিভ্রান্তিকর ঠান্ডা গাফিলতি দুর্নীতি লস অসহ্য",
    1: "সমস্যা অভিযোগ দেরি দেরিতে বিলম্ব বিলম্বে ভুল ফেরত রিফান্ড অতিরিক্ত ব্যয়বহুল চড়া আটকে আটকা "
       "হ্যাং ক্র্যাশ এরর স্লো ধীর ধীরগতি জটিল অস্পষ্ট কঠিন লেট বন্ধ অপেক্ষা বাতিল চিৎকার ভুগছি "
       "ভুগতে উত্তরহীন",
}
# multi-word expressions, matched on stemmed words before single words
_PHRASES = {
    "কাজ করে না": -2.5, "কাজ করছে না": -2.5, "কাজ করেনা": -2.5, "চালু হয় না": -2, "চালু হচ্ছে না": -2,
    "টাকা ফেরত": -2, "টাকা নষ্ট": -3, "টাকাটাই নষ্ট": -3, "আর কখনো": -2, "আর কখনও": -2, "কেউ ধরে না": -2,
    "সাড়া নেই": -2, "উত্তর নেই": -2, "ঠিক আছে": 0.5, "ভালো লেগেছে": 2.5, "ভালো লাগলো": 2.5,
    "ভালো লাগল": 2.5, "মন ভরে": 2.5, "মন খারাপ": -2, "খারাপ ব্যবহার": -3, "ভালো ব্যবহার": 2.5,
    "দাম বেশি": -1.5, "দাম অনেক বেশি": -2, "সময় নষ্ট": -2.5, "আশা করিনি": -1, "কোনো সমস্যা নেই": 1.5,
    "কোন সমস্যা নেই": 1.5, "ওয়েস্ট অফ মানি": -3, "থ্যাংক ইউ": 2, "জলে গেল": -2.5, "জলে গেছে": -2.5,
    "পানিতে গেল": -2.5,
}
INTENSIFIERS = {"খুব": 1.4, "খুবই": 1.5, "অনেক": 1.3, "একদম": 1.5, "একেবারে": 1.5, "একেবারেই": 1.6,
                "অত্যন্ত": 1.5, "ভীষণ": 1.5, "প্রচণ্ড": 1.6, "সবচেয়ে": 1.5, "বেশ": 1.2, "খুউব": 1.5,
                "অসম্ভব": 1.5, "চরম": 1.6, "মারাত্মক": 1.6}
NEGATORS = frozenset(("না", "নি", "নেই", "নাই", "নয়", "নহে", "নাহ", "নো"))
BUT = frozenset(("কিন্তু", "তবে", "তবুও", "অথচ"))
EMOJI = {"👍": 2, "😊": 2, "😍": 3, "❤": 3, "🥰": 3, "🙏": 1.5, "👏": 2, "😀": 2, "😃": 2, "😁": 2,
         "👎": -2, "😡": -3, "😠": -2.5, "😤": -2, "😞": -2, "😢": -2, "😭": -2, "🤬": -3, "💔": -2}
NEGATED_VERB = -1.0  # "পাইনি" (did not get), "আসেনি" (did not come): a let-down with no word of its own
FLIP = -0.75  # a negated sentiment word turns around, a little weaker: "খারাপ না" is fair, not great
# verbs that carry a predicate without meaning much alone: "ভালো লাগে না", "ঠিক হয় না"
LIGHT_VERBS = ("হয় হচ্ছে হলো হল হয়ে লাগে লাগছে লাগল লাগলো করে করছে করল আছে ছিল দেয় দিচ্ছে চলে পারে "
               "যায় যাচ্ছে")
ALPHA = 4.0  # squashing: one clear word (±2) gives about ±0.7


def _key(text: str) -> str:
    return " ".join(_stems(text)[0])


def _stems(text: str) -> tuple[list[str], list[bool]]:
    """Stemmed words of ``text`` and whether each was a verb with the negative ending -নি."""
    stems: list[str] = []
    negated: list[bool] = []
    for word in words(text):
        if is_bengali(word):
            verb, neg = split_negation(word)
            stems.append(bengali_stem(verb) if verb not in NEGATORS else verb)
            negated.append(neg)
        else:
            stems.append(word)
            negated.append(False)
    return stems, negated


def _lexicon() -> dict[str, float]:
    found: dict[str, float] = {}
    for table, sign in ((_POSITIVE, 1), (_NEGATIVE, -1)):
        for valence, listed in table.items():
            for word in listed.split():
                found.setdefault(_key(word), sign * valence)
    return found


LEXICON = _lexicon()
PHRASES = {tuple(_key(phrase).split()): value for phrase, value in _PHRASES.items()}
_INTENSIFIERS = {_key(word): factor for word, factor in INTENSIFIERS.items()}
_BUT = {_key(word) for word in BUT}
_LIGHT_VERBS = {_key(word) for word in LIGHT_VERBS.split()} | set(LIGHT_VERBS.split())
_LONGEST = max(len(p) for p in PHRASES)


def polarity(text: str) -> float | None:
    """-1 (very negative) to 1 (very positive); ``None`` if no word of ``text`` carries sentiment."""
    stems, negated = _stems(text)
    valences: list[tuple[int, float]] = []  # (position, valence) of each sentiment word or phrase
    i, boost, but_at = 0, 1.0, -1
    # a negation word, or a verb ending in -নি that is no sentiment word itself (হয়নি, পাইনি)
    negations = [n for n, word in enumerate(stems)
                 if word in NEGATORS or (negated[n] and word not in LEXICON and word not in _BUT)]
    while i < len(stems):
        word = stems[i]
        if word in _BUT:
            but_at = len(valences)
            i += 1
            continue
        if word in _INTENSIFIERS:
            boost = max(boost, _INTENSIFIERS[word])
            i += 1
            continue
        span, value = 1, None
        for size in range(min(_LONGEST, len(stems) - i), 1, -1):
            phrase = PHRASES.get(tuple(stems[i:i + size]))
            if phrase is not None:
                span, value = size, phrase
                break
        if value is None:
            value = LEXICON.get(word)
            if value is not None and negated[i]:
                value *= FLIP
            elif value is not None and span == 1 and _negated_after(i, negations, stems):
                value *= FLIP
        if value is not None:
            valences.append((i, value * boost))
            boost = 1.0
        i += span
    # a negation with nothing to turn around: "অর্ডার আসে না" (the order does not come)
    for at in negations:
        if not any(_reaches(pos, at, stems) for pos, _ in valences):
            valences.append((at, NEGATED_VERB))
    emoji = sum(value for char, value in EMOJI.items() if char in text)
    if not valences and not emoji:
        return None
    values = [value for _, value in sorted(valences)]
    if but_at >= 0:
        values = [v * (0.5 if n < but_at else 1.5) for n, v in enumerate(values)]
    total = sum(values) + emoji
    return round(total / math.sqrt(total * total + ALPHA), 4)


def _reaches(i: int, at: int, stems: list[str]) -> bool:
    """Whether a negation at ``at`` turns word ``i`` around: the word right before it, or before a
    light verb ("ভালো না", "ভালো লাগে না", "সমস্যা হয়নি"); Bengali negates the predicate it follows."""
    return i == at - 1 or (i == at - 2 and stems[at - 1] in _LIGHT_VERBS) or (i == at and at < len(stems)
                                                                                 and stems[at] not in NEGATORS)


def _negated_after(i: int, negations: list[int], stems: list[str]) -> bool:
    """Whether a negation follows word ``i`` closely enough to turn it around."""
    return any(_reaches(i, at, stems) for at in negations if at > i)


def has_bengali(text: str) -> bool:
    """Whether ``text`` has any Bengali letter."""
    return any("\u0980" <= c <= "\u09ff" and unicodedata.category(c) == "Lo" for c in text)
