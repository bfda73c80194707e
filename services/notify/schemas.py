"""The shapes of notify's HTTP API (marshmallow)."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate


class FeedQuery(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(validate=validate.OneOf(("praise", "complaint", "neutral")))
    team = fields.String()
    touchpoint = fields.String()
    before = fields.Integer(validate=validate.Range(min=1))
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


class FeedOut(Schema):
    items = fields.List(fields.Nested(FeedEntryOut))
