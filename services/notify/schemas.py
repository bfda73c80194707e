"""The shapes of notify's HTTP API (marshmallow)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

KINDS = ("praise", "complaint", "neutral")
STATUSES = ("pending", "sent", "failed")


class FeedQuery(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(validate=validate.OneOf(KINDS))
    team = fields.String(validate=validate.Length(max=100))
    touchpoint = fields.String(validate=validate.Length(max=100))
    before = fields.Integer(validate=validate.Range(min=1))
    after = fields.Integer(validate=validate.Range(min=0))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class FeedEntryOut(Schema):
    id = fields.Integer()
    feedback_id = fields.String()
    received_at = fields.DateTime()
    kind = fields.String()
    source = fields.String()
    survey = fields.Dict(allow_none=True)
    rating = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    touchpoint = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    team = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    ticket_status = fields.String(allow_none=True)
    owner_name = fields.String(allow_none=True)
    sla_state = fields.String(allow_none=True)
    root_cause = fields.String(allow_none=True)
    in_reply_to = fields.String(allow_none=True, metadata={"description": "the ticket this feedback answers"})
    answer = fields.String(allow_none=True, metadata={"description": "a follow-up's answer: fixed or not_fixed"})


class FeedOut(Schema):
    items = fields.List(fields.Nested(FeedEntryOut))


class DeliveryQuery(Schema):
    class Meta:
        unknown = RAISE

    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.Length(max=100))
    event_id = fields.String(validate=validate.Length(max=100))
    before = fields.Integer(validate=validate.Range(min=1))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class DeliveryOut(Schema):
    id = fields.Integer()
    channel = fields.String()
    channel_type = fields.String()
    recipient = fields.String(allow_none=True)
    event_id = fields.String()
    event_type = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)


class DeliveriesOut(Schema):
    items = fields.List(fields.Nested(DeliveryOut))
