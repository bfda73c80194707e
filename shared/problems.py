"""RFC 9457 problem details: every error a client sees is ``application/problem+json``."""

from __future__ import annotations

from typing import Any

import structlog
from flask import Flask, Response, has_request_context, json, render_template, request
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class Problem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str | None = None,
                 errors: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors
        self.headers = headers or {}


def problem_response(status: int, title: str, detail: str | None = None,
                     errors: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def wants_html() -> bool:
    """A browser asking for a page (not an API path): errors answer as an HTML page."""
    if not has_request_context() or request.path.startswith("/api/"):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_JSON])
    named = any(value == "text/html" for value, _quality in request.accept_mimetypes)  # not just */*
    return best == "text/html" and named


def error_response(status: int, title: str, detail: str | None = None,
                   errors: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response:
    """An HTML error page for browsers, problem+json for everyone else."""
    if not wants_html():
        return problem_response(status, title, detail, errors, headers)
    body = render_template("error.html", status=status, title=title, detail=detail, errors=errors)
    response = Response(body, status=status, mimetype="text/html")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def install_problem_handlers(app: Flask) -> None:
    """Render HTTP errors, validation errors and :class:`Problem` as problem+json (HTML pages for browsers)."""

    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        return error_response(exc.status, exc.title, exc.detail, exc.errors, exc.headers)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        errors = None
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            # webargs puts field errors under their location; the client cares about the fields
            messages = data["messages"]
            errors = {}
            for location_errors in messages.values():
                if isinstance(location_errors, dict):
                    errors.update(location_errors)
        headers = {k: v for k, v in exc.get_headers() if k.lower() not in ("content-type", "content-length")}
        detail = exc.description if errors is None else "The request has invalid fields; see errors."
        title = exc.name
        return error_response(exc.code or 500, title, detail, errors, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled_error", error=repr(exc))
        return error_response(500, "Internal Server Error", "An unexpected error occurred; it has been logged.")
