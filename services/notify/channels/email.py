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
            self.mailer.send(recipients, outgoing.message, delivery_id=outgoing.delivery_id,
                             event_id=outgoing.event_id)
        except smtplib.SMTPRecipientsRefused as exc:
            # every recipient refused: for good if each refusal is permanent (5xx), else try again later
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(f"recipients refused: {exc.recipients}"[:500],
                                 permanent=all(_permanent(code) for code in codes)) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            # the server refused this mail (sender or content): 5xx is final, 4xx is "try later"
            raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500],
                                 permanent=_permanent(exc.smtp_code)) from exc
        except (smtplib.SMTPException, OSError) as exc:  # connection, greeting, login: ours to fix, retried
            raise DeliveryFailed(f"SMTP: {exc.__class__.__name__}: {exc}"[:500]) from exc


def _permanent(code: int) -> bool:
    """A 5xx SMTP reply is a permanent refusal (RFC 5321 section 4.2.1); 4xx is temporary."""
    return 500 <= code < 600


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
