"""Abuse limits for intake's public endpoints, counted with ``limits`` (moving window).

Every request without a known token counts against one budget per client address
(``INTAKE_RATE_LIMIT``, e.g. ``60/minute``), whichever public endpoint it calls: the feedback
API, the batch API, the form, follow-up links and status pages. A request carrying a valid
integration token or user token from the org file is not counted. Over the budget the answer is
429 with ``Retry-After`` (and ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``): problem+json
for the API, a friendly page for people.

Storage is ``INTAKE_RATE_LIMIT_STORAGE``. ``memory://`` (the default) counts inside one process,
so with N gunicorn workers an address gets N budgets; production points it at Redis
(``redis://host:6379/0``) so that the limit holds across workers and replicas. If that store
cannot be reached, counting goes on in memory (and says so in the log) and the store is tried
again every few seconds: a dead limit store must not turn customers away.

This is one hook over ``limits``, the library Flask-Limiter counts with (its public API only). Flask-Limiter itself
resolved, filtered and evaluated its limit declarations on every request and read the window
back for its headers: about 0.1-0.2 ms of CPU per accepted feedback, a fifth of intake's own
work per request (measured in-process). Here an accepted request costs one ``hit``.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from typing import Any

import structlog
from flask import Flask, Response, render_template, request
from limits import RateLimitItem, WindowStats, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from services.intake import metrics as intake_metrics
from shared.auth import bearer_token, org
from shared.problems import problem_response

log = structlog.get_logger(__name__)

# Paths never counted: probes, metrics, the API description, the icon browsers ask for, reading the empty form.
UNCOUNTED = ("/healthz", "/readyz", "/metrics", "/openapi.json", "/static/", "/favicon.ico")
PAGE_BLUEPRINTS = ("pages", "follow_up")
KEY_PREFIX = "closeloop-intake"


class MemoryWindows:
    """Moving-window counts held in this process: ``memory://``, and the stand-in for a dead store.

    The same answers as ``limits``' ``MovingWindowRateLimiter`` over its memory storage (a hit of
    ``cost`` fits when the hits of the last window plus ``cost`` stay within the limit; refused
    hits are not recorded), without that storage's expiry timers: it starts a
    ``threading.Timer`` 10 ms after any count whose timer has run out, so under load about a
    hundred threads a second in every worker, each taking the GIL from the requests. Here the
    first count after a second has passed drops the expired windows on the request's own thread.
    """

    EXPIRE_EVERY_SECONDS = 1.0

    def __init__(self) -> None:
        self._windows: dict[tuple[str, int, int], collections.deque[float]] = {}
        self._lock = threading.Lock()
        self._next_expiry = 0.0

    def __len__(self) -> int:
        """How many windows (limit and client) are held."""
        return len(self._windows)

    def hit(self, item: RateLimitItem, *identifiers: str, cost: int = 1) -> bool:
        """Count ``cost`` hits against ``item`` for ``identifiers`` if they fit; whether they did."""
        now = time.time()
        expiry = item.get_expiry()
        key = (item.key_for(*identifiers), item.amount, expiry)
        with self._lock:
            if now >= self._next_expiry:
                self._expire(now)
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = collections.deque()
            while window and window[0] <= now - expiry:
                window.popleft()
            if len(window) + cost > item.amount:
                return False
            window.extend([now] * cost)
            return True

    def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        """When the window of ``item`` for ``identifiers`` frees a hit, and how many are left."""
        now = time.time()
        expiry = item.get_expiry()
        with self._lock:
            window = [t for t in self._windows.get((item.key_for(*identifiers), item.amount, expiry), ())
                      if t > now - expiry]
        reset = (window[0] if window else now) + expiry
        return WindowStats(reset_time=reset, remaining=max(0, item.amount - len(window)))

    def _expire(self, now: float) -> None:
        self._next_expiry = now + self.EXPIRE_EVERY_SECONDS
        for key in [k for k, window in self._windows.items() if not window or window[-1] <= now - k[2]]:
            del self._windows[key]


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
    if request.endpoint is None:  # no such page (a 404 or 405): nothing was served to count
        return True
    if request.path.startswith(UNCOUNTED):
        return True
    return request.method in ("GET", "HEAD") and request.path == "/"


STORE_TIMEOUT_SECONDS = 0.5


def _open_storage(uri: str) -> Storage:
    options = {}
    if uri.split("://", 1)[0] in ("redis", "rediss"):
        # a store that does not answer (a partition, not a refusal) must not hold requests for long
        options = {"socket_connect_timeout": STORE_TIMEOUT_SECONDS, "socket_timeout": STORE_TIMEOUT_SECONDS}
    found = storage_from_string(uri, **options)
    if not isinstance(found, Storage):  # an async scheme (async+redis://) needs an async server
        raise ValueError(f"rate limit storage {uri!r} is not a synchronous storage")
    return found


class AddressLimit:
    """Moving-window budgets per client address, in ``storage``, with an in-memory stand-in.

    ``rate`` may name several limits (``10/second;500/hour``); a request must fit all of them.
    While the store cannot be reached, requests are counted in memory; every
    :attr:`RETRY_STORE_SECONDS` one request tries the store again, and the others stay in memory
    until it answers.
    """

    RETRY_STORE_SECONDS = 5.0

    def __init__(self, rate: str, storage: str):
        self.items = parse_many(rate)
        self._in_memory = MemoryWindows()
        # counting in memory cannot fail, so memory:// needs no stand-in
        self._on_store: MemoryWindows | MovingWindowRateLimiter = (
            self._in_memory if storage.startswith("memory://") else MovingWindowRateLimiter(_open_storage(storage)))
        self._store_dead_until = 0.0
        self._probe = threading.Lock()

    def hit(self, address: str) -> RateLimitItem | None:
        """Count one request from ``address``: ``None`` if it fits its budgets, else the limit it is over."""
        probing = False
        if self._store_dead_until:
            if time.monotonic() < self._store_dead_until or not self._probe.acquire(blocking=False):
                return self._count(self._in_memory, address)
            probing = True
        try:
            over = self._count(self._on_store, address)
        except Exception as exc:  # the store is unreachable: count in memory meanwhile
            if not self._store_dead_until:
                log.warning("rate_limit_store_unreachable", error=repr(exc), retry_in_seconds=self.RETRY_STORE_SECONDS)
            self._store_dead_until = time.monotonic() + self.RETRY_STORE_SECONDS
            return self._count(self._in_memory, address)
        finally:
            if probing:
                self._probe.release()
        if probing:
            self._store_dead_until = 0.0
            log.info("rate_limit_store_back")
        return over

    def _count(self, limiter: MemoryWindows | MovingWindowRateLimiter, address: str) -> RateLimitItem | None:
        for item in self.items:
            if not limiter.hit(item, KEY_PREFIX, address):
                return item
        return None

    def refusal_headers(self, item: RateLimitItem, address: str) -> dict[str, str]:
        """``Retry-After`` and the ``X-RateLimit-*`` headers of a request over ``item``."""
        limiter = self._in_memory if self._store_dead_until else self._on_store
        try:
            reset = limiter.get_window_stats(item, KEY_PREFIX, address).reset_time
        except Exception:  # the store went away since the count: the whole window is a safe answer
            reset = time.time() + item.get_expiry()
        return {"Retry-After": str(max(1, math.ceil(reset - time.time()))),
                "X-RateLimit-Limit": str(item.amount), "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(math.ceil(reset))}


def install_rate_limit(app: Flask, *, rate: str, storage: str) -> AddressLimit:
    """Count every public request against its address's budget; answer 429 once it is spent."""
    limit = AddressLimit(rate, storage)

    @app.before_request
    def _count_request() -> Any:
        if _uncounted() or has_known_token():
            return None
        address = client_address()
        over = limit.hit(address)
        if over is None:
            return None
        if request.blueprint in PAGE_BLUEPRINTS:
            intake_metrics.rejected("rate_limited")  # the API counts its own refusals
            response = Response(render_template("too_many.html"), 429)
        else:
            response = problem_response(429, "Too Many Requests",
                                        f"Too many requests from your address ({over}); try again later.")
        response.headers.update(limit.refusal_headers(over, address))
        return response

    return limit
