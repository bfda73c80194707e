"""`make run` from a fresh clone: what Closeloop sends lands in var/mail and var/webhooks, the welcome
says where, and the console is not a flood of retries."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest

from tests.e2e.conftest import start_stack
from tests.support import ORG, free_port, http, wait_for

pytestmark = pytest.mark.e2e


def test_make_run_catches_the_mail_and_the_posts_it_sends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SMTP_URL", raising=False)  # as on a newcomer's machine
    # the demo org's channels, on a port of this test's own (another stack may hold 127.0.0.1:8999)
    hooks_port = free_port()
    org = tmp_path / "org.yaml"
    org.write_text(ORG.read_text().replace("127.0.0.1:8999", f"127.0.0.1:{hooks_port}"))
    stack = start_stack(tmp_path, {"ORG_CONFIG": str(org), "NOTIFY_DELIVERY_BACKOFF_SECONDS": "0.2"})
    try:
        for body in ({"survey": {"metric": "nps", "score": 10}, "comment": "Ana Silva sorted it out in minutes"},
                     {"survey": {"metric": "nps", "score": 1}, "comment": "Parcel lost", "touchpoint": "delivery"}):
            assert http("POST", f"{stack.intake}/api/v1/feedback", body)[0] == 202
        mail_dir, hooks_dir = stack.var / "mail", stack.var / "webhooks"

        def mail_to(address: str) -> list[email.message.EmailMessage]:
            found = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                     for p in sorted(mail_dir.glob("*.eml"))]
            return [m for m in found if address in str(m["X-Envelope-To"])]

        (praise,) = wait_for(lambda: mail_to("ana@example.com"), 60, "the praise mailed to Ana in var/mail")
        assert "praised" in str(praise["Subject"])
        wait_for(lambda: mail_to("tom@example.com") or mail_to("lena@example.com"), 30,
                 "the new ticket mailed to its owner in Logistics")

        def posted() -> dict[str, dict]:
            return {r["path"]: r for r in (json.loads(p.read_text()) for p in hooks_dir.glob("*.json"))}

        hooks = wait_for(lambda: {"/slack/kudos", "/hooks/complaints"} <= set(p := posted()) and p, 30,
                         "the praise on Slack and the complaint on the webhook, in var/webhooks")
        assert "Ana Silva sorted it out in minutes" in hooks["/slack/kudos"]["body"]["text"]
        assert hooks["/hooks/complaints"]["body"]["comment"] == "Parcel lost"

        log = stack.log()
        welcome = log[log.index("Closeloop is running"):]
        assert f"{mail_dir}/" in welcome and f"{hooks_dir}/" in welcome
        assert "delivery_failed" not in log, "deliveries were retried: " + log[-3000:]
        # one line on the console per message caught
        assert f"to ana@example.com: {praise['Subject']}" in log
    finally:
        assert stack.stop() == 0
