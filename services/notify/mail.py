"""Email over SMTP: a message rendered as text and HTML (Jinja, autoescaped), sent to one server.

``NOTIFY_SMTP_URL`` is ``smtp://[user:password@]host[:port][?from=addr&starttls=true]`` or
``smtps://...`` for implicit TLS; ``NOTIFY_MAIL_FROM``, when set, is the sender instead of ``from``.

Connections are kept open and reused (a pool, one connection per sending thread at a time):
opening a connection, greeting and logging in cost more than sending a short mail. A pooled
connection idle for long, or one the server has dropped, is replaced.

Every mail's ``Message-ID`` is made from its delivery (``<delivery-<id>.<event>@<domain>>``), so
a retry, even by another worker after a crash, sends the very same mail again, which the
receiving side can recognise. Mails about one ticket name one thread root
(``<ticket-<id>@<domain>>``) in ``In-Reply-To`` and ``References``, so that a mail client shows
the conversation as one thread.
"""

from __future__ import annotations

import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, getaddresses, parseaddr
from functools import cache
from typing import cast
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from services.notify.messages import TRANSLATIONS, Message
from shared import i18n

KIND_COLOURS = {"praise": "#1f8a4c", "complaint": "#c53030", "neutral": "#b7791f", "at_risk": "#b7791f",
                "breached": "#c53030", "resolved": "#1f8a4c", "digest": "#2f5bea", "customer": "#2f5bea"}
DEFAULT_FROM = "Closeloop <closeloop@localhost>"
_WIRE = compat32.clone(linesep="\r\n")  # smtplib leaves the line ends of bytes as they are
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


