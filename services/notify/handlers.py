"""Notify's use cases: feed entries, broadcasts, ticket notices, the customer's closed loop, digests.

Handlers only record what must be sent (a ``deliveries`` row per channel or person and event) in
their unit of work (:class:`~services.notify.batch.FeedBatch`); the delivery worker sends later,
so a slow or broken channel can never hold up the consumer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notify import audience, messages
from services.notify.batch import FeedBatch
from services.notify.channels import recipients
from services.notify.digest import digest_message, period_window
from services.notify.models import FeedEntry
from services.notify.queries import digest_stats
from services.notify.redaction import redact
from shared import events
from shared.events import Event
from shared.links import FIXED, NOT_FIXED, follow_up_url, reply_address
from shared.org import Channel, Org, User
from shared.sentiment import classify_feedback

PERSON_NOTICES = (events.TICKET_CREATED, events.TICKET_ASSIGNED, events.TICKET_SLA_WARNING,
                  events.TICKET_SLA_BREACHED, events.TICKET_ESCALATED, events.TICKET_REOPENED)


@dataclass(frozen=True)
class Context:
    """What the handlers need besides their batch: the org and the public addresses links point to."""

    org: Org
    link_secret: str
    intake_url: str
    triage_url: str
    notify_url: str
    mail_domain: str = "localhost"

    @property
    def feed_url(self) -> str:
        return f"{self.notify_url.rstrip('/')}/feed"

    @property
    def inbox_url(self) -> str:
        return f"{self.triage_url.rstrip('/')}/inbox"

    def status_url(self, entry: FeedEntry) -> str | None:
        """The customer's status page (intake), if the feedback came with its token."""
        return f"{self.intake_url.rstrip('/')}/status/{entry.status_token}" if entry.status_token else None

    def reply_to(self, ticket_id: str) -> str | None:
        """``reply+<token>@<INTAKE_MAIL_DOMAIN>``: a customer's answer by mail joins the ticket."""
        try:
            return reply_address(self.link_secret, ticket_id=ticket_id, domain=self.mail_domain)
        except ValueError:  # not a ticket id triage made (a uuid): no address to answer to
            return None


def on_feedback_received(batch: FeedBatch, event: Event, now: datetime, *, ctx: Context) -> FeedEntry | None:
    """Add the feedback to the org feed and broadcast it, personal data redacted."""
    data = event.data
    if batch.entry(data["id"]) is not None:
        return None
    sentiment = classify_feedback(data)
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    entry = FeedEntry(
        feedback_id=data["id"], received_at=data["received_at"], kind=sentiment.kind, source=data["source"],
        metric=survey.get("metric"), score=survey.get("score"), rating=data.get("rating"),
        comment=redact(data.get("comment")), touchpoint=data.get("touchpoint"), product=data.get("product"),
        comment_score=sentiment.comment_score, customer_email=customer.get("email"),
        customer_name=customer.get("name"), status_token=data.get("status_token"), updated_at=now,
        locale=_short(data.get("locale"), 35), timezone=_short((data.get("metadata") or {}).get("timezone"), 64),
        in_reply_to=_short(data.get("in_reply_to"), 36),
        answer=_short((data.get("metadata") or {}).get("answer"), 20) if data.get("in_reply_to") else None,
    )
    batch.add_entry(entry)
    for early in batch.take_early(entry.feedback_id):
        _catch_up(batch, early, entry, now, ctx=ctx)
    if data["source"] == "follow_up" and not entry.comment:
        return entry  # a bare "fixed" / "not fixed" click: triage acts on it, the channels need not hear it
    broadcast = messages.feedback_message(entry, ctx.org, feed_url=ctx.feed_url)
    for channel in audience.channels_for(ctx.org, event_type=event.type, kind=entry.kind, team=None,
                                         touchpoint=entry.touchpoint):
        batch.record(event_id=event.id, event_type=event.type, message=broadcast, now=now, channel=channel)
    if entry.kind == "praise":
        users, teams = audience.named_in(ctx.org, entry.comment)
        named = [u.name for u in users] + [ctx.org.teams[t].name for t in teams]
        if named:
            kudos = messages.kudos_message(entry, ctx.org, named=named, feed_url=ctx.feed_url)
            for person in audience.praise_recipients(ctx.org, users, teams):
                if person.email:
                    batch.record(event_id=event.id, event_type="feedback.praised", message=kudos, now=now,
                                 person=person)
    return entry


def _short(value: Any, limit: int) -> str | None:
    """A text field of the event kept only when it is a string that fits its column."""
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def on_ticket_event(batch: FeedBatch, event: Event, now: datetime, *, ctx: Context) -> None:
    """Keep the feed entry current and tell the people and channels concerned."""
    data = event.data
    entry = batch.entry(data["feedback_id"])
    if entry is not None:
        _update_entry(entry, event, now)
    else:  # its feedback is not on the feed yet: the entry's part waits for it (EarlyTicketEvent)
        batch.keep_early(event, now)
    if event.type in PERSON_NOTICES:
        notice = messages.ticket_message(event.type, data, entry, ctx.org, inbox_url=ctx.inbox_url)
        for person in audience.ticket_recipients(ctx.org, event.type, data):
            batch.record(event_id=event.id, event_type=event.type, message=notice, now=now, person=person)
    kind = entry.kind if entry is not None else data.get("kind")
    subscribed = audience.channels_for(ctx.org, event_type=event.type, kind=kind, team=data["team"],
                                       touchpoint=data.get("touchpoint"))
    if event.type == events.TICKET_REPLIED and entry is not None:
        _customer_reply(batch, event, entry, now, ctx=ctx)
    if event.type == events.TICKET_RESOLVED:
        _on_resolved(batch, event, now, ctx=ctx, entry=entry, subscribed=subscribed)
    elif subscribed:
        notice = messages.ticket_message(event.type, data, entry, ctx.org, inbox_url=ctx.inbox_url)
        for channel in subscribed:
            batch.record(event_id=event.id, event_type=event.type, message=notice, now=now, channel=channel)


