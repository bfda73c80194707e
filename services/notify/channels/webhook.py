"""A webhook: the message as JSON, signed with HMAC-SHA256 over ``"<timestamp>.<body>"`` using the
channel's secret, so that the receiver can check it came from us and is recent."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from services.notify.channels.base import ChannelType, Options, Outgoing, Sender, Tools, post_json

SIGNATURE_HEADER = "X-Closeloop-Signature"
TIMESTAMP_HEADER = "X-Closeloop-Timestamp"
EVENT_HEADER = "X-Closeloop-Event"
DELIVERY_HEADER = "X-Closeloop-Delivery"


def webhook_body(outgoing: Outgoing) -> dict[str, Any]:
    """The JSON a webhook receives."""
    m = outgoing.message
    return {"event_id": outgoing.event_id, "event_type": outgoing.event_type, "delivery_id": outgoing.delivery_id,
            "subject": m.subject, "headline": m.headline, "kind": m.kind, "comment": m.quote,
            "facts": dict(m.facts), "sections": [{"title": s.title, "items": s.items} for s in m.sections],
            "links": [{"label": label, "url": url} for label, url in m.links], "data": m.data}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256(secret, ``timestamp + "." + body``)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True)
class WebhookSender:
    url: str
    secret: str
    timeout: float

    def send(self, outgoing: Outgoing) -> None:
        """POST signed JSON; the receiver checks the signature and that the timestamp is recent."""
        body = json.dumps(webhook_body(outgoing), ensure_ascii=False, default=str).encode()
        timestamp = str(int(time.time()))
        post_json(self.url, body, {SIGNATURE_HEADER: sign(self.secret, timestamp, body), TIMESTAMP_HEADER: timestamp,
                                   EVENT_HEADER: outgoing.event_type, DELIVERY_HEADER: str(outgoing.delivery_id)},
                  self.timeout)


class WebhookOptions(Options):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000))
    secret = fields.String(required=True, validate=validate.Length(min=1))


class Webhook(ChannelType):
    name = "webhook"
    options = WebhookOptions
    concurrency = 4  # each post carries its delivery id and timestamp; receivers need no order

    def sender(self, options: Mapping[str, Any], tools: Tools) -> Sender:
        return WebhookSender(options["url"], options["secret"], tools.timeout)


CHANNEL = Webhook()
