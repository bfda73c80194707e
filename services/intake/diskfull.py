"""A write refused because the disk is full answers 503 with Retry-After, not 500."""

from __future__ import annotations

import time

import structlog
from flask import Flask, Response
from sqlalchemy.exc import OperationalError

from shared.problems import error_response

log = structlog.get_logger(__name__)

RETRY_AFTER_SECONDS = 60
_FULL_MESSAGES = ("database or disk is full", "no space left on device", "could not extend file")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause: SQLite's message, PostgreSQL's DiskFull, SQLSTATE 53100) says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "DiskFull" or getattr(current, "sqlstate", None) == "53100" \
                or getattr(current, "pgcode", None) == "53100":
            return True
        if any(text in str(current).lower() for text in _FULL_MESSAGES):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


def install(app: Flask) -> None:
    """Answer a full disk with 503 problem+json and ``Retry-After``; other database errors stay 500."""

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError) -> Response:
        if is_disk_full(exc):
            app.extensions["closeloop_disk_full_at"] = time.monotonic()
            log.error("disk_full", error=repr(exc))
            return error_response(503, "Service Unavailable",
                                  "The service cannot store anything right now (its storage is full); "
                                  "try again later.", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        log.exception("unhandled_error", error=repr(exc))
        return error_response(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")



class StorageFull(RuntimeError):
    """Readiness: a write failed on a full disk within the last :data:`RETRY_AFTER_SECONDS`."""


def check_writable(app: Flask) -> None:
    """Raise :class:`StorageFull` while writes recently failed for a full disk (``/readyz`` then answers 503)."""
    failed_at = app.extensions.get("closeloop_disk_full_at")
    if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER_SECONDS:
        raise StorageFull("the database cannot be written: its disk is full")
