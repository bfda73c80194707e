"""The shapes of routing's HTTP API."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields


class AvailabilityIn(Schema):
    class Meta:
        unknown = RAISE

    available = fields.Boolean(required=True)



class MemberOut(Schema):
    id = fields.String()
    name = fields.String()
    team = fields.String()
    role = fields.String()
    available = fields.Boolean()
    open_tickets = fields.Integer()
    max_open = fields.Integer(allow_none=True, metadata={"description": "the org file's limit; null: none"})
    reassigned = fields.List(fields.String())
