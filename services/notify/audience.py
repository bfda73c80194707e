"""Who hears about what: channel subscriptions, people named in praise, people concerned by a ticket.

Pure functions of the org file and the event. A subscription filters on each key it has
(``events``, ``kinds``, ``teams``, ``touchpoints``); a missing key matches everything. A channel
that names no events hears ``feedback.received`` only, and a channel that only asks for digests
hears nothing but digests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from services.notify.channels import delivers
from shared.events import FEEDBACK_RECEIVED
from shared.org import Channel, Org, User

FILTER_KEYS = ("events", "kinds", "teams", "touchpoints")


def subscribed_events(channel: Channel) -> list[str]:
    """The event types a channel hears."""
    sub = channel.subscribe
    if "events" in sub:
        return list(sub["events"])
    if "digest" in sub and not any(k in sub for k in FILTER_KEYS):
        return []
    return [FEEDBACK_RECEIVED]


def matches(channel: Channel, *, event_type: str, kind: str | None, team: str | None,
            touchpoint: str | None) -> bool:
    """Whether ``channel`` subscribed to this event."""
    if not delivers(channel) or event_type not in subscribed_events(channel):
        return False
    sub = channel.subscribe
    for key, value in (("kinds", kind), ("teams", team), ("touchpoints", touchpoint)):
        if key in sub and value not in sub[key]:
            return False
    return True


def channels_for(org: Org, **event: Any) -> list[Channel]:
    """Every org channel notify delivers to (not the built-in feed) that subscribed to this event."""
    return [c for c in org.channels if matches(c, **event)]


def digest_channels(org: Org, period: str) -> list[Channel]:
    """Channels that asked for the ``daily`` or ``weekly`` digest."""
    return [c for c in org.channels if delivers(c) and period in c.subscribe.get("digest", [])]


def _word(name: str, *, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE if ignore_case else 0)


def named_in(org: Org, text: str | None) -> tuple[list[User], list[str]]:
    """Users (by full name, or a first name only one person has) and team ids named in ``text``."""
    if not text:
        return [], []
    first_names: dict[str, list[User]] = {}
    for user in org.users.values():
        first_names.setdefault(user.name.split()[0], []).append(user)
    users = [u for u in org.users.values()
             if _word(u.name, ignore_case=True).search(text)
             or (len(first_names[u.name.split()[0]]) == 1 and _word(u.name.split()[0], ignore_case=False).search(text))]
    teams = [t.id for t in org.teams.values() if _word(t.name, ignore_case=True).search(text)]
    return users, teams


def praise_recipients(org: Org, users: Iterable[User], teams: Iterable[str]) -> list[User]:
    """The people named, the members of the teams named, and their managers."""
    people: dict[str, User] = {}
    for user in users:
        people.setdefault(user.id, user)
    for team in teams:
        for member in org.members(team):
            people.setdefault(member.id, member)
        lead = org.users.get(org.teams[team].lead or "")
        if lead is not None:
            people.setdefault(lead.id, lead)
    for user in list(people.values()):
        manager = org.users.get(user.manager or "")
        if manager is not None:
            people.setdefault(manager.id, manager)
    return list(people.values())


def person(org: Org, ref: dict[str, Any] | None) -> User | None:
    """The org user an event refers to (``{"id", "name", "email"}``)."""
    if not ref:
        return None
    return org.users.get(ref.get("id") or "")


def ticket_recipients(org: Org, event_type: str, data: dict[str, Any]) -> list[User]:
    """Who must hear about a ticket event: the owner, and for at-risk and breached its escalation target."""
    owner = person(org, data.get("owner"))
    people = [owner] if owner is not None and event_type != "ticket.escalated" else []
    if event_type in ("ticket.sla_warning", "ticket.sla_breached", "ticket.escalated"):
        target = person(org, data.get("escalated_to"))
        if target is None and owner is not None:
            chain = org.chain(owner.id)
            target = chain[0] if chain else None
        if target is not None:
            people.append(target)
    unique: dict[str, User] = {u.id: u for u in people if u.email}
    return list(unique.values())


def team_channel(org: Org, team_id: str) -> Channel | User | None:
    """Where a team hears about its resolved tickets: its channel, else its lead."""
    team = org.teams.get(team_id)
    if team is None:
        return None
    if team.channel:
        for channel in org.channels:
            if channel.id == team.channel:
                return channel
    return org.users.get(team.lead or "")


def leadership(org: Org) -> list[User]:
    """Leaders (not admins) with an email address: the digest's readers."""
    return [u for u in org.users.values() if u.role == "leader" and u.email]
