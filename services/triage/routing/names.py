"""Who a comment names: "Ben Okafor hung up on me" names Ben, so Ben is not the one to answer it.

Names come from the org file. A comment names someone when it holds their full name (any case),
their first and last name apart ("Okafor, Ben"), or one of the two on its own written with a
capital ("Ben was rude", "Mr Okafor"). A name part that is also an everyday word ("Will", "Bill",
"Park", "Price") counts only inside the full name or with the other part: "Will you call me back?"
names nobody. Naming someone who is not meant costs little (another member answers), missing
someone who is meant puts a complaint in front of the person it is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shared.org import User

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# first and last names that are also words a comment uses for other things
COMMON_WORDS = frozenset("""
    will bill mark may june april august summer winter autumn rose joy hope faith grace sue pat rob jack frank
    art ray dawn drew chase gene penny sky amber ruby pearl iris lily ivy holly daisy violet heather olive hazel
    storm river rain sunny sandy rusty buddy guy don dean earl king prince duke major sterling miles page
    bob sol max rich sunday monday friday christian hunter ash bay bud cliff dale glen jay jean jewel lance
    long young brown white black green gray grey hill wood woods stone park bell cook baker best fox hunt price
    rice law hall lane ford field fields banks bank church cash post ship shipp west east north south little
    love lovely good goodman hardy strong moon star day night early late swift short small tall wise sharp
    bond card carter chance charge chip close cole dash deal door fair free gold hay holiday lord lucky
    march marsh mason money nice noble oak page parks person pool port powers rivers rock rush sale sage
    savage shop silver snow spring street sweet temple trip waters wells wish word worth bright
    the and but not for you our your his her was are one all any can
""".split())


@dataclass(frozen=True)
class _Person:
    user_id: str
    full: re.Pattern[str]
    first: str
    last: str | None


class NameIndex:
    """The org's people by name, to find the ones a comment names."""

    def __init__(self, users: Iterable[User]):
        self.people: list[_Person] = []
        for user in users:
            parts = [p.lower() for p in WORD.findall(user.name)]
            if not parts:
                continue
            full = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(p) for p in parts) + r"(?!\w)", re.IGNORECASE)
            self.people.append(_Person(user.id, full, parts[0], parts[-1] if len(parts) > 1 else None))

    def named(self, text: str | None) -> set[str]:
        """The ids of the people ``text`` names."""
        if not text or not self.people:
            return set()
        words = WORD.findall(text)
        lower = {w.lower() for w in words}
        capitalised = {w.lower() for w in words if w[:1].isupper()}
        found = set()
        for person in self.people:
            if person.full.search(text):
                found.add(person.user_id)
            elif person.last is not None and person.first in lower and person.last in lower and (
                    not {person.first, person.last} <= COMMON_WORDS
                    or {person.first, person.last} <= capitalised):
                found.add(person.user_id)
            elif any(part in capitalised and part not in COMMON_WORDS
                     for part in (person.first, person.last) if part is not None):
                found.add(person.user_id)
        return found