def _update_entry(entry: FeedEntry, event: Event, now: datetime) -> None:
    data = event.data
    entry.team = data["team"]
    entry.ticket_id = data["ticket_id"]
    entry.ticket_status = data["status"]
    entry.sla_state = data["sla_state"]
    entry.owner_name = (data.get("owner") or {}).get("name")
    if event.type == events.TICKET_SLA_BREACHED and entry.breached_at is None:
        entry.breached_at = event.time
    if event.type == events.TICKET_RESOLVED:
        entry.resolved_at = event.time
        entry.root_cause = data.get("root_cause")
    elif event.type == events.TICKET_REOPENED:
        entry.resolved_at = None
    entry.updated_at = now


def _on_resolved(batch: FeedBatch, event: Event, now: datetime, *, ctx: Context, entry: FeedEntry | None,
                 subscribed: list[Channel]) -> None:
    data = event.data
    notice = messages.resolved_message(data, entry, ctx.org, inbox_url=ctx.inbox_url)
    targets: list[Channel | User] = list(subscribed)
    home = audience.team_channel(ctx.org, data["team"])
    if home is not None and all(getattr(t, "id", None) != home.id for t in targets):
        targets.append(home)
    for target in targets:
        if isinstance(target, Channel):
            batch.record(event_id=event.id, event_type=event.type, message=notice, now=now, channel=target)
        elif target.email:
            batch.record(event_id=event.id, event_type=event.type, message=notice, now=now, person=target)
    if entry is not None:
        _customer_letter(batch, event, entry, now, ctx=ctx)


def _customer_letter(batch: FeedBatch, event: Event, entry: FeedEntry, now: datetime, *, ctx: Context) -> None:
    """Close the loop: tell the customer what was done, with "fixed" / "not fixed" links."""
    if not entry.customer_email:
        return
    data = event.data
    links = {answer: follow_up_url(ctx.intake_url, ctx.link_secret, ticket_id=data["ticket_id"],
                                   feedback_id=data["feedback_id"], answer=answer, nonce=event.id)
             for answer in (FIXED, NOT_FIXED)}
    letter = messages.customer_message(data, entry, ctx.org, fixed_url=links[FIXED], not_fixed_url=links[NOT_FIXED],
                                       reply_to=ctx.reply_to(data["ticket_id"]), status_url=ctx.status_url(entry))
    batch.record(event_id=event.id, event_type="ticket.resolved.customer", message=letter, now=now,
                 customer_email=entry.customer_email)


def _customer_reply(batch: FeedBatch, event: Event, entry: FeedEntry, now: datetime, *, ctx: Context) -> None:
    """The owner wrote to the customer: mail it, answerable by mail."""
    if not entry.customer_email or not (event.data.get("message") or {}).get("body"):
        return
    data = event.data
    mail = messages.reply_message(data, entry, ctx.org, reply_to=ctx.reply_to(data["ticket_id"]),
                                  status_url=ctx.status_url(entry))
    batch.record(event_id=event.id, event_type="ticket.replied.customer", message=mail, now=now,
                 customer_email=entry.customer_email)


def _catch_up(batch: FeedBatch, event: Event, entry: FeedEntry, now: datetime, *, ctx: Context) -> None:
    """Apply to a new feed entry a ticket event handled before it existed (channels and people were told then)."""
    _update_entry(entry, event, now)
    if event.type == events.TICKET_RESOLVED:
        _customer_letter(batch, event, entry, now, ctx=ctx)
    elif event.type == events.TICKET_REPLIED:
        _customer_reply(batch, event, entry, now, ctx=ctx)


def record_digest(batch: FeedBatch, *, ctx: Context, period: str, now: datetime) -> int:
    """Queue the ``daily`` or ``weekly`` digest for leadership and subscribed channels; 0 if already queued."""
    start, end, key = period_window(period, now=now, digest=ctx.org.digest)
    event_id = f"digest:{period}:{key}"
    if batch.already_queued(event_id):
        return 0
    stats: dict[str, Any] = digest_stats(batch.session, start=start, end=end, org=ctx.org)
    message = digest_message(period, stats, start=start, end=end, feed_url=ctx.feed_url)
    count = 0
    addresses: set[str] = set()
    for channel in audience.digest_channels(ctx.org, period):
        batch.record(event_id=event_id, event_type=f"digest.{period}", message=message, now=now, channel=channel)
        addresses.update(recipients(channel))
        count += 1
    for leader in audience.leadership(ctx.org):
        if leader.email not in addresses:
            batch.record(event_id=event_id, event_type=f"digest.{period}", message=message, now=now, person=leader)
            count += 1
    return count
