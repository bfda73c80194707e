"""``make run``'s stand-ins for a mail server and for Slack and webhook receivers.

Locally nothing else listens where notify sends, so without these every delivery would be
retried and then given up, and a newcomer could not see what Closeloop sends. The mail catcher
(aiosmtpd) writes each message it takes to a folder as an ``.eml`` file; the webhook catcher
records each POST (path, headers, body) to a folder as a ``.json`` file. Both answer "accepted",
keep nothing in memory and say one line per message through ``say``.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Say = Callable[[str], None]
_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _file_name(folder: Path, label: str, suffix: str) -> Path:
    """A new file in ``folder`` whose name sorts by arrival: ``20261203-113841-0001-<label><suffix>``."""
    with _counter_lock:
        number = next(_counter)
    slug = re.sub(r"[^A-Za-z0-9@._-]+", "-", label).strip("-")[:60] or "message"
    return folder / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{number:04d}-{slug}{suffix}"


def _quiet(_message: str) -> None:
    return None


class MailCatcher:
    """An SMTP server on ``host:port`` that writes every message to ``folder`` as an ``.eml`` file.

    The file is the message as sent, after ``X-Envelope-From`` and ``X-Envelope-To`` headers that
    name the SMTP envelope (Bcc recipients show there only). Any address is accepted; no AUTH.
    """

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 8025, say: Say = _quiet):
        self.folder, self.host, self.port, self.say = Path(folder), host, port, say
        self.controller: Any = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        recipients = [str(address) for address in envelope.rcpt_tos]
        head = (f"X-Envelope-From: {envelope.mail_from}\r\n"
                f"X-Envelope-To: {', '.join(recipients)}\r\n").encode("utf-8", errors="replace")
        path = _file_name(self.folder, recipients[0] if recipients else "mail", ".eml")
        path.write_bytes(head + content)
        subject = email.message_from_bytes(content, policy=email.policy.default).get("Subject", "")
        self.say(f"to {', '.join(recipients)}: {' '.join(str(subject).split())}  ({path.name})")
        return "250 OK: kept in " + path.name

    def start(self) -> MailCatcher:
        from aiosmtpd.controller import Controller

        self.folder.mkdir(parents=True, exist_ok=True)
        # SMTPUTF8 on, so that mail to addresses outside ASCII is taken as a real server would
        self.controller = Controller(self, hostname=self.host, port=self.port, enable_SMTPUTF8=True)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class _HookHandler(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        text = raw.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        record = {"received_at": datetime.now(UTC).isoformat(), "method": self.command, "path": self.path,
                  "headers": dict(self.headers.items()), "body": body}
        catcher = self.server.catcher
        path = _file_name(catcher.folder, self.path.split("?")[0], ".json")
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        catcher.say(f"{self.command} {self.path}  ({path.name})")
        answer = b"ok"  # what Slack's incoming webhooks answer
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return None  # one line per message comes from the catcher, not one per request


class _HookServer(ThreadingHTTPServer):
    daemon_threads = True
    catcher: WebhookCatcher


class WebhookCatcher:
    """An HTTP server on ``host:port`` that records every POST to ``folder`` as a ``.json`` file."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 8999, say: Say = _quiet):
        self.folder, self.host, self.port, self.say = Path(folder), host, port, say
        self.server: _HookServer | None = None

    def start(self) -> WebhookCatcher:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.server = _HookServer((self.host, self.port), _HookHandler)
        self.server.catcher = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name=f"webhook-catcher-{self.port}", daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
