"""Abuse limits for intake's public endpoints (Flask-Limiter).

Every request without a known token counts against one budget per client address
(``INTAKE_RATE_LIMIT``, e.g. ``60/minute``), whichever public endpoint it calls: the feedback
API, the batch API, the form, follow-up links and status pages. A request carrying a valid
integration token or user token from the org file is not counted. Over the budget the answer is
429 with ``Retry-After``: problem+json for the API, a friendly page for people.

Storage is ``INTAKE_RATE_LIMIT_STORAGE``. ``memory://`` (the default) counts inside one process,
so with N gunicorn workers an address gets N budgets; production points it at Redis
(``redis://host:6379/0``) so that the limit holds across workers and replicas.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, render_template, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits.storage import MemoryStorage

from services.intake import metrics as intake_metrics
from shared.auth import bearer_token, org
from shared.problems import problem_response

# Paths never counted: probes, metrics, the API description, the icon browsers ask for, reading the empty form.
UNCOUNTED = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/static/", "/favicon.ico")
PAGE_BLUEPRINTS = ("pages", "follow_up")


class InlineExpiryMemoryStorage(MemoryStorage):
    """``memory://`` without its expiry thread: expired entries are dropped inline, once a second.

    ``limits``' memory storage starts a ``threading.Timer`` 10 ms after any count whose timer has
    run out, so under load it starts about a hundred threads a second in every worker, each of
    them taking the GIL from the requests.
    Counting does not depend on that clean-up (fixed windows expire when read, moving windows
    compare timestamps); it only bounds memory. Here the first count after a second has passed
    does it on the request's own thread; a concurrent one skips it.
    """

    STORAGE_SCHEME = ["closeloop-memory"]
    EXPIRE_EVERY_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the one the base class starts at once
        self._next_expiry = 0.0
        self._expiring = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (replaces the base class's private hook)
        now = time.monotonic()
        if now < self._next_expiry or not self._expiring.acquire(blocking=False):
            return
        try:
            self._next_expiry = now + self.EXPIRE_EVERY_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._expiring.release()


def has_known_token() -> bool:
    """True when the caller sends a token of an integration or a user from the org file."""
    token = bearer_token()
    if token is None:
        return False
    known = org()
    return known.integration_by_token(token) is not None or known.user_by_token(token) is not None


def client_address() -> str:
    """The address the limit is counted against (the peer; put a proxy fix in front if behind one)."""
    return request.remote_addr or "unknown"


def _uncounted() -> bool:
    if request.path.startswith(UNCOUNTED):
        return True
    return request.method in ("GET", "HEAD") and request.path == "/"


def install_rate_limit(app: Flask, *, rate: str, storage: str) -> Limiter:
    """Attach the limiter to ``app`` and render its 429 answers."""
    limiter = Limiter(
        key_func=client_address,
        app=app,
        application_limits=[rate],
        application_limits_exempt_when=has_known_token,
        # memory:// counts with the storage above (same counting, no timer threads)
        storage_uri="closeloop-memory://" if storage.startswith("memory://") else storage,
        headers_enabled=True,
        key_prefix="closeloop-intake",
        strategy="moving-window",
        # if Redis goes away, count in memory meanwhile rather than refuse customers' feedback
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    limiter.request_filter(_uncounted)

    @app.errorhandler(RateLimitExceeded)
    def _too_many(exc: RateLimitExceeded) -> Any:
        if request.blueprint in PAGE_BLUEPRINTS:
            intake_metrics.rejected("rate_limited")  # the API counts its own refusals
            return render_template("too_many.html"), 429
        return problem_response(429, "Too Many Requests",
                                f"Too many requests from your address ({exc.description}); try again later.")

    return limiter
