"""What every service's Flask app has: problem+json errors, health, metrics, login, OpenAPI.

``create_base_app`` is called by each service's ``create_app``; the service then registers its
own blueprints. Nothing here is built at import time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_smorest import Api
from sqlalchemy.engine import Engine

from shared import metrics, overload
from shared.auth import auth_blueprint
from shared.db import ping
from shared.org import Org
from shared.problems import install_problem_handlers, problem_response


def create_base_app(*, import_name: str, service: str, org: Org, engine: Engine, secret_key: str,
                    readiness: Callable[[], None] | None = None, config: dict[str, Any] | None = None
                    ) -> tuple[Flask, Api]:
    """Build the Flask app and its flask-smorest ``Api`` with the parts every service shares."""
    app = Flask(import_name)
    app.config.update(
        SERVICE_NAME=service,
        SECRET_KEY=secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # HTTPS deployments: CLOSELOOP_SECURE_COOKIES (true by default when CLOSELOOP_ENV=production)
        SESSION_COOKIE_SECURE=_secure_cookies(),
        SESSION_COOKIE_NAME=f"closeloop_{service}",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_SORT_KEYS=False,
        API_TITLE=f"Closeloop {service}",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.config.update(config or {})
    app.session_interface = CookielessFastSessionInterface()
    # each service signs its sessions with a salt of its own: another service's cookie, signed with
    # the same CLOSELOOP_SECRET_KEY, is not accepted here by accident
    app.session_interface.salt = f"closeloop-session-{service}"
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.jinja_loader = _loader(app)
    app.extensions["closeloop_org"] = org
    app.extensions["closeloop_engine"] = engine
    api = Api(app)
    install_problem_handlers(app)
    overload.install(app)
    app.register_blueprint(auth_blueprint)

    @app.context_processor
    def _csrf_field() -> dict[str, Any]:
        from flask_wtf.csrf import generate_csrf

        return {"csrf_token": generate_csrf}
    app.register_blueprint(metrics.metrics_blueprint)

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            ping(engine)
            if readiness is not None:
                readiness()
        except Exception as exc:
            return problem_response(503, "Service Unavailable", f"not ready: {exc.__class__.__name__}: {exc}")
        return jsonify(status="ready", service=service)

    @app.before_request
    def _start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.child(metrics.HTTP_REQUESTS, service, metrics.method_label(request.method), endpoint,
                      str(response.status_code)).inc()
        if "started" in g:
            metrics.child(metrics.HTTP_LATENCY, service, endpoint).observe(time.perf_counter() - g.started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            )
        return response

    return app, api


class CookielessFastSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signer for requests that bring no cookie.

    API clients (and every first visit) send no session cookie; Flask still built an
    ``itsdangerous`` serializer for each of them before finding nothing to read: about 2 % of an
    accepted submission's CPU time. Such a request now gets an empty session at once; saving
    one (a login, a CSRF token) works as before.
    """

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        if app.secret_key and self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def _secure_cookies() -> bool:
    import os

    production = os.environ.get("CLOSELOOP_ENV", "") == "production"
    value = os.environ.get("CLOSELOOP_SECURE_COOKIES", "").strip().lower()
    if not value:
        return production
    return value in ("1", "true", "yes", "on")


def _loader(app: Flask) -> Any:
    from jinja2 import ChoiceLoader, PackageLoader

    return ChoiceLoader([app.jinja_loader, PackageLoader("shared", "templates")])  # type: ignore[list-item]
