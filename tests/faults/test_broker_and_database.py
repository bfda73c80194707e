"""The broker frozen and the databases locked by another program: customers never see a 5xx."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest

from tests.faults.conftest import System

pytestmark = pytest.mark.e2e  # real processes; `make test-fast` leaves them out


def test_the_broker_frozen_for_ten_seconds_during_submissions_loses_nothing(system: System) -> None:
    assert system.broker.proc is not None
    pid = system.broker.proc.pid
    thawed = threading.Event()

    def freeze_at(i: int) -> None:
        if i == 30:
            os.kill(pid, signal.SIGSTOP)
            threading.Timer(10, lambda: (os.kill(pid, signal.SIGCONT), thawed.set())).start()

    started = time.monotonic()
    system.submit_many(450, "frozen-broker", per_second=30, during=freeze_at)
    assert thawed.wait(15)
    assert time.monotonic() - started >= 10  # submissions really overlapped the freeze
    system.assert_nothing_lost(timeout=180)


def hold_exclusive_lock(path: str, seconds: float, held: threading.Event,
                        release: threading.Event | None = None) -> threading.Thread:
    """Another program holds ``BEGIN EXCLUSIVE`` on the SQLite file for ``seconds`` (or until ``release``)."""

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        (release or threading.Event()).wait(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_every_database_locked_for_four_seconds_during_submissions_loses_nothing(system: System) -> None:
    holders: list[threading.Thread] = []

    def lock_at(i: int) -> None:
        if i == 40:
            for service in ("intake", "triage", "notify"):
                held = threading.Event()
                holders.append(hold_exclusive_lock(system.db[service], 4, held))
                assert held.wait(10)

    started = time.monotonic()
    system.submit_many(300, "locked-db", during=lock_at)
    for holder in holders:
        holder.join(timeout=30)
    assert len(holders) == 3 and time.monotonic() - started > 4
    system.assert_nothing_lost()
