"""What notify says: channel-neutral messages for broadcasts, tickets, digests and customers.

A :class:`Message` is stored with its delivery and rendered by each channel for its own format
(Slack mrkdwn, signed JSON, HTML and text email), which is where escaping happens. Everything
broadcast inside the organisation is built from redacted text; only the customer's own message
carries their name.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from services.notify.models import FeedEntry
from services.notify.redaction import redact
from shared import i18n
from shared.org import Org

TRANSLATIONS = Path(__file__).parent / "translations"
"""Notify's catalogs: what customers read in their language (``en``, ``bn``), and the staff words."""

KIND_TITLES = {"praise": "Praise", "complaint": "Complaint", "neutral": "Feedback"}
METRIC_SCALES = {"nps": 10, "csat": 5, "ces": 7}


@dataclass(frozen=True)
class Section:
    title: str
    items: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Message:
    """A message before it is rendered for a channel."""

    subject: str
    headline: str
    kind: str = "info"
    quote: str | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    greeting: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    reply_to: str | None = None
    """Where an answer goes (a customer's mail: ``reply+<token>@<domain>``)."""
    thread: str | None = None
    """The ticket this message is about, for mail threading."""
    language: str | None = None
    """The BCP 47 tag of the language the message speaks (a customer's); staff messages are English."""
    timezone: str | None = None
    """The IANA timezone its times are written in (a customer's), when known."""

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(asdict(self), ensure_ascii=False, default=str)

    @classmethod
    def from_json(cls, raw: str) -> Message:
        """Read the stored form back."""
        doc = json.loads(raw)
        doc["facts"] = [tuple(f) for f in doc.get("facts", [])]
        doc["links"] = [tuple(link) for link in doc.get("links", [])]
        doc["sections"] = [Section(**s) for s in doc.get("sections", [])]
        return cls(**doc)


def score_text(entry: FeedEntry) -> str | None:
    """``NPS 9/10``, ``CSAT 2/5``, ``3/5 stars``, or None."""
    if entry.metric and entry.score is not None:
        return f"{entry.metric.upper()} {entry.score}/{METRIC_SCALES.get(entry.metric, '?')}"
    if entry.rating is not None:
        return f"{entry.rating}/5 stars"
    return None


def _entry_facts(entry: FeedEntry, org: Org) -> list[tuple[str, str]]:
    facts = []
    if (score := score_text(entry)) is not None:
        facts.append(("Score", score))
    if entry.touchpoint:
        facts.append(("Touchpoint", entry.touchpoint))
    if entry.product:
        facts.append(("Product", entry.product))
    facts.append(("Source", entry.source))
    if entry.team:
        facts.append(("Team", org.teams[entry.team].name if entry.team in org.teams else entry.team))
    return facts


def _entry_data(entry: FeedEntry) -> dict[str, Any]:
    return {"feedback_id": entry.feedback_id, "kind": entry.kind, "touchpoint": entry.touchpoint,
            "score": {"metric": entry.metric, "value": entry.score} if entry.metric else None,
            "rating": entry.rating, "comment": entry.comment, "team": entry.team, "ticket_id": entry.ticket_id}


def feedback_message(entry: FeedEntry, org: Org, *, feed_url: str) -> Message:
    """The org-wide broadcast of one feedback (the comment is already redacted)."""
    title = KIND_TITLES.get(entry.kind, "Feedback")
    where = f" about {entry.touchpoint}" if entry.touchpoint else ""
    return Message(
        subject=f"{title}{where}", headline=f"New {title.lower()} from a customer{where}", kind=entry.kind,
        quote=entry.comment, facts=_entry_facts(entry, org), links=[("Open the org feed", feed_url)],
        data=_entry_data(entry),
    )


def kudos_message(entry: FeedEntry, org: Org, *, named: list[str], feed_url: str) -> Message:
    """Praise that names someone, for them and their manager."""
    who = ", ".join(named)
    return Message(
        subject=f"A customer praised {who}", headline=f"A customer praised {who}", kind="praise",
        quote=entry.comment, facts=_entry_facts(entry, org),
        paragraphs=["Thank you. This is what the customer wrote; it is shared with the whole organisation."],
        links=[("Open the org feed", feed_url)], data={**_entry_data(entry), "named": named},
    )


TICKET_HEADLINES = {
    "ticket.created": "A new ticket is yours: one customer, one owner, {hours} to resolve it",
    "ticket.assigned": "A ticket was assigned to you; it is due {due}",
    "ticket.sla_warning": "At risk: this ticket is due {due} and is not resolved yet",
    "ticket.sla_breached": "Breached: this ticket missed its deadline ({due})",
    "ticket.escalated": "Escalated to you: this ticket missed its deadline ({due})",
    "ticket.reopened": "Reopened: the customer says it is not fixed; it is due {due}",
}
TICKET_SUBJECTS = {
    "ticket.created": "A new ticket is yours, due {due}",
    "ticket.assigned": "A ticket was assigned to you, due {due}",
    "ticket.sla_warning": "At risk, due {due}",
    "ticket.sla_breached": "Breached, it was due {due}",
    "ticket.escalated": "Escalated to you, it was due {due}",
    "ticket.reopened": "Reopened by the customer, due {due}",
}


