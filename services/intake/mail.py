"""Intake's ``mail`` role: customers answer our emails, and the answer joins the ticket's conversation.

Notify sends every customer email with ``Reply-To: reply+<token>@<INTAKE_MAIL_DOMAIN>``, the token
naming the ticket with an HMAC (:func:`shared.links.reply_address`). This is a real SMTP server
(aiosmtpd) on ``INTAKE_MAIL_PORT`` that takes mail for those addresses only:

- ``RCPT TO`` a forged, damaged or foreign address is refused there and then (``550``), so nothing
  of such a mail is ever read or stored;
- the text of an accepted mail loses its quoted part and signature (``mail-parser-reply``) and is
  stored as feedback ``source: email`` ``in_reply_to`` the ticket, the sender as the customer's
  email, once per ``Message-ID`` (a sender's retry stores nothing new);
- mail larger than :data:`MAX_MAIL_BYTES` is refused (``552``, announced with ``SIZE``);
  automatic answers (out-of-office, RFC 3834) are accepted and dropped;
- a database that cannot be written answers ``451``: the sender's server tries again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from html.parser import HTMLParser
from typing import Any

import structlog
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from mailparser_reply import EmailReplyParser
from marshmallow import ValidationError
from marshmallow.validate import Email

from services.intake import handlers, status
from services.intake import metrics as intake_metrics
from services.intake.schemas import MAX_COMMENT
from shared.links import BadLink, read_reply_address

log = structlog.get_logger(__name__)

MAX_MAIL_BYTES = 10 * 1024 * 1024  # a reply with a photo or two; the text is all we keep
MAX_RECIPIENTS = 10
REPLY_LANGUAGES = ["en"]
NO_RECIPIENT = "550 5.1.1 No such recipient here"
_EMAIL = Email()


class _Text(HTMLParser):
    """The visible text of an HTML-only mail, a line per block."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "blockquote"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def body_text(message: EmailMessage) -> str:
    """The mail's text: its plain part, else its HTML part as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        parser = _Text()
        parser.feed(content)
        content = "".join(parser.parts)
    return content.replace("\r\n", "\n")


def reply_of(text: str) -> str:
    """The customer's own words: the quoted part and the signature removed."""
    parsed = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text)
    body = parsed.replies[0].body if parsed.replies else text
    # quoted lines the parser left (an answer written between the quoted ones keeps its own lines)
    body = "\n".join(line for line in body.split("\n") if not line.lstrip().startswith(">"))
    body = re.sub(r"\n{3,}", "\n\n", body.replace("\x00", "")).strip()
    if len(body) > MAX_COMMENT:
        body = body[: MAX_COMMENT - 1].rstrip() + "…"
    return body


def sender_of(message: EmailMessage, mail_from: str | None) -> str | None:
    """The address the customer wrote from (``From:``, else the envelope sender), if it is a valid one."""
    candidates = [address for _name, address in getaddresses([str(message.get("From", ""))])]
    candidates.append(mail_from or "")
    for address in candidates:
        try:
            return _EMAIL(address.strip())[:320]
        except ValidationError:
            continue
    return None


def is_automatic(message: EmailMessage) -> bool:
    """An out-of-office or other automatic answer (RFC 3834), which is no customer message."""
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return auto != "no" or precedence in ("bulk", "junk", "list", "auto_reply") or "X-Autoreply" in message


