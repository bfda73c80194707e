"""Real receivers for notify's tests: an HTTP server for Slack and webhook posts, an SMTP server for mail."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support import free_port


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signature_ok(self, secret: str) -> bool:
        """Check the webhook signature as a receiver would: HMAC-SHA256 over ``timestamp.body``."""
        timestamp = self.headers.get("x-closeloop-timestamp", "")
        expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + self.body,
                                        hashlib.sha256).hexdigest()
        return bool(timestamp) and hmac.compare_digest(expected, self.headers.get("x-closeloop-signature", ""))


@dataclass
class HttpReceiver:
    """Records every POST; paths listed in ``failing`` answer 500, those in ``slow`` wait ``delay`` s."""

    failing: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    delay: float = 4.0
    posts: list[Post] = field(default_factory=list)

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path in receiver.slow:
                    time.sleep(receiver.delay)
                receiver.posts.append(Post(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if self.path in receiver.failing else 200
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"boom" if status == 500 else b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Post]:
        return [p for p in self.posts if p.path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MailReceiver:
    """aiosmtpd on a free port, keeping every message it accepts.

    ``refuse`` maps a recipient to the reply its ``RCPT`` gets (e.g. ``"550 5.1.1 no such user"``);
    ``hold`` maps a recipient to seconds the server waits, after taking a mail for them, before
    it answers (a send in flight); ``sessions`` counts the connections mail came over.
    """

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}
        self.hold: dict[str, float] = {}
        self.connections: set[int] = set()

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,  # noqa: N802
                          _options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import asyncio

        self.connections.add(id(session))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))  # type: ignore[arg-type]
        held = max((self.hold.get(a, 0.0) for a in envelope.rcpt_tos), default=0.0)
        if held:
            await asyncio.sleep(held)
        return "250 OK"

    def start(self) -> MailReceiver:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?from=closeloop@example.com"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, (_, rcpts) in zip(self.messages, self.envelopes, strict=True) if address in rcpts]

    def stop(self) -> None:
        self.controller.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies of a received mail."""
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "mail lacks a text or an HTML part"
    return text.get_content(), html.get_content()
