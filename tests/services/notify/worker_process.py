"""A delivery worker in a process of its own, for tests that kill it: ``python -m tests.services.notify.worker_process
<database url> <org file> <smtp url> <lease seconds>``."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from services.notify.app import Notify
from tests.services.notify.conftest import settings


def main(argv: list[str]) -> None:
    database, org, smtp, lease = argv
    notify = Notify(settings(database, Path(org), smtp, delivery_lease_seconds=float(lease),
                             delivery_poll_seconds=0.05))
    print("worker started", flush=True)
    notify.delivery_worker().run(threading.Event())


if __name__ == "__main__":
    main(sys.argv[1:])
