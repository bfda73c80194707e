"""The shapes of intake's HTTP API (marshmallow); the OpenAPI document is generated from them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared.events import METRICS, SOURCES
from shared.fastschema import FastSchema, checks_document, checks_field
from shared.links import ANSWER_KEY, ANSWERS

MAX_COMMENT = 10_000
MAX_METADATA_BYTES = 8_192


NUL = "must not contain the NUL character (U+0000)"
SURROGATE = "must not contain a lone surrogate (U+D800 to U+DFFF): it is not text"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)


def _unstorable(value: Any) -> str | None:
    """Why ``value`` (or a string in it) cannot be stored and sent as UTF-8 text, if it cannot."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        return None if found is None else NUL if found.group() == "\x00" else SURROGATE
    if isinstance(value, dict):
        return next((why for k, v in value.items() if (why := _unstorable(k) or _unstorable(v))), None)
    if isinstance(value, list):
        return next((why for v in value if (why := _unstorable(v))), None)
    return None


class _Strict(FastSchema):
    class Meta:
        unknown = RAISE


class SurveyIn(_Strict):
    metric = fields.String(required=True, validate=validate.OneOf(sorted(METRICS)),
                           metadata={"description": "nps (0-10), csat (1-5) or ces (1-7)"})
    score = fields.Integer(required=True, strict=True)

    @checks_document
    def _score_in_range(self, data: dict[str, Any], **_: Any) -> None:
        low, high = METRICS.get(data.get("metric", ""), (None, None))
        score = data.get("score")
        if low is not None and score is not None and not low <= score <= high:
            raise ValidationError(f"{data['metric']} scores go from {low} to {high}", "score")


class CustomerIn(_Strict):
    id = fields.String(validate=validate.Length(max=200))
    email = fields.Email(validate=validate.Length(max=320))
    name = fields.String(validate=validate.Length(max=200))


class FeedbackIn(_Strict):
    """One piece of customer feedback."""

    source = fields.String(load_default="form", validate=validate.OneOf(SOURCES))
    survey = fields.Nested(SurveyIn)
    rating = fields.Integer(strict=True, validate=validate.Range(min=1, max=5),
                            metadata={"description": "star rating, 1 to 5"})
    comment = fields.String(validate=validate.Length(max=MAX_COMMENT))
    customer = fields.Nested(CustomerIn)
    touchpoint = fields.String(validate=validate.Regexp(r"^[a-z0-9][a-z0-9_\-]{0,99}$",
                               error="use lowercase letters, digits, '-' or '_' (at most 100)"))
    product = fields.String(validate=validate.Length(max=200))
    # the column holds 35 characters (a long tag reached PostgreSQL and failed there, as a 500)
    locale = fields.String(validate=[validate.Length(max=35),
                                     validate.Regexp(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$",
                                                     error="not a BCP 47 language tag")])
    external_id = fields.String(validate=validate.Length(min=1, max=200))
    submitted_at = fields.AwareDateTime()
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(max=100)))
    in_reply_to = fields.String(validate=validate.Length(min=1, max=64))

    class Meta:
        unknown = RAISE
        ordered = True

    @checks_field("metadata")
    def _metadata_size(self, value: dict[str, Any], **_: Any) -> None:
        why = _unstorable(value)
        if why:
            raise ValidationError(why)
        if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
            raise ValidationError(f"metadata is larger than {MAX_METADATA_BYTES} bytes")

    @checks_document
    def _only_storable_text(self, data: dict[str, Any], **_: Any) -> None:
        # PostgreSQL text cannot hold U+0000, and a lone surrogate cannot be encoded as UTF-8 (both
        # failed as a 500); no real feedback needs either
        bad = {name: [why] for name, value in data.items() if (why := _unstorable(value))}
        if bad:
            raise ValidationError(bad)

    @checks_field("submitted_at")
    def _submitted_in_our_times(self, value: datetime, **_: Any) -> None:
        # an offset can push an instant at the calendar's edge outside it in UTC (a 500 once)
        try:
            utc = value.astimezone(UTC)
        except OverflowError as exc:
            raise ValidationError("is outside the calendar once converted to UTC") from exc
        if not EARLIEST <= utc < LATEST:
            raise ValidationError("must be between 1970 and 2100")

    @checks_document
    def _something_to_say(self, data: dict[str, Any], **_: Any) -> None:
        comment = (data.get("comment") or "").strip()
        follow_up = data.get("source") == "follow_up"
        if follow_up and not data.get("in_reply_to"):
            raise ValidationError("follow_up feedback must say which ticket it answers", "in_reply_to")
        # a one-click "did this fix it?" answer says something even without a score or comment
        answered = follow_up and (data.get("metadata") or {}).get(ANSWER_KEY) in ANSWERS
        if data.get("survey") is None and data.get("rating") is None and not comment and not answered:
            raise ValidationError("give at least one of survey, rating or a non-empty comment", "_schema")


FEEDBACK_EXAMPLE = {
    "source": "survey",
    "survey": {"metric": "nps", "score": 4},
    "comment": "The parcel arrived two days late and the box was crushed.",
    "touchpoint": "delivery",
    "product": "standing-desk",
    "locale": "en-GB",
    "customer": {"id": "c-1042", "email": "kim@example.org", "name": "Kim"},
    "external_id": "survey-7781",
    "metadata": {"order": "SO-5521"},
}
BATCH_EXAMPLE = [
    {"source": "review", "rating": 2, "comment": "Slow support", "external_id": "rv-1"},
    {"source": "review", "rating": 5, "comment": "ডেলিভারি দ্রুত ছিল 😊", "locale": "bn-BD", "external_id": "rv-2"},
]


class LinksOut(Schema):
    self = fields.String()
    status_page = fields.String()


class AcceptedOut(FastSchema):
    id = fields.String()
    status = fields.String()
    links = fields.Nested(LinksOut)


class BatchItemOut(Schema):
    index = fields.Integer(metadata={"description": "position of the item in the batch, from 0"})
    status = fields.String(metadata={"description": "received, duplicate or rejected"})
    id = fields.String(metadata={"description": "the feedback id (received or duplicate)"})
    links = fields.Nested(LinksOut)
    errors = fields.Dict(metadata={"description": "each bad field and why (rejected)"})


class BatchOut(Schema):
    received = fields.Integer(metadata={"description": "items stored now"})
    duplicates = fields.Integer(metadata={"description": "items that repeat feedback already stored"})
    rejected = fields.Integer(metadata={"description": "items refused; see their errors"})
    items = fields.List(fields.Nested(BatchItemOut))


class TicketOut(Schema):
    id = fields.String()
    status = fields.String()
    sla_state = fields.String()
    team = fields.String()
    due_at = fields.DateTime()
    resolution = fields.String()
    root_cause = fields.String()


class FeedbackOut(Schema):
    id = fields.String()
    status = fields.String(metadata={"description": "received, published, or the ticket's state"})
    received_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    source = fields.String()
    survey = fields.Dict(allow_none=True)
    rating = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    customer = fields.Dict(allow_none=True)
    touchpoint = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    locale = fields.String(allow_none=True)
    external_id = fields.String(allow_none=True)
    metadata = fields.Dict(allow_none=True)
    in_reply_to = fields.String(allow_none=True)
    ticket = fields.Nested(TicketOut, allow_none=True)
