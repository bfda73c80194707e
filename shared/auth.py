"""Who is calling: Bearer tokens for APIs, a session cookie for pages, roles enforced server-side.

Tokens come from the org file. Pages log in at ``/login`` with a form whose one field is the
token; the session then remembers the user id. Every internal endpoint declares the roles it
accepts with :func:`require`.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlparse

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for

from shared.org import ROLES, Org, User
from shared.problems import Problem

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = ROLES
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

auth_blueprint = Blueprint("auth", __name__)


def org() -> Org:
    """The org loaded by this app."""
    return current_app.extensions["closeloop_org"]


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def current_user() -> User | None:
    """The user behind this request (Bearer token first, then the page session)."""
    if "user" in g:
        return g.user
    user = None
    token = bearer_token()
    if token is not None:
        user = org().user_by_token(token)
    elif session.get("uid"):
        user = org().users.get(session["uid"])
    g.user = user
    return user


def require(*roles: str, page: bool = False) -> Callable[[F], F]:
    """Allow only users with one of ``roles`` (all roles when empty); pages redirect to login."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not page and request.method not in SAFE_METHODS and bearer_token() is None:
                # the session cookie is for pages (whose forms carry a CSRF token); a cookie alone
                # must not write through the API, or any other site could make the browser do it
                raise Problem(401, "Unauthorized",
                              "API writes need 'Authorization: Bearer <token>'; the session cookie is for pages.",
                              headers={"WWW-Authenticate": "Bearer"})
            user = current_user()
            if user is None:
                if page:
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                if bearer_token() is not None:
                    raise Problem(401, "Unauthorized", "The token is not known.",
                                  headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
                raise Problem(401, "Unauthorized", "Send 'Authorization: Bearer <token>'.",
                              headers={"WWW-Authenticate": "Bearer"})
            if roles and user.role not in roles:
                raise Problem(403, "Forbidden", f"This needs one of the roles: {', '.join(roles)}.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _safe_next(target: str | None, default: str) -> str:
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/"):
        return default
    return target


def _csrf_ok() -> bool:
    """A browser's login or logout post must carry the form's CSRF token.

    Browsers send ``Origin`` (or ``Sec-Fetch-Site``/``Referer``) with every form post, so a post
    forged by another site is refused; scripts and test clients, which no other site can drive,
    may log in with the token alone.
    """
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    browser = any(request.headers.get(name) for name in ("Origin", "Sec-Fetch-Site", "Referer"))
    if not browser and "csrf_token" not in request.form:
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


LOGIN_ATTEMPTS = 10
LOGIN_WINDOW_SECONDS = 60.0
_attempts_lock = threading.Lock()


def _login_allowed(address: str) -> bool:
    """At most ``LOGIN_ATTEMPTS`` login posts per address and minute (counted by this app, per process)."""
    now = time.monotonic()
    with _attempts_lock:
        _attempts: dict[str, deque[float]] = current_app.extensions.setdefault("closeloop_login_attempts", {})
        if len(_attempts) > 10_000:
            _attempts.clear()
        seen = _attempts.setdefault(address, deque())
        while seen and now - seen[0] > LOGIN_WINDOW_SECONDS:
            seen.popleft()
        if len(seen) >= LOGIN_ATTEMPTS:
            return False
        seen.append(now)
        return True


@auth_blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """A one-field form that takes the user's token and starts a session."""
    default = current_app.config.get("HOME_PAGE", "/")
    error = None
    if request.method == "POST" and not _login_allowed(request.remote_addr or "?"):
        error = "Too many attempts from your address. Wait a minute and try again."
        page = render_template("login.html", error=error, service=current_app.config["SERVICE_NAME"])
        return page, 429, {"Retry-After": str(int(LOGIN_WINDOW_SECONDS))}
    if request.method == "POST" and not _csrf_ok():
        error = "This page was open too long or came from another site. Please log in again."
        page = render_template("login.html", error=error, service=current_app.config["SERVICE_NAME"])
        return page, 400
    if request.method == "POST":
        token = (request.form.get("token") or "").strip()
        user = None
        for candidate in org().users.values():
            if token and hmac.compare_digest(candidate.token.encode(), token.encode()):
                user = candidate
        if user is not None:
            session.clear()
            session["uid"] = user.id
            session.permanent = True
            return redirect(_safe_next(request.args.get("next"), default))
        error = "That token is not known. Ask your administrator for yours."
    status = 401 if error else 200
    return render_template("login.html", error=error, service=current_app.config["SERVICE_NAME"]), status


@auth_blueprint.post("/logout")
def logout() -> Any:
    """End the page session (a CSRF-protected POST: another site cannot log a user out)."""
    if not _csrf_ok():
        raise Problem(400, "Bad Request", "The logout form's CSRF token is missing or stale; reload the page.")
    session.clear()
    return redirect(url_for("auth.login"))
