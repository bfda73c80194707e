"""Consumers SIGKILLed mid-stream lose nothing and duplicate nothing."""

from __future__ import annotations

import os
import signal

import pytest

from tests.faults.conftest import Supervisor, System, consumer_pid
from tests.support import wait_for

pytestmark = pytest.mark.e2e  # real processes; `make test-fast` leaves them out


@pytest.mark.parametrize("victim", ["triage", "notify"])
def test_a_consumer_killed_three_times_during_300_submissions_loses_and_repeats_nothing(
        system: System, victim: str) -> None:
    supervisor = Supervisor(system, victim, "consume")
    supervisor.start()
    killed: list[int] = []

    def kill_at(i: int) -> None:
        if i in (40, 140, 240):
            # the one running now: wait until the supervisor has restarted the last one we killed
            pid = wait_for(lambda: (p := consumer_pid(supervisor.proc)) not in killed and p, 20, "a live consumer")
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    system.submit_many(300, f"kill-{victim}", during=kill_at)
    assert len(killed) == 3
    system.assert_nothing_lost()
    supervisor.stopping.set()
    assert supervisor.restarts == 3
