"""CloudEvents 1.0 envelope and the marshmallow schemas of every event's ``data``.

This module is the single definition used by producers and consumers. Producers build events
with :func:`make_event`; consumers turn raw Kafka values back into :class:`Event` with
:func:`decode_event`, which raises :class:`InvalidEvent` for anything that is not a valid
Closeloop event (the consumer loop sends those to the dead-letter topic).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from shared.fastschema import Compiled, compile_schema

CONTENT_TYPE = "application/cloudevents+json"
SOURCES = ("survey", "review", "form", "email", "chat", "social", "follow_up")
METRICS = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

FEEDBACK_RECEIVED = "feedback.received"
TICKET_CREATED = "ticket.created"
TICKET_ASSIGNED = "ticket.assigned"
TICKET_ACKNOWLEDGED = "ticket.acknowledged"
TICKET_SLA_WARNING = "ticket.sla_warning"
TICKET_SLA_BREACHED = "ticket.sla_breached"
TICKET_ESCALATED = "ticket.escalated"
TICKET_RESOLVED = "ticket.resolved"
TICKET_REOPENED = "ticket.reopened"
TICKET_REPLIED = "ticket.replied"
TICKET_TYPES = (
    TICKET_CREATED,
    TICKET_ASSIGNED,
    TICKET_ACKNOWLEDGED,
    TICKET_SLA_WARNING,
    TICKET_SLA_BREACHED,
    TICKET_ESCALATED,
    TICKET_RESOLVED,
    TICKET_REOPENED,
    TICKET_REPLIED,
)
# Also on ticket.events, from triage; consumers without a handler skip them.
TICKET_WAITING = "ticket.waiting"
TICKET_RESUMED = "ticket.resumed"
TICKET_CUSTOMER_ANSWERED = "ticket.customer_answered"
SPIKE_DETECTED = "spike.detected"


class InvalidEvent(ValueError):
    """A message that is not a valid Closeloop event; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class SurveySchema(_Lenient):
    metric = fields.String(required=True, validate=validate.OneOf(sorted(METRICS)))
    score = fields.Integer(required=True, strict=True)


class CustomerSchema(_Lenient):
    id = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    name = fields.String(allow_none=True)


class FeedbackReceivedData(_Lenient):
    """``data`` of ``feedback.received``: the feedback exactly as intake stored it."""

    id = fields.String(required=True)
    received_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    # a source this version does not know (a newer intake's) is taken as it is, not dead-lettered
    source = fields.String(required=True, validate=validate.Length(min=1))
    survey = fields.Nested(SurveySchema, allow_none=True)
    rating = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    customer = fields.Nested(CustomerSchema, allow_none=True)
    touchpoint = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True, default_timezone=UTC)
    metadata = fields.Dict(allow_none=True)
    in_reply_to = fields.String(allow_none=True)
    status_token = fields.String(allow_none=True)  # of the customer's status page (intake's /status/<token>)


class PersonSchema(_Lenient):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class SuggestionSchema(_Lenient):
    code = fields.String(required=True)
    confidence = fields.Float(required=True)


class MessageSchema(_Lenient):
    """A message of the conversation an event carries (``ticket.replied``: the owner's reply)."""

    id = fields.String(required=True)
    author = fields.String(allow_none=True)  # the employee's first name
    body = fields.String(required=True)
    at = fields.AwareDateTime(required=True, default_timezone=UTC)


class TicketData(_Lenient):
    """``data`` of every ``ticket.*`` event: the ticket as it is after the change, plus the change."""

    ticket_id = fields.String(required=True)
    feedback_id = fields.String(required=True)
    status = fields.String(required=True)
    sla_state = fields.String(required=True)
    priority = fields.String(required=True)
    team = fields.String(required=True)
    team_name = fields.String(allow_none=True)
    owner = fields.Nested(PersonSchema, required=True)
    received_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    due_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    touchpoint = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    # the customer's comment, so a consumer that sees the ticket before the feedback can still show it
    comment = fields.String(allow_none=True)
    suggested_root_cause = fields.Nested(SuggestionSchema, allow_none=True)
    root_cause = fields.String(allow_none=True)
    root_cause_label = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    customer_message = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)
    escalated_to = fields.Nested(PersonSchema, allow_none=True)
    escalation_level = fields.Integer(allow_none=True)
    previous_owner = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    customer_answer = fields.String(allow_none=True)
    our_fault = fields.Boolean(allow_none=True)
    message = fields.Nested(MessageSchema, allow_none=True)


