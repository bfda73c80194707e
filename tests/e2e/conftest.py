"""The whole of Closeloop started as ``make run`` starts it, on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ORG, ROOT, free_port, http, wait_for

RUNNING: list[Stack] = []
"""Stacks started and not yet stopped: a failing test's report shows the end of their logs."""


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    var: Path
    intake: str
    triage: str
    notify: str
    log_path: Path
    mail_port: int = 0  # intake's SMTP listener (the mail role), for customers' answers by email

    def pid(self, name: str) -> int:
        return int((self.var / "run" / f"{name}.pid").read_text())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self in RUNNING:
            RUNNING.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def start_stack(base: Path, extra_env: dict[str, str] | None = None) -> Stack:
    ports = {name: free_port() for name in ("INTAKE_PORT", "TRIAGE_PORT", "NOTIFY_PORT", "CLOSELOOP_BROKER_PORT",
                                            "INTAKE_MAIL_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    env.update({k: str(v) for k, v in ports.items()})
    env.update({"CLOSELOOP_VAR_DIR": str(base / "var"), "ORG_CONFIG": str(ORG), "LOG_LEVEL": "INFO",
                "CLOSELOOP_SECRET_KEY": "e2e-secret",
                # these tests post far more than a customer would; the limit itself is tested elsewhere
                "INTAKE_RATE_LIMIT": "100000/minute"})
    env.update(extra_env or {})
    log_path = base / "make-run.log"
    proc = subprocess.Popen([sys.executable, "tools/dev.py"], cwd=ROOT, env=env, stdout=open(log_path, "wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    stack = Stack(proc, base / "var", f"http://127.0.0.1:{ports['INTAKE_PORT']}",
                  f"http://127.0.0.1:{ports['TRIAGE_PORT']}", f"http://127.0.0.1:{ports['NOTIFY_PORT']}", log_path,
                  int(env["INTAKE_MAIL_PORT"]))
    RUNNING.append(stack)
    try:
        for url in (stack.intake, stack.triage, stack.notify):
            wait_for(lambda url=url: http("GET", f"{url}/healthz", timeout=1)[0] == 200, 60, f"{url}/healthz")
    except AssertionError:
        stack.stop()
        raise AssertionError("stack did not start:\n" + stack.log()[-4000:]) from None
    return stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("stack"))
    yield s
    s.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:
        for stack in RUNNING:
            report.sections.append((f"services' log ({stack.log_path})", stack.log()[-12000:]))
    return report
