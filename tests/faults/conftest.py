"""The fault suite's system: every role its own real process, on loopback, on SQLite.

Faults are injected the way they happen in production: SIGKILL to a consumer (and a supervisor
that restarts it), SIGSTOP to the broker, an outside program holding the database's lock, a
poison message on the topic. The checks read the services' databases directly, so that they
count rows exactly rather than through paginated APIs.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import ORG, Broker, ServiceProcess, free_port, http, migrate, wait_for

CONSUMERS = ("intake", "triage", "notify")


@dataclass
class System:
    """A broker, intake's web and consume roles, and triage's and notify's consumers."""

    base: Path
    broker: Broker
    db: dict[str, str]
    intake_port: int
    procs: dict[str, ServiceProcess] = field(default_factory=dict)
    statuses: list[int] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def intake(self) -> str:
        return f"http://127.0.0.1:{self.intake_port}"

    def env(self) -> dict[str, str]:
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap, "ORG_CONFIG": str(ORG),
               "CLOSELOOP_VAR_DIR": str(self.base / "var"), "CLOSELOOP_SECRET_KEY": "faults-secret",
               "LOG_LEVEL": "INFO", "INTAKE_PORT": str(self.intake_port), "INTAKE_RATE_LIMIT": "100000/second"}
        for name, path in self.db.items():
            env[f"{name.upper()}_DATABASE_URL"] = f"sqlite:///{path}"
        env.update(self.extra_env)
        return env

    def start(self, name: str, role: str) -> ServiceProcess:
        proc = ServiceProcess(name, role, self.env(), self.base).start()
        self.procs[f"{name}-{role}"] = proc
        return proc

    def submit(self, i: int, tag: str) -> None:
        """One customer's feedback (a complaint, so that it must get a ticket)."""
        status, answer = http("POST", f"{self.intake}/api/v1/feedback",
                              {"source": "survey", "survey": {"metric": "nps", "score": i % 6},
                               "comment": f"{tag} complaint {i}: the parcel came late", "touchpoint": "delivery"},
                              timeout=30)
        self.statuses.append(status)
        if status == 202:
            self.accepted.append(answer["id"])

    def submit_many(self, count: int, tag: str, *, per_second: float = 40,
                    during: Callable[[int], None] | None = None) -> None:
        """``count`` submissions from 4 clients at about ``per_second``; ``during(i)`` runs at each i."""
        with ThreadPoolExecutor(4) as pool:
            futures = []
            for i in range(count):
                if during is not None:
                    during(i)
                futures.append(pool.submit(self.submit, i, tag))
                time.sleep(1 / per_second)
            for f in futures:
                f.result()

    def rows(self, service: str, sql: str) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.db[service]}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def tickets_per_feedback(self) -> dict[str, int]:
        return dict(self.rows("triage", "SELECT feedback_id, count(*) FROM tickets GROUP BY feedback_id"))

    def feed_per_feedback(self) -> dict[str, int]:
        return dict(self.rows("notify", "SELECT feedback_id, count(*) FROM feed_entries GROUP BY feedback_id"))

    def assert_nothing_lost(self, timeout: float = 150) -> None:
        """No 5xx; every accepted feedback ends with exactly one ticket and exactly one feed entry."""
        assert self.statuses and all(s == 202 for s in self.statuses), sorted(set(self.statuses))
        assert len(self.accepted) == len(self.statuses)
        wanted = set(self.accepted)
        wait_for(lambda: wanted <= set(self.tickets_per_feedback()) and wanted <= set(self.feed_per_feedback()),
                 timeout, "a ticket and a feed entry for every accepted feedback", interval=0.5)
        tickets, feed = self.tickets_per_feedback(), self.feed_per_feedback()
        assert {f: tickets[f] for f in wanted if tickets[f] != 1} == {}
        assert {f: feed[f] for f in wanted if feed[f] != 1} == {}
        # the ticket's owner count stays true to the tickets (a replayed batch must not count twice)
        open_by_owner = dict(self.rows("triage", "SELECT owner_id, count(*) FROM tickets GROUP BY owner_id"))
        counted = dict(self.rows("triage", "SELECT user_id, open_tickets FROM assignees WHERE open_tickets > 0"))
        assert counted == open_by_owner

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop(timeout=15)
        self.broker.stop()


def consumer_pid(proc: ServiceProcess) -> int:
    assert proc.proc is not None
    return proc.proc.pid


class Supervisor(threading.Thread):
    """Restarts a role process that died, after a second, as Kubernetes or ``make run`` would."""

    def __init__(self, system: System, name: str, role: str):
        super().__init__(daemon=True)
        self.system, self.name, self.role = system, name, role
        self.stopping = threading.Event()
        self.restarts = 0

    @property
    def proc(self) -> ServiceProcess:
        return self.system.procs[f"{self.name}-{self.role}"]

    def run(self) -> None:
        while not self.stopping.wait(0.2):
            p = self.proc.proc
            if p is not None and p.poll() is not None:
                time.sleep(1)
                self.proc.start()
                self.restarts += 1


@pytest.fixture
def system_env() -> dict[str, str]:
    """Extra environment for every process of the system (a test module may override this)."""
    return {}


@pytest.fixture
def system(tmp_path: Path, system_env: dict[str, str]) -> Iterator[System]:
    broker = Broker(tmp_path).start()
    db = {name: tmp_path / f"{name}.db" for name in CONSUMERS}
    for name, path in db.items():
        migrate(name, f"sqlite:///{path}")
    s = System(tmp_path, broker, {k: str(v) for k, v in db.items()}, free_port(), extra_env=system_env)
    try:
        s.start("intake", "web")
        s.start("intake", "consume")
        s.start("triage", "consume")
        s.start("notify", "consume")
        wait_for(lambda: http("GET", f"{s.intake}/healthz", timeout=1)[0] == 200, 60, "intake web")
        # warm-up: every consumer has joined its group once this feedback is through
        s.submit(0, "warm-up")
        wait_for(lambda: set(s.accepted) <= set(s.tickets_per_feedback()) and set(s.accepted) <= set(
            s.feed_per_feedback()), 90, "the warm-up feedback end to end", interval=0.2)
        yield s
    except BaseException:
        for proc in s.procs.values():
            print(f"--- {proc.log_path.name}\n{proc.log()[-3000:]}")
        raise
    finally:
        s.stop()