def _when(moment: datetime) -> str:
    return moment.strftime("%a %d %b %H:%M UTC")


def ticket_message(event_type: str, data: dict[str, Any], entry: FeedEntry | None, org: Org, *,
                   inbox_url: str) -> Message:
    """A ticket event for the people concerned: its owner and whoever it escalates to."""
    due, received = data["due_at"], data["received_at"]
    hours = max(1, round((due - received).total_seconds() / 3600))
    headline = TICKET_HEADLINES.get(event_type, "Ticket update: due {due}").format(
        due=_when(due), hours=f"{hours} hours")
    title = TICKET_SUBJECTS.get(event_type, "Ticket update, due {due}").format(due=_when(due))
    team = org.teams.get(data["team"])
    facts = [("Priority", data["priority"]), ("Owner", (data.get("owner") or {}).get("name") or "?"),
             ("Team", team.name if team else data["team"]), ("Due", _when(due)),
             ("SLA", data["sla_state"].replace("_", " "))]
    if data.get("escalated_to"):
        facts.append(("Escalated to", data["escalated_to"].get("name") or data["escalated_to"]["id"]))
    if data.get("touchpoint"):
        facts.append(("Touchpoint", data["touchpoint"]))
    if entry is not None and (score := score_text(entry)) is not None:
        facts.append(("Score", score))
    kind = {"ticket.sla_warning": "at_risk", "ticket.sla_breached": "breached",
            "ticket.escalated": "breached"}.get(event_type, "complaint")
    paragraphs = []
    if event_type == "ticket.reopened" and data.get("reason"):
        paragraphs.append(f"Why, in the customer's words: \u201c{redact(data['reason'])}\u201d")
    return Message(
        subject=f"[{data['priority']}] {title}: ticket {data['ticket_id'][:8]}",
        headline=headline, kind=kind, quote=entry.comment if entry else redact(data.get("comment")), facts=facts,
        paragraphs=paragraphs, links=[("Open your inbox", inbox_url)], thread=data["ticket_id"],
        data={"ticket_id": data["ticket_id"], "feedback_id": data["feedback_id"], "status": data["status"],
              "sla_state": data["sla_state"], "due_at": due.isoformat(), "team": data["team"]},
    )


def root_cause_plain(data: dict[str, Any], org: Org, words: i18n.Messages | None = None) -> str:
    """The root cause of a resolved ticket in words a customer understands, in ``words``' language:
    the org file's wording for that language, else the catalogs' translation of the default one."""
    cause = org.root_causes.get(data.get("root_cause") or "")
    if words is None:
        if data.get("root_cause_plain"):
            return str(data["root_cause_plain"])
        return cause.plain if cause else "a cause outside our usual categories"
    if cause is not None:
        own = cause.plain_in(words.locale)
        return own if own != cause.plain else words.gettext(cause.plain)
    if data.get("root_cause_plain") and words.locale.split("_")[0] == "en":
        return str(data["root_cause_plain"])
    return words.gettext("a cause outside our usual categories")


def resolved_message(data: dict[str, Any], entry: FeedEntry | None, org: Org, *, inbox_url: str) -> Message:
    """A resolved ticket for its team: what was done and the root cause, so it does not come back."""
    cause = org.root_causes.get(data.get("root_cause") or "")
    label = data.get("root_cause_label") or (cause.label if cause else data.get("root_cause") or "unknown")
    owner = (data.get("owner") or {}).get("name") or "?"
    in_time = "within its SLA" if data["sla_state"] == "met" else "after its deadline"
    return Message(
        subject=f"Resolved: {label} (ticket {data['ticket_id'][:8]})",
        headline=f"{owner} resolved a ticket {in_time}. Root cause: {label}", kind="resolved",
        quote=entry.comment if entry else None,
        facts=[("Root cause", label), ("Resolution", redact(data.get("resolution")) or "-"), ("Owner", owner),
               ("SLA", data["sla_state"]), *([("Touchpoint", data["touchpoint"])] if data.get("touchpoint") else [])],
        links=[("Open the inbox", inbox_url)],
        data={"ticket_id": data["ticket_id"], "feedback_id": data["feedback_id"],
              "root_cause": data.get("root_cause"), "resolution": redact(data.get("resolution"))},
    )


CUSTOMER_SUBJECT = "About your feedback"
"""Every mail to a customer about one ticket has this subject (in their language): with the
threading headers, one thread."""


