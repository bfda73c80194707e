"""The language a customer wrote in, as an ISO 639-1 code ("en", "bn"), detected offline.

Lingua's detector is restricted to the languages Closeloop reads (English and Bengali): with one
language per script it decides by the script alone, needs none of its n-gram models, and is both
fast (microseconds) and sure on short text. It is built once per process, on first use. Text with
no letters has no language (``None``).

A text in a Latin-script language other than English is reported as English, the one
Latin-script language the detector knows; callers that have the customer's ``locale`` can weigh
it (see :func:`language_of`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

SUPPORTED: tuple[str, ...] = ("en", "bn")

_detector: Any = None
_lock = threading.Lock()


def _build() -> Any:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

                languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in SUPPORTED]
                _detector = LanguageDetectorBuilder.from_languages(*languages).build()
    return _detector


_BENGALI_LETTER = re.compile(r"[\u0980-\u09ff]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


def detect_language(text: str | None) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or ``None`` if it has no letters."""
    if not text or not any(c.isalpha() for c in text):
        return None
    # The detector knows English and Bengali only, so a text in one script is settled by its
    # script (about 50 µs a comment saved on the consumer's path); mixed text goes to the detector.
    bengali = _BENGALI_LETTER.search(text) is not None
    if bengali != (_LATIN_LETTER.search(text) is not None):
        return "bn" if bengali else "en"
    found = _build().detect_language_of(text)
    return None if found is None else str(found.iso_code_639_1.name).lower()


def locale_language(locale: str | None) -> str | None:
    """The language part of a locale: ``bn-BD`` and ``bn_BD`` give ``bn``; ``None`` for none."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-", 1)[0].strip().lower()
    return code or None


def language_of(text: str | None, locale: str | None = None) -> str | None:
    """The language of ``text``, with the customer's ``locale`` as a hint.

    The text decides: a Bengali-locale customer who writes English wrote English. Only where the
    detector cannot tell (Latin script it reads as English) and the locale names a language it
    does not know (``fr``) does the locale win.
    """
    detected = detect_language(text)
    hinted = locale_language(locale)
    if detected == "en" and hinted is not None and hinted not in SUPPORTED:
        return hinted
    return detected


# --- words in any script -------------------------------------------------------------------
#
# Python's ``\w`` leaves out combining marks (Bengali vowel signs, the virama, the nukta), so it
# would cut "টাকা" into pieces. A word here is a run of letters or digits together with the marks,
# joiners (ZWJ/ZWNJ) and Indic signs that belong to them; the Indic dandas (।॥) end a word.
WORD = re.compile(
    r"(?:[^\W_]|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u0900-\u0963\u0966-\u0dff\u200c\u200d])+"
    r"(?:'[^\W\d_]+)?"
)
BENGALI_FIRST, BENGALI_LAST = "\u0980", "\u09ff"
VIRAMA, NUKTA = "\u09cd", "\u09bc"
VOWEL_SIGNS = frozenset("\u09be\u09bf\u09c0\u09c1\u09c2\u09c3\u09c4\u09c7\u09c8\u09cb\u09cc")
# case, number and classifier endings, longest first: পণ্যটা → পণ্য, টাকার → টাকা, বাক্সে → বাক্স
BENGALI_SUFFIXES = tuple(unicodedata.normalize("NFC", s) for s in (
    "গুলোকে", "গুলোর", "গুলোতে", "গুলো", "গুলি", "গুলা", "দেরকে", "দের", "টাকে", "টার", "টাতে", "টায়",
    "টিকে", "টির", "টিতে", "টুকু", "খানা", "টা", "টি", "কে", "তে", "েরা", "য়ে", "য়", "ের", "র", "ে",
))
NEGATION_SUFFIX = "নি"  # পৌঁছায়নি = did not arrive: the verb and its negation
NOT_NEGATED = frozenset(("কোম্পানি", "পানি", "চিনি", "কাহিনি", "খুনি", "জানি", "এখনি", "শনি", "ধ্বনি", "খনি",
                         "বাণি", "রানি", "মানি", "সেমিনি"))


def normalize(text: str) -> str:
    """NFC and lower case: ``য়`` typed as one code point or as ``য`` plus nukta compare equal."""
    return unicodedata.normalize("NFC", text).lower()


ASCII_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # what WORD finds in lower-case ASCII, found faster


def words(text: str) -> list[str]:
    """The words of ``text`` in any script, normalized, each kept whole (marks and joiners included)."""
    if text.isascii():
        return ASCII_WORD.findall(text.lower())
    return WORD.findall(normalize(text))


def is_bengali(word: str) -> bool:
    """Whether ``word`` is written in Bengali script."""
    return bool(word) and BENGALI_FIRST <= word[0] <= BENGALI_LAST


def _letters(word: str) -> int:
    # base letters, not the marks that sit on them: কোম্পানি has five
    return sum(1 for c in word if unicodedata.category(c) == "Lo")


def split_negation(word: str) -> tuple[str, bool]:
    """``(verb, True)`` for a verb carrying the negative ending -নি (হয়নি, পাইনি), else ``(word, False)``."""
    if word.endswith(NEGATION_SUFFIX) and word not in NOT_NEGATED and len(word) > 3:
        before = word[-3]
        if before in VOWEL_SIGNS or before == NUKTA or before in "ইউএও" or word[-4:-2] == "য়":
            return word[:-2], True
    return word, False


def bengali_stem(word: str) -> str:
    """``word`` without one common inflection (-টা, -টি, -গুলো, -এর, -কে, -তে, -য়, -ে …).

    Light on purpose: a suffix goes only if at least two letters stay, and -র only after a vowel
    sign other than -া (কোম্পানির → কোম্পানি, but বাজার and ব্যবহার stay whole).
    """
    for suffix in BENGALI_SUFFIXES:
        if not word.endswith(suffix):
            continue
        stem = word[: -len(suffix)]
        if _letters(stem) < 2 or stem.endswith(VIRAMA):
            continue
        if suffix == "র" and (stem[-1] not in VOWEL_SIGNS or stem[-1] == "\u09be"):
            continue
        if suffix == "\u09c7" and _letters(stem) < 3:  # করে, দেখে: a short verb form, not a locative
            continue
        return stem
    return word
