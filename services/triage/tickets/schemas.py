"""The shapes of triage's HTTP API (marshmallow); the OpenAPI document is generated from them."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

STATUSES = ("open", "acknowledged", "waiting", "resolved")
SLA_STATES = ("on_track", "at_risk", "breached", "met", "missed")
MAX_PAGE = 1_000_000  # far past any list, and (page - 1) * per_page stays a 64-bit integer in SQL


class TicketQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(STATUSES))
    owner = fields.String()
    team = fields.String()
    sla_state = fields.String(validate=validate.OneOf(SLA_STATES))
    feedback_id = fields.String()
    root_cause = fields.String()
    priority = fields.String(validate=validate.OneOf(("P1", "P2", "P3")))
    touchpoint = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PersonOut(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)


class SuggestionOut(Schema):
    code = fields.String()
    confidence = fields.Float()


class TicketOut(Schema):
    id = fields.String()
    feedback_id = fields.String()
    status = fields.String()
    priority = fields.String()
    team = fields.String()
    team_name = fields.String()
    owner = fields.Nested(PersonOut)
    sla_state = fields.String()
    received_at = fields.DateTime()
    due_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    touchpoint = fields.String(allow_none=True)
    kind = fields.String()
    escalation_level = fields.Integer()
    suggested_root_cause = fields.Nested(SuggestionOut, allow_none=True)
    root_cause = fields.String(allow_none=True)
    root_cause_label = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    reopened_count = fields.Integer()
    customer_answer = fields.String(allow_none=True)


class TimelineOut(Schema):
    at = fields.DateTime()
    type = fields.String()
    actor = fields.String(allow_none=True)
    detail = fields.Dict(allow_none=True)


class MessageOut(Schema):
    kind = fields.String(metadata={"description": "customer, reply (to the customer) or note (internal)"})
    author = fields.String(allow_none=True)
    body = fields.String()
    at = fields.DateTime()


class TicketDetailOut(TicketOut):
    customer_message = fields.String(allow_none=True)
    feedback = fields.Dict(allow_none=True)
    timeline = fields.List(fields.Nested(TimelineOut))
    conversation = fields.List(fields.Nested(MessageOut), metadata={"description": "oldest first"})


class TicketPageOut(Schema):
    items = fields.List(fields.Nested(TicketOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class AssignIn(_Strict):
    owner = fields.String(required=True, validate=validate.Length(min=1, max=100))
    reason = fields.String(validate=validate.Length(max=500))


class ResolveIn(_Strict):
    root_cause = fields.String(required=True, validate=validate.Length(max=50))
    resolution = fields.String(required=True, validate=validate.Length(max=10_000))
    customer_message = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    our_fault = fields.Boolean(load_default=False, metadata={"description": "the email apologises only if true"})


class MessageIn(_Strict):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class ReasonIn(_Strict):
    reason = fields.String(validate=validate.Length(max=500))