class ReplyHandler:
    """The aiosmtpd handler: check recipients at ``RCPT``, store the answer at ``DATA``."""

    def __init__(self, *, secret: str, domain: str, sessions: Any, feedback: status.Store):
        self.secret = secret
        self.domain = domain.lower()
        self.sessions = sessions
        self.feedback = feedback

    def ticket_of(self, address: str) -> str:
        """The ticket an address of ours names; raise :class:`BadLink` for anything else."""
        domain = address.rpartition("@")[2].strip().rstrip(">").lower()
        if domain != self.domain:
            raise BadLink("not our domain")
        return read_reply_address(self.secret, address)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        try:
            self.ticket_of(address)
        except BadLink:
            intake_metrics.rejected("bad_reply_address")
            log.info("mail_recipient_refused", peer=str(session.peer[0]) if session.peer else None)
            return NO_RECIPIENT
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        intake_metrics.RECEIVED.labels("email").inc()
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "replace")
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        if is_automatic(message):
            intake_metrics.rejected("automatic_mail")
            return "250 OK: automatic answer, not stored"
        text = reply_of(body_text(message))
        if not text:
            intake_metrics.rejected("invalid")
            return "550 5.6.0 We found no text above the quoted part; please write your answer and send it again"
        tickets = list(dict.fromkeys(self.ticket_of(address) for address in envelope.rcpt_tos))
        sender = sender_of(message, envelope.mail_from)
        message_id = str(message.get("Message-ID", "")).strip() or hashlib.sha256(raw).hexdigest()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.store, tickets, sender, text, message_id)
        except Exception as exc:  # the database: the sender's server keeps the mail and tries again
            log.exception("mail_store_failed", error=repr(exc))
            return "451 4.3.0 We could not save your answer just now; it will be sent again"
        return "250 OK: thank you, your answer is with the team"

    def store(self, tickets: list[str], sender: str | None, text: str, message_id: str) -> None:
        """Store the answer once per ticket (the Message-ID is its idempotency key)."""
        now = datetime.now(UTC)
        for ticket_id in tickets:
            with self.sessions() as session:
                original = status.by_ticket(session, ticket_id)
                try:
                    data = status.message_data(ticket_id=ticket_id, original=original, source="email",
                                               comment=text, email=sender)
                except ValidationError as exc:  # an original whose stored fields no longer validate
                    log.warning("mail_answer_invalid", ticket_id=ticket_id, errors=exc.messages)
                    continue
            key = "mail:" + hashlib.sha256(f"{ticket_id}|{message_id}".encode()).hexdigest()
            try:
                accepted = self.feedback.store(data, idempotency_key=key, now=now)
            except handlers.IdempotencyConflict:  # the same mail again, its ticket's feedback changed since
                log.info("mail_answer_repeated", ticket_id=ticket_id)
                continue
            intake_metrics.stored(source="email", duplicate_kind=accepted.duplicate_kind)
            log.info("mail_answer_stored", ticket_id=ticket_id, feedback_id=accepted.feedback.id,
                     duplicate=accepted.duplicate)


class MailServer:
    """The SMTP listener as a loop the runner starts (``run(stop)``) and stops."""

    def __init__(self, handler: ReplyHandler, *, host: str, port: int):
        self.handler = handler
        self.host = host
        self.port = port
        self.ready = threading.Event()

    def controller(self) -> Controller:
        return Controller(self.handler, hostname=self.host, port=self.port, data_size_limit=MAX_MAIL_BYTES,
                          server_hostname=self.handler.domain, ready_timeout=10.0,
                          # a reply is plain ASCII or UTF-8 either way; 8BITMIME bodies are kept as bytes
                          decode_data=False)

    def run(self, stop: threading.Event) -> None:
        controller = self.controller()
        controller.start()
        log.info("mail_listening", host=self.host, port=self.port, domain=self.handler.domain)
        self.ready.set()
        try:
            stop.wait()
        finally:
            controller.stop()
            self.ready.clear()


def build(settings: Any, sessions: Any, feedback: status.Store, *, host: str = "0.0.0.0",
          port: int | None = None) -> MailServer:
    """The mail role's listener from intake's settings (``INTAKE_MAIL_PORT``, ``INTAKE_MAIL_DOMAIN``)."""
    handler = ReplyHandler(secret=settings.common.link_secret, domain=settings.mail_domain, sessions=sessions,
                           feedback=feedback)
    return MailServer(handler, host=host, port=port or settings.mail_port or 2525)
