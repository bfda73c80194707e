"""Channels behind one small interface: ``send(outgoing)`` either returns or raises ``DeliveryFailed``.

Slack gets incoming-webhook JSON in mrkdwn (``&``, ``<`` and ``>`` escaped, so nothing a customer
wrote can ping a channel or forge a link); a webhook gets the message as JSON, signed with
HMAC-SHA256 over ``"<timestamp>.<body>"`` using the channel's secret; email goes over SMTP with
HTML and text parts (see ``mail.py``). The org feed is built in: the consumer writes it directly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from services.notify.mail import Mailer
from services.notify.messages import Message

SIGNATURE_HEADER = "X-Closeloop-Signature"
TIMESTAMP_HEADER = "X-Closeloop-Timestamp"
EVENT_HEADER = "X-Closeloop-Event"
DELIVERY_HEADER = "X-Closeloop-Delivery"
KIND_EMOJI = {"praise": ":tada:", "complaint": ":warning:", "neutral": ":speech_balloon:", "at_risk": ":hourglass:",
              "breached": ":rotating_light:", "resolved": ":white_check_mark:", "digest": ":bar_chart:"}


class DeliveryFailed(Exception):
    """Sending failed; ``permanent`` when trying again cannot help (the receiver refused the message)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One delivery as a channel sees it."""

    delivery_id: int
    event_id: str
    event_type: str
    address: str
    message: Message


class Sender(Protocol):
    def send(self, outgoing: Outgoing) -> None: ...


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(message: Message) -> dict[str, Any]:
    """An incoming-webhook body: a plain ``text`` fallback plus mrkdwn blocks."""
    lines = [f"{KIND_EMOJI.get(message.kind, ':bell:')} *{slack_escape(message.headline)}*"]
    if message.quote:
        lines += ["> " + slack_escape(line) for line in message.quote.splitlines() or [""]]
    lines += [slack_escape(p) for p in message.paragraphs]
    if message.facts:
        lines.append("  ·  ".join(f"*{slack_escape(k)}:* {slack_escape(v)}" for k, v in message.facts))
    for section in message.sections:
        lines.append(f"*{slack_escape(section.title)}*")
        lines += [f"• {slack_escape(item)}" for item in section.items]
    if message.links:
        lines.append("  ".join(f"<{url}|{slack_escape(label)}>" for label, url in message.links))
    text = "\n".join(lines)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}],
            "unfurl_links": False}


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


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    try:
        response = requests.post(url, data=body, headers={"Content-Type": "application/json", **headers},
                                 timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{exc.__class__.__name__}: {exc}"[:500]) from exc
    if response.status_code >= 300:
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)


@dataclass(frozen=True)
class SlackSender:
    url: str
    timeout: float

    def send(self, outgoing: Outgoing) -> None:
        """Post the message to a Slack incoming webhook."""
        _post(self.url, json.dumps(slack_payload(outgoing.message)).encode(), {}, self.timeout)


@dataclass(frozen=True)
class WebhookSender:
    url: str
    secret: str
    timeout: float

    def send(self, outgoing: Outgoing) -> None:
        """POST signed JSON; the receiver checks the signature and that the timestamp is recent."""
        body = json.dumps(webhook_body(outgoing), ensure_ascii=False, default=str).encode()
        timestamp = str(int(time.time()))
        _post(self.url, body, {SIGNATURE_HEADER: sign(self.secret, timestamp, body), TIMESTAMP_HEADER: timestamp,
                               EVENT_HEADER: outgoing.event_type, DELIVERY_HEADER: str(outgoing.delivery_id)},
              self.timeout)


@dataclass(frozen=True)
class EmailSender:
    mailer: Mailer
    to: tuple[str, ...] = ()

    def send(self, outgoing: Outgoing) -> None:
        """Mail the message to the channel's list, or to the delivery's own address."""
        recipients = list(self.to) or [outgoing.address]
        if not any(recipients):
            raise DeliveryFailed("no recipient address", permanent=True)
        try:
            self.mailer.send(recipients, outgoing.message, message_id=f"{outgoing.event_id}.{outgoing.delivery_id}")
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipients refused: {exc.recipients}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP: {exc.__class__.__name__}: {exc}"[:500]) from exc


@dataclass(frozen=True)
class Channels:
    """Finds the sender for a delivery: an org channel by id, or email for people and customers."""

    org_channels: dict[str, Any]
    mailer: Mailer
    timeout: float

    def sender_for(self, channel: str, channel_type: str) -> Sender:
        """The sender of ``channel``; raise a permanent ``DeliveryFailed`` if it no longer exists."""
        config = self.org_channels.get(channel)
        if config is None:
            if channel_type == "email" and channel in ("people", "customer"):
                return EmailSender(self.mailer)
            raise DeliveryFailed(f"channel {channel!r} is not in the org file", permanent=True)
        if config.type == "slack" and config.url:
            return SlackSender(config.url, self.timeout)
        if config.type == "webhook" and config.url:
            return WebhookSender(config.url, config.secret or "", self.timeout)
        if config.type == "email":
            return EmailSender(self.mailer, tuple(config.to))
        raise DeliveryFailed(f"channel {channel!r} ({config.type}) cannot send messages", permanent=True)
