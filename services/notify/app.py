"""Notify's composition root: the Flask app and the processes' parts, built from settings."""

from __future__ import annotations

from typing import Any

from flask import Flask

from services.notify import api, handlers
from services.notify.config import NotifySettings, load_settings
from services.notify.models import ProcessedEvent
from shared import events, topics
from shared.db import make_engine, make_session_factory
from shared.kafka import ConsumerLoop
from shared.org import load_org
from shared.runner import ServiceParts
from shared.web import create_base_app


class Notify:
    """The wired-up service: settings, org, database."""

    def __init__(self, settings: NotifySettings):
        self.settings = settings
        self.org = load_org(settings.common.org_config)
        self.engine = make_engine(settings.database_url)
        self.sessions = make_session_factory(self.engine)

    def create_app(self) -> Flask:
        """The web app."""
        app, rest = create_base_app(
            import_name=__name__, service="notify", org=self.org, engine=self.engine,
            secret_key=self.settings.common.secret_key, config={"HOME_PAGE": "/feed"},
        )
        app.extensions["closeloop_sessions"] = self.sessions
        rest.register_blueprint(api.blp)
        return app

    def consumer(self) -> ConsumerLoop:
        """Broadcasts feedback and ticket events."""
        ticket_handlers = {t: handlers.on_ticket_event for t in events.TICKET_TYPES}
        return ConsumerLoop(
            bootstrap=self.settings.common.kafka_bootstrap, group="notify",
            topics=[topics.FEEDBACK_RECEIVED, topics.TICKET_EVENTS],
            handlers={events.FEEDBACK_RECEIVED: handlers.on_feedback_received, **ticket_handlers},
            session_factory=self.sessions, processed_model=ProcessedEvent,
        )

    def parts(self) -> ServiceParts:
        """Everything the runner may start, by role."""
        return ServiceParts(
            name="notify", port=self.settings.port, app_factory=self.create_app,
            consume=[self.consumer().run],
            workers=self.settings.common.web_workers, threads=self.settings.common.web_threads,
        )


def create_app(settings: NotifySettings | None = None) -> Any:
    """App factory (used by tests and WSGI servers)."""
    return Notify(settings or load_settings()).create_app()