@cache
def _templates() -> Environment:
    env = Environment(loader=PackageLoader("services.notify", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                      trim_blocks=True, lstrip_blocks=True)
    return cast(Environment, i18n.jinja_i18n(env))


def words_of(message: Message) -> i18n.Messages:
    """The language the mail's own words (footer...) speak: the message's (a customer's), else English."""
    return i18n.messages([i18n.SHARED_TRANSLATIONS, TRANSLATIONS], [message.language], default=i18n.DEFAULT_LANGUAGE,
                         timezone=message.timezone)


def render(message: Message) -> tuple[str, str]:
    """``(text, html)`` bodies of ``message``; everything in it is escaped in the HTML."""
    env = _templates()
    context = {"m": message, "colour": KIND_COLOURS.get(message.kind, "#2f5bea"),
               "customer": message.kind == "customer", "words": words_of(message)}
    return env.get_template("email.txt").render(**context), env.get_template("email.html").render(**context)


def message_id(delivery_id: int, event_id: str, domain: str) -> str:
    """The ``Message-ID`` of one delivery: the same every time it is sent."""
    return f"<delivery-{delivery_id}.{_ID_UNSAFE.sub('-', event_id)[:80]}@{domain}>"


def thread_id(ticket_id: str, domain: str) -> str:
    """The root ``Message-ID`` every mail about one ticket refers to."""
    return f"<ticket-{_ID_UNSAFE.sub('-', ticket_id)[:80]}@{domain}>"


def _one_line(value: str) -> str:
    """A header value on one line: nothing in it (a touchpoint in a subject...) can add a header."""
    return " ".join(value.splitlines())


def _encoded(name: str, value: str, *, address: bool = False) -> str | Header:
    """A header value as it goes on the wire: ASCII as is, other text (and display names) RFC 2047-encoded
    (a :class:`Header` folds its encoded words after the header's name, not on a line of their own)."""
    value = _one_line(value)
    if value.isascii():
        return value
    if address:
        return ", ".join(formataddr(pair, charset="utf-8") for pair in getaddresses([value]))
    return Header(value, "utf-8", header_name=name)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str | None
    password: str | None
    sender: str

    @classmethod
    def from_url(cls, url: str, *, sender: str | None = None) -> SmtpConfig:
        """Parse ``NOTIFY_SMTP_URL``; ``sender`` (``NOTIFY_MAIL_FROM``) wins over its ``from``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("NOTIFY_SMTP_URL must look like smtp://host:port")
        query = parse_qs(parts.query)
        secure = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if secure else 25), ssl=secure,
                   starttls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   sender=sender or query.get("from", [DEFAULT_FROM])[0])


class Mailer:
    """Builds and sends mail over a small pool of open SMTP connections."""

    def __init__(self, config: SmtpConfig, *, timeout: float, domain: str = "localhost", idle_seconds: float = 20.0,
                 pool_size: int = 16):
        self.config = config
        self.timeout = timeout
        self.domain = domain
        self.idle_seconds = idle_seconds
        self.pool_size = pool_size
        self._idle: list[tuple[smtplib.SMTP, float]] = []
        self._lock = threading.Lock()

    def build(self, to: list[str], message: Message, *, delivery_id: int, event_id: str) -> EmailMessage | MIMEBase:
        """The MIME message: a text part and an HTML alternative, with its id, thread and reply address.

        Built with the ``email.mime`` classes: the header objects of ``email.policy.default`` cost
        several times more than sending the mail. Addresses outside ASCII (which need SMTPUTF8)
        take that slower path.
        """
        text, html = render(message)
        headers = {"From": self.config.sender, "To": ", ".join(to), "Reply-To": message.reply_to,
                   "Subject": message.subject, "Date": formatdate(localtime=False),
                   "Message-ID": message_id(delivery_id, event_id, self.domain)}
        if message.language:
            headers["Content-Language"] = message.language
        if message.thread:
            headers["In-Reply-To"] = headers["References"] = thread_id(message.thread, self.domain)
        if not all(address.isascii() for address in [*to, self.config.sender, message.reply_to or ""]):
            modern = EmailMessage()
            for name, value in headers.items():
                if value:
                    modern[name] = _one_line(value)
            modern.set_content(text)
            modern.add_alternative(html, subtype="html")
            return modern
        mail = MIMEMultipart("alternative")
        for name, value in headers.items():
            if value:
                # a Header (non-ASCII text) is taken as it is by the compat32 policy
                mail[name] = cast(str, _encoded(name, value, address=name in ("From", "To", "Reply-To")))
        mail.attach(MIMEText(text, "plain", "utf-8"))
        mail.attach(MIMEText(html, "html", "utf-8"))
        return mail

    def send(self, to: list[str], message: Message, *, delivery_id: int, event_id: str) -> None:
        """Send one message; raises ``smtplib.SMTPException`` or ``OSError`` when it cannot."""
        mail = self.build(to, message, delivery_id=delivery_id, event_id=event_id)
        client, reused = self._take()
        try:
            self._transmit(client, mail, to)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            self._discard(client)
            if not reused:
                raise
            client = self._connect()  # the server dropped an idle connection: once more on a fresh one
            try:
                self._transmit(client, mail, to)
            except BaseException:
                self._discard(client)
                raise
        except BaseException:
            self._discard(client)
            raise
        self._give(client)

    def _transmit(self, client: smtplib.SMTP, mail: EmailMessage | MIMEBase, to: list[str]) -> None:
        if isinstance(mail, EmailMessage):
            client.send_message(mail)
        else:
            client.sendmail(parseaddr(self.config.sender)[1], to, mail.as_bytes(policy=_WIRE))

    def close(self) -> None:
        """Close every idle connection."""
        with self._lock:
            idle, self._idle = self._idle, []
        for client, _ in idle:
            self._discard(client)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        client: smtplib.SMTP
        if cfg.ssl:
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
        try:
            if cfg.starttls:
                client.starttls(context=ssl.create_default_context())
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
        except BaseException:
            self._discard(client)
            raise
        return client

    def _take(self) -> tuple[smtplib.SMTP, bool]:
        now = time.monotonic()
        stale: list[smtplib.SMTP] = []
        found: smtplib.SMTP | None = None
        with self._lock:
            while self._idle:
                client, since = self._idle.pop()
                if now - since < self.idle_seconds:
                    found = client
                    break
                stale.append(client)
        for client in stale:
            self._discard(client)
        return (found, True) if found is not None else (self._connect(), False)

    def _give(self, client: smtplib.SMTP) -> None:
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append((client, time.monotonic()))
                return
        self._discard(client)

    @staticmethod
    def _discard(client: smtplib.SMTP) -> None:
        try:
            client.quit()
        except Exception:  # already broken: just drop the socket
            client.close()
