"""Load shedding for the web role: answer 503 with ``Retry-After`` at once instead of timing out.

Each worker process admits at most ``max_in_flight`` requests into the app at a time. The
server has a few more threads than that. A request that finds the app full waits briefly for a
slot (``queue_seconds``): at ordinary saturation slots free up within milliseconds, so nothing
is shed and throughput is kept. When the admitted requests are stuck (a locked or unreachable
database), the oldest has been inside longer than ``stuck_seconds``, and the spare threads
answer everything else at once with a 503 problem document and ``Retry-After``: clients are
told to come back instead of waiting until they time out, and the queue never grows without
bound. Health, readiness and metrics are never shed, so probes see the truth. Database errors that
mean "busy or unavailable right now" are answered the same way (503, ``Retry-After``) rather
than as an unexplained 500.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from flask import Flask, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shared import metrics
from shared.problems import PROBLEM_JSON, problem_response

log = structlog.get_logger(__name__)

DEFAULT_MAX_IN_FLIGHT = 6
"""With gunicorn's 8 threads per worker this leaves 2 threads that can always answer 503 or a probe."""
NEVER_SHED = ("/healthz", "/readyz", "/metrics")


class InFlightLimit:
    """WSGI middleware: a bounded count of requests inside the app, per process."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, max_in_flight: int, retry_after: int, service: str,
                 queue_seconds: float = 1.0, stuck_seconds: float = 1.0):
        self.app = app
        self.max_in_flight = max_in_flight
        self.retry_after = retry_after
        self.service = service
        self.queue_seconds = queue_seconds
        self.stuck_seconds = stuck_seconds
        self._entered: dict[int, float] = {}  # admitted request → when it entered (monotonic)
        self._slot = threading.Condition()
        self._tickets = itertools.count()
        self._body = json.dumps({
            "type": "about:blank", "title": "Service Unavailable", "status": 503,
            "detail": f"{service} is at capacity; retry after {retry_after} s. Nothing was stored.",
        }).encode()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") in NEVER_SHED:
            return self.app(environ, start_response)
        ticket = self._admit()
        if ticket is None:
            metrics.child(metrics.HTTP_REQUESTS, self.service, metrics.method_label(environ.get("REQUEST_METHOD", "")),
                          "shed", "503").inc()
            start_response("503 SERVICE UNAVAILABLE", [
                ("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(self._body))),
                ("Retry-After", str(self.retry_after)),
            ])
            return [self._body]
        try:
            # Flask has built the whole body by the time it returns (we stream nothing), so the
            # work this limit bounds is over here; sending the bytes is the server's business.
            return self.app(environ, start_response)
        finally:
            self._release(ticket)

    @property
    def in_flight(self) -> int:
        """How many requests are inside the app now."""
        return len(self._entered)

    def _admit(self) -> int | None:
        """A ticket for a slot, or ``None`` if this request is to be shed."""
        deadline = time.monotonic() + self.queue_seconds
        with self._slot:
            while len(self._entered) >= self.max_in_flight:
                now = time.monotonic()
                if now >= deadline or now - min(self._entered.values()) > self.stuck_seconds:
                    return None
                self._slot.wait(deadline - now)
            ticket = next(self._tickets)
            self._entered[ticket] = time.monotonic()
            return ticket

    def _release(self, ticket: int) -> None:
        with self._slot:
            self._entered.pop(ticket, None)
            self._slot.notify()


def install(app: Flask, *, max_in_flight: int | None = None, retry_after: int = 1) -> InFlightLimit:
    """Bound the requests in flight in this process and answer busy-database errors with 503."""
    limit = max_in_flight or int(app.config.get("MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT))
    guard = InFlightLimit(app.wsgi_app, max_in_flight=limit, retry_after=retry_after,
                          service=str(app.config.get("SERVICE_NAME", app.import_name)))
    app.wsgi_app = guard  # type: ignore[method-assign]

    def _database_busy(exc: Exception) -> Response:
        if not transient(exc):
            log.error("database_error", error=repr(exc)[:500])
            return problem_response(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
        log.warning("database_unavailable", error=repr(exc)[:300])
        return problem_response(503, "Service Unavailable",
                                "The database is busy or unavailable; nothing was stored. Please retry.",
                                headers={"Retry-After": str(retry_after * 5)})

    app.register_error_handler(OperationalError, _database_busy)
    app.register_error_handler(PoolTimeout, _database_busy)
    return guard


TRANSIENT_SQLITE = ("database is locked", "database is busy", "unable to open database", "disk i/o error")


def transient(exc: Exception) -> bool:
    """Whether a database error means "busy or unreachable now" (worth a retry), not a bug."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if exc.connection_invalidated:
        return True
    message = str(exc.orig).lower()
    module = type(exc.orig).__module__
    if module.startswith("sqlite3"):
        return any(text in message for text in TRANSIENT_SQLITE)
    # psycopg reports connection failures, server shutdowns and lock timeouts as OperationalError;
    # errors in our SQL are ProgrammingError and never land here
    return True
