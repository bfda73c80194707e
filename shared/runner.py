"""Running a service: one process per role (``web``, ``consume``, ``schedule``) or ``all`` of them.

A service may declare roles of its own (:attr:`ServiceParts.extra_roles`, e.g. intake's ``mail``):
each runs its loops like ``consume`` does, and ``all`` runs them too.

``web`` alone runs under gunicorn (threads, several workers); ``all`` is for local use and runs
the web app on a threaded server beside the consumer and scheduler threads. SIGINT and SIGTERM
stop every part cleanly; if a background part dies, the process exits non-zero so that its
supervisor restarts it (a crashed consumer must never be left silently idle).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

log = structlog.get_logger(__name__)

ROLES = ("web", "consume", "schedule", "all")


@dataclass
class ServiceParts:
    """What a service can run: an app factory and background loops taking a stop event."""

    name: str
    port: int
    app_factory: Callable[[], Any]
    host: str = "127.0.0.1"
    """The address the web server and the metrics port listen on (``<SERVICE>_HOST``): loopback
    unless configured, so that a local run is not open to the network; containers set ``0.0.0.0``."""
    consume: list[Callable[[threading.Event], None]] = field(default_factory=list)
    schedule: list[Callable[[threading.Event], None]] = field(default_factory=list)
    web_background: list[Callable[[threading.Event], None]] = field(default_factory=list)
    extra_roles: dict[str, list[Callable[[threading.Event], None]]] = field(default_factory=dict)
    """Roles of this service beyond the common ones: name -> its loops (``all`` runs them too)."""
    workers: int = 2
    threads: int = 8

    def roles(self) -> tuple[str, ...]:
        """Every role this service can run."""
        return (*ROLES, *(name for name in self.extra_roles if name not in ROLES))


def run(parts: ServiceParts, role: str, *, metrics_port: int | None = None) -> int:
    """Run ``role`` of the service until a signal or a crash; return the exit code.

    Roles other than ``web`` and ``all`` have no web server, so with ``metrics_port`` they serve their
    Prometheus metrics (consumer lag, DLQ counts, outbox age...) on that port.
    """
    if role not in parts.roles():
        print(f"unknown role {role!r}; choose one of {', '.join(parts.roles())}", file=sys.stderr)
        return 2
    if role == "web":
        return _run_gunicorn(parts)
    stop = threading.Event()
    failed = threading.Event()
    if metrics_port is not None and role not in ("web", "all"):
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=parts.host)
        log.info("metrics_listening", port=metrics_port)
    loops: list[Callable[[threading.Event], None]] = []
    if role in ("consume", "all"):
        loops += parts.consume
    if role in ("schedule", "all"):
        loops += parts.schedule
    for name, extra in parts.extra_roles.items():
        if role in (name, "all"):
            loops += extra
    server = None
    if role == "all":
        from werkzeug.serving import make_server

        app = parts.app_factory()
        loops += parts.web_background
        server = make_server(parts.host, parts.port, app, threaded=True)
    loops = list(dict.fromkeys(loops))  # a loop shared by two roles (the outbox relay) runs once
    threads = [_start(loop, stop, failed) for loop in loops]
    if server is not None:
        threads.append(_start(lambda _stop: server.serve_forever(), stop, failed, name="web"))
        log.info("web_listening", port=parts.port)

    received: list[str] = []

    def _signal(signum: int, _frame: Any) -> None:
        # Only a list append here, no lock: Ctrl-C and then the supervisor's SIGTERM come within
        # microseconds, and the second handler runs inside the first one. When the handler logged
        # or set an Event, the inner call waited forever on the lock the outer one held, and the
        # process hung until it was killed.
        received.append(signal.Signals(signum).name)

    signal.signal(signal.SIGINT, _signal)
    signal.signal(signal.SIGTERM, _signal)
    while not received and not failed.is_set():
        failed.wait(0.1)
    if received:
        log.info("stopping", signal=received[0])
    stop.set()
    if server is not None:
        server.shutdown()
    for thread in threads:
        thread.join(timeout=15)
    code = 1 if failed.is_set() else 0
    log.info("stopped", role=role, exit_code=code)
    return code


def _start(loop: Callable[[threading.Event], None], stop: threading.Event, failed: threading.Event,
           name: str | None = None) -> threading.Thread:
    def target() -> None:
        try:
            loop(stop)
        except BaseException as exc:  # a dead loop must take the process down, loudly
            log.exception("background_loop_crashed", loop=name or getattr(loop, "__qualname__", str(loop)),
                          error=repr(exc))
            failed.set()

    thread = threading.Thread(target=target, name=name or getattr(loop, "__qualname__", "loop"), daemon=True)
    thread.start()
    return thread


def prepare_web_metrics() -> None:
    """Make every gunicorn worker write its samples where ``/metrics`` can add them all up.

    Call it before ``prometheus_client`` is first imported (it picks how to hold samples then,
    from ``PROMETHEUS_MULTIPROC_DIR``): :func:`shared.cli.main` does, for the ``web`` role. A
    fresh folder is made when the variable is unset, and an existing one is emptied: samples of
    a previous run must not be counted again.
    """
    import shutil
    import tempfile
    from pathlib import Path

    if "prometheus_client" in sys.modules and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError("prometheus_client was imported before the web role's metrics folder was set: "
                           "import the service's modules after prepare_web_metrics()")
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="closeloop-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.is_file() and entry.suffix == ".db":
            entry.unlink()
        elif entry.is_dir():
            shutil.rmtree(entry)


def _run_gunicorn(parts: ServiceParts) -> int:
    from gunicorn.app.base import BaseApplication

    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        raise RuntimeError("the web role's metrics folder is not set: run it through shared.cli.main")

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"[{parts.host}]:{parts.port}" if ":" in parts.host else f"{parts.host}:{parts.port}")
            self.cfg.set("workers", parts.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", parts.threads)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("keepalive", 5)
            # each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
            # connections across them; on one shared socket the first worker to wake took most
            # connections, so a proxy's (or a load generator's) few kept-alive connections all
            # landed on one worker while the other idled
            self.cfg.set("reuse_port", True)
            self.cfg.set("accesslog", None)
            self.cfg.set("post_fork", _post_fork)
            self.cfg.set("child_exit", _child_exit)

        def load(self) -> Any:
            app = parts.app_factory()
            stop = threading.Event()
            for loop in parts.web_background:
                _start(loop, stop, threading.Event())
            return app

    def _post_fork(_server: Any, _worker: Any) -> None:
        structlog.contextvars.bind_contextvars(pid=os.getpid())

    def _child_exit(_server: Any, worker: Any) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(worker.pid)

    _App().run()
    return 0
