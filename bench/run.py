"""The benchmark run: every section in order, one broker of its own, then the report.

``python -m bench [--quick] [--only SECTION ...] [--profile]``. Sections: intake, e2e, backlog,
sla, scale, rootcause, accuracy, deliveries. ``--quick`` shrinks every size (for a smoke run); the figures it prints
are not comparable with a full run. Progress goes to stderr; the report to stdout and
``bench/results.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench import accuracy, backlog, deliveries, e2e, intake, sla
from bench.report import Figure, Report, say
from bench.stack import ROOT, Processes
from tests.support import Broker

SECTIONS = ("intake", "e2e", "backlog", "sla", "scale", "rootcause", "accuracy", "deliveries")
FULL = {"intake_seconds": 10, "e2e_rate": 200, "e2e_seconds": 30, "backlog": 50_000, "sla_tickets": 200,
        "scale": 1_000_000, "deliveries": 3_000, "burst_rate": 150}
QUICK = {"intake_seconds": 3, "e2e_rate": 50, "e2e_seconds": 5, "backlog": 2_000, "sla_tickets": 20,
         "scale": 20_000, "deliveries": 500, "burst_rate": 30}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure Closeloop and print the report.")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--profile", action="store_true", help="record py-spy profiles of the triage consumer")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    parser.add_argument("--root-causes", default=str(ROOT / ".." / "shared" / "data" / "root_causes_dev.jsonl"),
                        help="the labeled complaints for the root-cause accuracy figure")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    wanted = args.only or list(SECTIONS)
    work = Path(tempfile.mkdtemp(prefix="closeloop-bench-"))
    report = Report()
    report.environment = {"when": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                          "cpus": os.cpu_count(), "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
                          "python": platform.python_version(), "mode": "quick" if args.quick else "full",
                          "work folder": str(work)}
    procs = Processes(work)
    started = time.monotonic()
    os.chdir(ROOT)
    try:
        broker = procs.broker()
        say(f"broker (Tansu) on {broker.bootstrap}; work folder {work}")
        steps = {
            "intake": lambda: intake.run(report, procs, work, broker.bootstrap, seconds=sizes["intake_seconds"]),
            # its own broker: on the intake section's, the consumers would first work through the
            # thousands of complaints intake accepted there, and notify through their deliveries
            "e2e": lambda: e2e.run(report, procs, work, _fresh_broker(procs).bootstrap, rate=sizes["e2e_rate"],
                                   seconds=sizes["e2e_seconds"]),
            "backlog": lambda: backlog.run(report, procs, work, _fresh_broker(procs).bootstrap,
                                           count=sizes["backlog"], profile=args.profile),
            "sla": lambda: sla.breach_lag(report, procs, work, _fresh_broker(procs).bootstrap,
                                          tickets=sizes["sla_tickets"]),
            "scale": lambda: sla.at_scale(report, procs, work, broker.bootstrap, tickets=sizes["scale"]),
            "rootcause": lambda: sla.rootcause_accuracy(report, Path(args.root_causes)),
            "deliveries": lambda: deliveries.run(report, procs, work, count=sizes["deliveries"],
                                                 burst_rate=sizes["burst_rate"], burst_seconds=10),
            # understanding: root causes in English and Bengali, sentiment with no score
            "accuracy": lambda: accuracy.run(report, Path(args.root_causes).parent),
        }
        for name in SECTIONS:
            if name not in wanted:
                continue
            try:
                steps[name]()
            except Exception as exc:  # one broken section must not hide the others' figures
                traceback.print_exc()
                report.add(name, Figure(f"{name} section failed", None, "", "runs", False, note=repr(exc)[:300]))
            finally:
                procs.stop_services()
    except KeyboardInterrupt:
        say("interrupted")
    finally:
        procs.stop_all()
    report.environment["duration"] = f"{time.monotonic() - started:.0f}s"
    sys.stdout.write(report.render())
    report.write(Path(args.out))
    say(f"wrote {args.out}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _fresh_broker(procs: Processes) -> Broker:
    # sections that read topics from the start get an empty broker (memory storage, starts in ~1 s)
    for old in procs.brokers[1:]:
        old.stop()
    del procs.brokers[1:]
    return procs.broker()
