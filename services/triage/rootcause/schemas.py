"""The shapes of root cause's HTTP API."""

from __future__ import annotations

from marshmallow import Schema, fields


class RootCauseOut(Schema):
    code = fields.String()
    label = fields.String()
    plain = fields.String()



class SpikeOut(Schema):
    id = fields.String()
    root_cause = fields.String()
    root_cause_label = fields.String()
    touchpoint = fields.String()
    ticket_count = fields.Integer()
    window_seconds = fields.Integer()
    first_at = fields.DateTime()
    detected_at = fields.DateTime()
    last_at = fields.DateTime()
