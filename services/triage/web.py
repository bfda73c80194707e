"""What triage's views share: the app's sessions, handler context and clock, the caller, refusals as problems."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app

from services.triage.context import Context
from services.triage.errors import InvalidChange, NotAllowed, TicketConflict
from shared.auth import current_user
from shared.org import User
from shared.problems import Problem


def sessions() -> Any:
    """The app's session factory."""
    return current_app.extensions["closeloop_sessions"]


def context() -> Context:
    """The triage handler context (org, SLA settings, classifier)."""
    return current_app.extensions["closeloop_triage"].ctx


def now() -> datetime:
    """The service's clock."""
    return current_app.extensions["closeloop_triage"].clock()


def caller() -> User:
    """The authenticated user (``require`` has run)."""
    user = current_user()
    assert user is not None
    return user


def translated(fn: Callable[[], Any]) -> Any:
    """Run a change, turning domain refusals into problem+json answers."""
    try:
        return fn()
    except InvalidChange as exc:
        raise Problem(422, "Unprocessable Entity", "The request has invalid fields; see errors.",
                      errors=exc.errors) from exc
    except NotAllowed as exc:
        raise Problem(403, "Forbidden", str(exc)) from exc
    except TicketConflict as exc:
        raise Problem(409, "Conflict", str(exc)) from exc
