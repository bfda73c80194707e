"""Email over SMTP (see ``services/notify/mail.py``): to a channel's list of addresses, or, for the
built-in ``people`` and ``customer`` channels, to each delivery's own address."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from services.notify.channels.base import ChannelType, DeliveryFailed, Options, Outgoing, Sender, Tools
from services.notify.mail import Mailer


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


class EmailOptions(Options):
    to = fields.List(fields.Email(), required=True, validate=validate.Length(min=1))


class Email(ChannelType):
    name = "email"
    options = EmailOptions
    concurrency = 8  # separate mails to separate people, over pooled SMTP connections

    def sender(self, options: Mapping[str, Any], tools: Tools) -> Sender:
        return EmailSender(tools.mailer, tuple(options.get("to") or ()))

    def recipients(self, options: Mapping[str, Any]) -> set[str]:
        return set(options.get("to") or ())


CHANNEL = Email()
