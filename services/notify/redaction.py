"""Removing personal data from what is broadcast: emails, phone numbers, card-like numbers."""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by spaces or dashes, that pass the Luhn check.
CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
# International or national numbers with at least 7 digits, allowing spaces, dots, dashes, brackets.
PHONE = re.compile(r"(?<![\w+(])(?:\+|00)?\(?\d[\d\s().\-]{5,18}\d(?![\w])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def _phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if DATE.fullmatch(match.group(0)):  # "2026-11-02" or "02.11.2026" is a date, not a phone number
        return match.group(0)
    return "[phone]" if 7 <= len(digits) <= 15 else match.group(0)


def redact(text: str | None) -> str | None:
    """``text`` with emails, card numbers and phone numbers replaced by placeholders."""
    if not text:
        return text
    text = EMAIL.sub("[email]", text)
    text = CARD.sub(_card, text)
    return PHONE.sub(_phone, text)
