"""Intake throughput: accepted feedback/s under its production server ÷ a bare Flask endpoint.

Both are served the same way (gunicorn, gthread, 2 workers × 8 threads) and loaded the same
way by ``wrk`` in a second process, in turns in the same run (see :data:`ROUNDS`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.report import Figure, Report, at_least, at_most, percentile, say
from bench.stack import Processes, base_env, bench_org, free_port, migrated, python, sqlite_url, wait_healthy

LUA = Path(__file__).with_name("post.lua")
WORKERS, THREADS = 2, 8


def ensure_wrk() -> str | None:
    """The path of ``wrk``, installing the Debian package if we may; ``None`` if unavailable."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and hasattr(__import__("os"), "geteuid") and __import__("os").geteuid() == 0:
        say("installing wrk (apt-get install -y wrk)")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
    return shutil.which("wrk")


def load(port: int, *, seconds: int, connections: int) -> dict[str, Any]:
    """Drive ``POST /api/v1/feedback`` on ``port``; return requests, accepted/s and latency (ms)."""
    wrk = ensure_wrk()
    url = f"http://127.0.0.1:{port}/api/v1/feedback"
    if not wrk:
        return _python_load(port, seconds=seconds, connections=connections)
    args = [wrk, f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(LUA), url]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRKJSON "))
    raw = json.loads(line[len("WRKJSON "):])
    failed = raw["non2xx"] + raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    secs = raw["duration_us"] / 1e6
    return {"tool": "wrk", "requests": raw["requests"], "failed": failed,
            "accepted_per_s": (raw["requests"] - failed) / secs,
            "p50_ms": raw["p50_us"] / 1000, "p90_ms": raw["p90_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "max_ms": raw["max_us"] / 1000, "connections": connections, "seconds": secs}


def _python_load(port: int, *, seconds: int, connections: int) -> dict[str, Any]:
    # wrk is unavailable: the same closed loop, with the same body, from a second Python process
    out = subprocess.run([python(), "-m", "bench.loadgen", str(port), str(connections), str(seconds), str(LUA)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1]) | {"tool": "python threads"}


ROUNDS = 2
"""The bare endpoint and intake are loaded in turns (bare, intake, bare, intake...), each for a
share of the seconds: the machine's own speed drifts by 10-20 % within a minute here, and
alternating spreads that drift over both sides of the ratio."""


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure from the rounds of one side: rates over the total time; p50 averaged, p99 the worst."""
    secs = sum(r["seconds"] for r in runs)
    requests, failed = sum(r["requests"] for r in runs), sum(r["failed"] for r in runs)
    return {"tool": runs[0]["tool"], "requests": requests, "failed": failed, "seconds": secs,
            "accepted_per_s": (requests - failed) / secs, "connections": runs[0]["connections"],
            "p50_ms": sum(r["p50_ms"] for r in runs) / len(runs), "p90_ms": max(r["p90_ms"] for r in runs),
            "p99_ms": max(r["p99_ms"] for r in runs), "max_ms": max(r["max_ms"] or 0 for r in runs),
            "rounds": [{k: r[k] for k in ("accepted_per_s", "p50_ms", "p99_ms")} for r in runs]}


def run(report: Report, procs: Processes, work: Path, bootstrap: str, *, seconds: int) -> None:
    """Measure the bare endpoint and intake the same way, in turns, both servers up throughout."""
    connections = WORKERS * THREADS
    say("intake: starting the bare Flask baseline and intake, both under gunicorn")
    bare_port = free_port()
    bare = procs.popen([python(), "-m", "bench.bare_app", str(bare_port), str(WORKERS), str(THREADS)],
                       "bare-app.log")
    from tests.support import port_open, wait_for

    port = free_port()
    env = base_env(work, bootstrap, bench_org(work)) | {
        "INTAKE_DATABASE_URL": migrated("intake", sqlite_url(work, "intake-load")),
        "INTAKE_PORT": str(port), "WEB_THREADS": str(THREADS), "WEB_CONCURRENCY": str(WORKERS)}
    web = procs.service("intake", "web", env)
    wait_for(lambda: port_open(bare_port), 30, "the bare Flask app")
    wait_healthy(port, "intake web")
    load(bare_port, seconds=2, connections=connections)  # warm-up
    load(port, seconds=2, connections=connections)  # warm-up: imports, connections, first producer
    share = max(1, round(seconds / ROUNDS))
    bare_runs, runs = [], []
    for turn in range(ROUNDS):
        say(f"intake: round {turn + 1} of {ROUNDS}: the bare endpoint, then intake, {share}s each, "
            f"{connections} connections")
        bare_runs.append(load(bare_port, seconds=share, connections=connections))
        runs.append(load(port, seconds=share, connections=connections))
    bare.terminate()
    bare.wait(timeout=15)
    bare_result, result = combine(bare_runs), combine(runs)
    half = max(10, int(result["accepted_per_s"] / 2))
    say(f"intake: paced at half that rate ({half}/s) for {seconds}s")
    body = LUA.read_text().split("wrk.body = '", 1)[1].split("'\n", 1)[0].encode()
    paced = loadgen.paced("127.0.0.1", port, "/api/v1/feedback", lambda _i: body, rate=half, seconds=seconds)
    paced_ms = [(o.ended - o.started) * 1000 for o in paced if o.status == 202]
    web.stop()

    ratio = result["accepted_per_s"] / bare_result["accepted_per_s"] if bare_result["accepted_per_s"] else None
    detail = {"intake": result, "bare": bare_result}
    section = "intake (gunicorn gthread, 2 workers x 8 threads)"
    report.add(section, Figure("bare Flask JSON endpoint, requests/s", bare_result["accepted_per_s"], "req/s",
                               detail={"bare": bare_result}))
    report.add(section, Figure("intake accepted feedback/s", result["accepted_per_s"], "req/s",
                               note=f"{result['failed']} of {result['requests']} requests not 2xx",
                               detail={"intake": result}))
    report.add(section, Figure("intake ÷ bare", ratio, "ratio", ">= 0.5", at_least(ratio, 0.5), detail=detail))
    report.add(section, Figure("intake p50 latency at that load", result["p50_ms"], "ms",
                               note=f"the mean of {ROUNDS} rounds' p50"))
    report.add(section, Figure("intake p99 latency at that load", result["p99_ms"], "ms", "< 20 ms",
                               at_most(result["p99_ms"], 20),
                               note=f"the worst of {ROUNDS} rounds; closed loop, {connections} connections kept "
                                    "busy: this includes queueing"))
    report.add(section, Figure(f"intake p50 latency paced at half that rate ({half}/s)", percentile(paced_ms, 50),
                               "ms"))
    report.add(section, Figure(f"intake p99 latency paced at half that rate ({half}/s)", percentile(paced_ms, 99),
                               "ms", note=f"{len(paced_ms)} of {len(paced)} answered 202"))
