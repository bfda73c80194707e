"""`make run`'s catchers: the mail and the posts Closeloop sends land in var/ where a newcomer reads them."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import socket
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from shared.org import Channel
from tests.support import free_port
from tools import dev
from tools.catchers import MailCatcher, WebhookCatcher


class _Org:
    def __init__(self, *urls: str) -> None:
        self.channels = [Channel(id="feed", type="feed")] + [
            Channel(id=f"c{i}", type="webhook", options={"url": url}) for i, url in enumerate(urls)]


def test_a_mail_sent_to_the_catcher_is_an_eml_file_naming_its_envelope(tmp_path: Path) -> None:
    said: list[str] = []
    catcher = MailCatcher(tmp_path / "mail", port=free_port(), say=said.append).start()
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "closeloop@example.com", "ana@example.com", "Grüße: ja"
        message.set_content("A customer praised you.")
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=5) as smtp:
            smtp.send_message(message, to_addrs=["ana@example.com", "lee@example.com"])
    finally:
        catcher.stop()
    (path,) = (tmp_path / "mail").glob("*.eml")
    kept = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert kept["Subject"] == "Grüße: ja"
    assert kept["X-Envelope-To"] == "ana@example.com, lee@example.com"
    assert kept.get_content().strip() == "A customer praised you."
    assert said == [f"to ana@example.com, lee@example.com: Grüße: ja  ({path.name})"]


def test_a_post_to_the_webhook_catcher_is_a_json_file_with_its_path_headers_and_body(tmp_path: Path) -> None:
    catcher = WebhookCatcher(tmp_path / "hooks", port=0).start()
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{catcher.port}/slack/kudos",
                                         data=json.dumps({"text": "Ana was great"}).encode(),
                                         headers={"Content-Type": "application/json", "X-Signature": "abc"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200 and response.read() == b"ok"
    finally:
        catcher.stop()
    (path,) = (tmp_path / "hooks").glob("*.json")
    record = json.loads(path.read_text())
    assert record["path"] == "/slack/kudos" and record["body"] == {"text": "Ana was great"}
    assert record["headers"]["X-Signature"] == "abc"


def test_unset_smtp_url_gets_a_catcher_and_the_services_are_told_where(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    catchers, lines = dev.start_catchers(env, _Org(), tmp_path / "var")
    try:
        (catcher,) = catchers
        assert env["NOTIFY_SMTP_URL"] == f"smtp://127.0.0.1:{catcher.port}"
        assert any(str(tmp_path / "var" / "mail") in line and ".eml" in line for line in lines)
    finally:
        for c in catchers:
            c.stop()


def test_with_8025_taken_the_mail_catcher_takes_a_free_port(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(dev, "DEFAULT_MAIL_PORT", taken.getsockname()[1])
        env: dict[str, str] = {}
        catchers, _ = dev.start_catchers(env, _Org(), tmp_path / "var")
        try:
            (catcher,) = catchers
            assert catcher.port != taken.getsockname()[1]
            assert env["NOTIFY_SMTP_URL"] == f"smtp://127.0.0.1:{catcher.port}"
        finally:
            for c in catchers:
                c.stop()


def test_a_real_mail_server_stays_in_charge(tmp_path: Path) -> None:
    port = free_port()
    for url in ("smtp://mail.example.com:25", f"smtp://user:secret@127.0.0.1:{port}",
                f"smtp://127.0.0.1:{port}?starttls=true", f"smtps://127.0.0.1:{port}"):
        env = {"NOTIFY_SMTP_URL": url}
        catchers, lines = dev.start_catchers(env, _Org(), tmp_path / "var")
        assert catchers == [] and env["NOTIFY_SMTP_URL"] == url
        assert "secret" not in "\n".join(lines)


def test_local_channels_get_one_catcher_per_free_port_and_a_taken_port_is_left_alone(tmp_path: Path) -> None:
    free = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        org = _Org(f"http://127.0.0.1:{free}/slack/kudos", f"http://localhost:{free}/hooks/complaints",
                   f"http://127.0.0.1:{busy}/hooks/x", "https://hooks.slack.com/services/T/B/C")
        env = {"NOTIFY_SMTP_URL": "smtp://mail.example.com:25"}
        catchers, lines = dev.start_catchers(env, org, tmp_path / "var")
        try:
            assert [(type(c), c.port) for c in catchers] == [(WebhookCatcher, free)]
            assert any("c0, c1" in line and str(tmp_path / "var" / "webhooks") in line for line in lines)
            assert any(f"127.0.0.1:{busy}" in line and "no catcher" in line for line in lines)
        finally:
            for c in catchers:
                c.stop()
