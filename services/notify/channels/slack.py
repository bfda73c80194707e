"""Slack: incoming-webhook JSON in mrkdwn, with ``&``, ``<`` and ``>`` escaped so that nothing a
customer wrote can ping a channel or forge a link."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from services.notify.channels.base import ChannelType, Options, Outgoing, Sender, Tools, post_json
from services.notify.messages import Message

KIND_EMOJI = {"praise": ":tada:", "complaint": ":warning:", "neutral": ":speech_balloon:", "at_risk": ":hourglass:",
              "breached": ":rotating_light:", "resolved": ":white_check_mark:", "digest": ":bar_chart:"}


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


@dataclass(frozen=True)
class SlackSender:
    url: str
    timeout: float

    def send(self, outgoing: Outgoing) -> None:
        """Post the message to a Slack incoming webhook."""
        post_json(self.url, json.dumps(slack_payload(outgoing.message)).encode(), {}, self.timeout)


class SlackOptions(Options):
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, validate=validate.Length(max=2000))


class Slack(ChannelType):
    name = "slack"
    options = SlackOptions
    concurrency = 1  # a chat reads in order

    def sender(self, options: Mapping[str, Any], tools: Tools) -> Sender:
        return SlackSender(options["url"], tools.timeout)


CHANNEL = Slack()