def first_name(person: dict[str, Any] | None) -> str | None:
    """The first name of an event's person (``{"name": "Tom Nguyen"}`` gives ``Tom``)."""
    name = ((person or {}).get("name") or "").strip()
    return name.split()[0] if name else None


def _their_words(data: dict[str, Any], entry: FeedEntry) -> str | None:
    """The customer's own words (from the ticket; the feed keeps a redacted copy)."""
    return data.get("comment") or entry.comment


def _answer_here(status_url: str | None, words: i18n.Messages) -> str:
    if status_url:
        return words.gettext("You can answer by replying to this email, or on your status page.")
    return words.gettext("You can answer by replying to this email.")


def _greeting(entry: FeedEntry, words: i18n.Messages) -> str:
    name = entry.customer_name
    return words.gettext("Hello %(name)s,", name=name) if name else words.gettext("Hello,")


def customer_words(entry: FeedEntry, org: Org) -> i18n.Messages:
    """The customer's language: their feedback's locale, else the org's ``language``; times in
    their timezone when the feedback gave it."""
    return i18n.messages([i18n.SHARED_TRANSLATIONS, TRANSLATIONS], [entry.locale], default=org.language,
                         timezone=entry.timezone)


def reply_message(data: dict[str, Any], entry: FeedEntry, org: Org, *, reply_to: str | None,
                  status_url: str | None, words: i18n.Messages | None = None) -> Message:
    """The owner's reply, for the customer, in their language: their words quoted, the reply, where
    to answer."""
    words = words or customer_words(entry, org)
    reply = data.get("message") or {}
    author = reply.get("author") or first_name(data.get("owner"))
    team = org.teams.get(data["team"])
    if author and team and reply.get("author"):
        who = words.gettext("%(name)s (%(team)s)", name=author, team=team.name)
    else:
        who = author or words.gettext("We")
    headline = (words.gettext("%(name)s answered you about your feedback", name=author) if author
                else words.gettext("We answered you about your feedback"))
    return Message(
        subject=words.gettext("About your feedback"), headline=headline, kind="customer",
        greeting=_greeting(entry, words), quote=_their_words(data, entry),
        paragraphs=[str(reply.get("body") or ""), f"\u2014 {who}", _answer_here(status_url, words)],
        links=[(words.gettext("Your status page"), status_url)] if status_url else [],
        data={"ticket_id": data["ticket_id"], "feedback_id": data["feedback_id"]},
        reply_to=reply_to, thread=data["ticket_id"], language=words.tag, timezone=words.timezone,
    )


def customer_message(data: dict[str, Any], entry: FeedEntry, org: Org, *, fixed_url: str,
                     not_fixed_url: str, reply_to: str | None = None, status_url: str | None = None,
                     words: i18n.Messages | None = None) -> Message:
    """The closed-loop message to the customer, in their language: an apology only when it was our
    fault, what was done (their message from the owner, as written, else that it is resolved and
    why, in plain words: never the internal resolution note), who looked after it, and the "fixed" /
    "not fixed" links."""
    words = words or customer_words(entry, org)
    paragraphs = []
    if data.get("our_fault"):
        paragraphs.append(words.gettext("We are sorry. You told us something went wrong, and it was our fault."))
    else:
        paragraphs.append(words.gettext("Thank you for telling us. We looked into it."))
    cause = root_cause_plain(data, org, words)
    if data.get("customer_message"):
        paragraphs.append(words.gettext("What we did: %(what)s", what=data["customer_message"]))
        paragraphs.append(words.gettext("Why it happened: %(cause)s.", cause=cause))
    else:
        paragraphs.append(words.gettext("We have resolved the problem. What caused it: %(cause)s.", cause=cause))
    owner = first_name(data.get("owner"))
    team = org.teams.get(data["team"])
    if owner and team:
        paragraphs.append(words.gettext("%(name)s from %(team)s looked after it for you.", name=owner,
                                        team=team.name))
    elif owner:
        paragraphs.append(words.gettext("%(name)s looked after it for you.", name=owner))
    paragraphs.append(words.gettext("Did this fix it for you? Tell us with the buttons below.") + " "
                      + _answer_here(status_url, words))
    links = [(words.gettext("Yes, it is fixed"), fixed_url), (words.gettext("No, it is not fixed"), not_fixed_url)]
    if status_url:
        links.append((words.gettext("Your status page"), status_url))
    return Message(
        subject=words.gettext("About your feedback"), headline=words.gettext("What we did about your feedback"),
        kind="customer", greeting=_greeting(entry, words), quote=_their_words(data, entry),
        paragraphs=paragraphs, links=links,
        data={"ticket_id": data["ticket_id"], "feedback_id": data["feedback_id"]},
        reply_to=reply_to, thread=data["ticket_id"], language=words.tag, timezone=words.timezone,
    )
