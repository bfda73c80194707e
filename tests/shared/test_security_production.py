"""Production mode refuses placeholder and demo secrets and tokens, naming them (issue 20 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared.settings import ROOT, ConfigError, common, read_env

STRONG = "k" * 40 + "strong-session-key"
LINKS = "l" * 40 + "strong-link-secret"
K8S_ORG = ROOT / "deploy" / "k8s" / "org.yaml"


def _k8s_org_file(tmp_path: Path) -> Path:
    config_map = yaml.safe_load(K8S_ORG.read_text())
    path = tmp_path / "org.yaml"
    path.write_text(config_map["data"]["org.yaml"])
    return path


def _good_org(tmp_path: Path) -> Path:
    data = yaml.safe_load(_k8s_org_file(tmp_path).read_text())
    for i, user in enumerate(data["users"]):
        user["token"] = f"a-real-long-token-number-{i:04d}"
    for i, integration in enumerate(data.get("integrations") or []):
        integration["token"] = f"a-real-integration-token-{i:04d}"
    for channel in data.get("channels") or []:
        if "secret" in channel:
            channel["secret"] = "a-real-webhook-secret-0123456789"
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _start(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name in ("CLOSELOOP_SECRET_KEY", "CLOSELOOP_LINK_SECRET", "ORG_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOSELOOP_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    common(read_env())


def test_the_shipped_k8s_placeholders_refuse_to_start_naming_each(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        _start(monkeypatch, CLOSELOOP_SECRET_KEY="replace-with-64-random-characters",
               ORG_CONFIG=str(_k8s_org_file(tmp_path)))
    message = str(refused.value)
    assert "CLOSELOOP_SECRET_KEY" in message and "CLOSELOOP_LINK_SECRET is unset" in message
    assert "replace-with-a-long-random-token-ceo" in message


def test_demo_org_and_unset_org_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="ORG_CONFIG is unset"):
        _start(monkeypatch, CLOSELOOP_SECRET_KEY=STRONG, CLOSELOOP_LINK_SECRET=LINKS)
    with pytest.raises(ConfigError, match="demo org"):
        _start(monkeypatch, CLOSELOOP_SECRET_KEY=STRONG, CLOSELOOP_LINK_SECRET=LINKS,
               ORG_CONFIG=str(ROOT / "config" / "org.demo.yaml"))


def test_demo_tokens_and_webhook_secret_in_another_file_are_named(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_text((ROOT / "config" / "org.demo.yaml").read_text())
    with pytest.raises(ConfigError) as refused:
        _start(monkeypatch, CLOSELOOP_SECRET_KEY=STRONG, CLOSELOOP_LINK_SECRET=LINKS, ORG_CONFIG=str(copy))
    assert "dev-ana" in str(refused.value) and "dev-webhook-secret" in str(refused.value)


def test_the_link_secret_must_be_its_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CLOSELOOP_LINK_SECRET equals CLOSELOOP_SECRET_KEY"):
        _start(monkeypatch, CLOSELOOP_SECRET_KEY=STRONG, CLOSELOOP_LINK_SECRET=STRONG,
               ORG_CONFIG=str(_good_org(tmp_path)))


def test_real_secrets_start_with_secure_cookies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOSELOOP_ENV", "production")
    monkeypatch.setenv("CLOSELOOP_SECRET_KEY", STRONG)
    monkeypatch.setenv("CLOSELOOP_LINK_SECRET", LINKS)
    monkeypatch.setenv("ORG_CONFIG", str(_good_org(tmp_path)))
    settings = common(read_env())
    assert settings.production and settings.secure_cookies and settings.link_secret == LINKS


def test_local_runs_keep_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLOSELOOP_ENV", "ORG_CONFIG", "CLOSELOOP_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    settings = common(read_env())
    assert not settings.production and not settings.secure_cookies


def test_session_cookies_are_secure_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.web import _secure_cookies

    monkeypatch.delenv("CLOSELOOP_SECURE_COOKIES", raising=False)
    monkeypatch.setenv("CLOSELOOP_ENV", "production")
    assert _secure_cookies()
    monkeypatch.setenv("CLOSELOOP_SECURE_COOKIES", "false")
    assert not _secure_cookies()
    monkeypatch.delenv("CLOSELOOP_ENV")
    monkeypatch.delenv("CLOSELOOP_SECURE_COOKIES")
    assert not _secure_cookies()
