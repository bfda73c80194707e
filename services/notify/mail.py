"""Email over SMTP: a message rendered as text and HTML (Jinja, autoescaped), sent to one server.

``NOTIFY_SMTP_URL`` is ``smtp://[user:password@]host[:port][?from=addr&starttls=true]`` or
``smtps://...`` for implicit TLS.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from urllib.parse import parse_qs, unquote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from services.notify.messages import Message

KIND_COLOURS = {"praise": "#1f8a4c", "complaint": "#c53030", "neutral": "#b7791f", "at_risk": "#b7791f",
                "breached": "#c53030", "resolved": "#1f8a4c", "digest": "#2f5bea", "customer": "#2f5bea"}
DEFAULT_FROM = "Closeloop <closeloop@localhost>"


@cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("services.notify", "templates"),
                       autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                       trim_blocks=True, lstrip_blocks=True)


def render(message: Message) -> tuple[str, str]:
    """``(text, html)`` bodies of ``message``; everything in it is escaped in the HTML."""
    env = _templates()
    context = {"m": message, "colour": KIND_COLOURS.get(message.kind, "#2f5bea"),
               "customer": message.kind == "customer"}
    return env.get_template("email.txt").render(**context), env.get_template("email.html").render(**context)


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
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse ``NOTIFY_SMTP_URL``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("NOTIFY_SMTP_URL must look like smtp://host:port")
        query = parse_qs(parts.query)
        secure = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if secure else 25), ssl=secure,
                   starttls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   sender=query.get("from", [DEFAULT_FROM])[0])


@dataclass(frozen=True)
class Mailer:
    config: SmtpConfig
    timeout: float

    def build(self, to: list[str], message: Message, *, message_id: str) -> EmailMessage:
        """The MIME message: a text part and an HTML alternative."""
        text, html = render(message)
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = ", ".join(to)
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(idstring=message_id.replace(":", "-")[:60], domain="closeloop")
        mail.set_content(text)
        mail.add_alternative(html, subtype="html")
        return mail

    def send(self, to: list[str], message: Message, *, message_id: str) -> None:
        """Send one message; raises ``smtplib.SMTPException`` or ``OSError`` when it cannot."""
        mail = self.build(to, message, message_id=message_id)
        cfg = self.config
        client: smtplib.SMTP
        if cfg.ssl:
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout)
        with client:
            if cfg.starttls:
                client.starttls(context=ssl.create_default_context())
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
            client.send_message(mail)