class SpikeData(_Lenient):
    """``data`` of ``spike.detected``: one root cause keeps coming on one touchpoint."""

    spike_id = fields.String(required=True)
    root_cause = fields.String(required=True)
    root_cause_label = fields.String(allow_none=True)
    touchpoint = fields.String(required=True)
    ticket_count = fields.Integer(required=True)
    window_seconds = fields.Integer(required=True)
    first_at = fields.AwareDateTime(required=True, default_timezone=UTC)
    detected_at = fields.AwareDateTime(required=True, default_timezone=UTC)


DATA_SCHEMAS: dict[str, Schema] = {FEEDBACK_RECEIVED: FeedbackReceivedData(), SPIKE_DETECTED: SpikeData()}
DATA_SCHEMAS.update({t: TicketData() for t in (*TICKET_TYPES, TICKET_WAITING, TICKET_RESUMED,
                                               TICKET_CUSTOMER_ANSWERED)})


class EnvelopeSchema(Schema):
    """The CloudEvents 1.0 structured-mode attributes Closeloop uses."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.String(required=True, validate=validate.Length(min=1))
    source = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.Length(min=1))
    time = fields.AwareDateTime(required=True, default_timezone=UTC)
    subject = fields.String(required=True)
    datacontenttype = fields.String(load_default="application/json")
    data = fields.Dict(required=True)


_ENVELOPE = compile_schema(EnvelopeSchema())
_FAST: dict[str, Compiled] = {type_: compile_schema(schema) for type_, schema in DATA_SCHEMAS.items()}


@dataclass(frozen=True)
class Event:
    """A decoded, validated event: envelope attributes plus ``data`` loaded by its schema."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: dict[str, Any]


def make_event(*, type: str, source: str, subject: str, data: dict[str, Any], now: datetime) -> dict:
    """Build a CloudEvents envelope whose ``data`` is dumped by the type's schema.

    Consumers validate every event they read (:func:`decode_event`, the trust boundary); what
    our own producers build is loaded back by the test suite (``tests.support``), not here: that
    second pass was about a fifth of the triage consumer's time per ticket.
    """
    dumped = _FAST[type].dump(data)
    return _envelope(event_id=str(uuid.uuid4()), type=type, source=source, subject=subject, time=now, data=dumped)


def _envelope(*, event_id: str, type: str, source: str, subject: str, time: datetime, data: Any) -> dict:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": type,
        "time": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "subject": subject,
        "datacontenttype": "application/json",
        "data": data,
    }


def envelope_of(event: Event) -> dict:
    """The wire envelope of a decoded event (its ``data`` dumped by the type's schema), for storing it."""
    schema = _FAST.get(event.type)
    return _envelope(event_id=event.id, type=event.type, source=event.source, subject=event.subject,
                     time=event.time, data=schema.dump(event.data) if schema is not None else event.data)


# what json.dumps with these options would build anew for every event
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_event(event: dict) -> bytes:
    """Serialise an envelope for the wire."""
    return _ENCODER.encode(event).encode("utf-8")


def decode_event(raw: bytes | None) -> Event:
    """Parse and validate a Kafka value; raise :class:`InvalidEvent` naming what is wrong."""
    if raw is None:
        raise InvalidEvent("empty message value")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidEvent("not a JSON object")
    try:
        env = _ENVELOPE.load(doc)
        # A type this version does not know (added by a newer producer) passes unvalidated; the
        # consumer loop has no handler for it and skips it, rather than dead-lettering it.
        schema = _FAST.get(env["type"])
        data = schema.load(env["data"]) if schema is not None else env["data"]
    except ValidationError as exc:
        raise InvalidEvent(f"invalid event: {exc.messages}") from exc
    return Event(
        id=env["id"], type=env["type"], source=env["source"], subject=env["subject"],
        time=env["time"], data=data,
    )
