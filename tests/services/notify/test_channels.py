"""Channel types come from a registry: one module per type, checked against the org file at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notify.app import Notify
from services.notify.channels import REGISTRY
from shared.org import OrgConfigError
from tests.services.notify.conftest import settings, write_org
from tests.services.notify.receivers import HttpReceiver


def test_the_registry_holds_one_type_per_module() -> None:
    assert set(REGISTRY) == {"email", "feed", "slack", "webhook"}
    assert not REGISTRY["feed"].delivers and REGISTRY["slack"].concurrency == 1


def org_with(tmp_path: Path, receiver: HttpReceiver, channel: dict[str, Any]) -> Path:
    path = write_org(tmp_path, receiver)
    org = yaml.safe_load(path.read_text())
    org["channels"].append(channel)
    path.write_text(yaml.safe_dump(org, sort_keys=False))
    return path


@pytest.mark.parametrize(("channel", "named"), [
    ({"id": "ms-teams", "type": "teams", "url": "http://x.example"}, "'ms-teams' has type 'teams'"),
    ({"id": "no-url", "type": "slack"}, "'no-url' (slack)"),
    ({"id": "unsigned", "type": "webhook", "url": "http://x.example/h"}, "'unsigned' (webhook)"),
    ({"id": "bad-list", "type": "email", "to": ["not an address"]}, "'bad-list' (email)"),
    ({"id": "typo", "type": "slack", "url": "http://x.example/s", "ur1": "x"}, "'typo' (slack)"),
])
def test_notify_refuses_to_start_on_a_channel_it_cannot_send_to(tmp_path: Path, http_receiver: HttpReceiver,
                                                                channel: dict[str, Any], named: str) -> None:
    org = org_with(tmp_path, http_receiver, channel)
    with pytest.raises(OrgConfigError) as failure:
        Notify(settings(f"sqlite:///{tmp_path / 'n.db'}", org, "smtp://127.0.0.1:1"))
    assert named in str(failure.value) and str(org) in str(failure.value)
