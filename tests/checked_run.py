"""``python -m tests.checked_run services.<name> <role>``: a service process whose produced events are checked.

The test suite starts the services through this, so that every event they build is loaded back
through its schema (:func:`tests.support.check_produced_events`), as in the suite's own process.
"""

from __future__ import annotations

import runpy
import sys

from tests.support import check_produced_events

if __name__ == "__main__":
    check_produced_events()
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
