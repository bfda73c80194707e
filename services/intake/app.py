"""Intake's composition root: the Flask app and the processes' parts, built from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from services.intake import api, diskfull, followup, mail, pages, status
from services.intake.config import IntakeSettings, load_settings
from services.intake.handlers import FeedbackStore
from services.intake.models import Outbox, ProcessedEvent
from services.intake.ratelimit import install_rate_limit
from shared import topics
from shared.db import make_engine, make_session_factory, make_writer
from shared.kafka import ConsumerLoop
from shared.org import load_org
from shared.outbox import OutboxRelay
from shared.runner import ServiceParts
from shared.web import create_base_app

MIGRATIONS = Path(__file__).parent / "migrations"
RELAY_LINGER_SECONDS = 0.005
"""How long the relay in a web worker lets commits gather before it publishes (a few ms of
end-to-end latency for one read, one produce request and one mark per many feedback)."""


class Intake:
    """The wired-up service: settings, org, database, outbox relay."""

    def __init__(self, settings: IntakeSettings):
        self.settings = settings
        self.org = load_org(settings.common.org_config)
        # a customer told "received" must not lose it to a power cut: commits are synced (SQLite)
        self.engine = make_engine(settings.database_url, durable_commits=True)
        self.sessions = make_session_factory(self.engine)
        # each feedback's event has a key of its own (its id): no order to keep between events,
        # so the API hands its committed rows to the relay instead of it reading them back
        self.relay = OutboxRelay(session_factory=self.sessions, model=Outbox,
                                 bootstrap=settings.common.kafka_bootstrap, service="intake",
                                 linger_seconds=RELAY_LINGER_SECONDS, handoff=True)
        # every entry point stores feedback through it; on SQLite concurrent submissions share a commit
        self.store = FeedbackStore(make_writer(self.engine), hand_off=self.relay.hand_off)

    def create_app(self) -> Flask:
        """The web app."""
        app, rest = create_base_app(
            import_name=__name__, service="intake", org=self.org, engine=self.engine,
            secret_key=self.settings.common.secret_key,
            readiness=lambda: diskfull.check_writable(app),
            config={"PUBLIC_URL": self.settings.public_url, "HOME_PAGE": "/",
                    "TRUSTED_LINK_HOSTS": self.settings.trusted_hosts,
                    # the CSRF token is tied to the visitor's session; a form left open for a
                    # working day must still send
                    "WTF_CSRF_TIME_LIMIT": 12 * 3600},
        )
        app.extensions["closeloop_sessions"] = self.sessions
        diskfull.install(app)  # a full disk answers 503 with Retry-After
        app.extensions["closeloop_store"] = self.store
        app.extensions["closeloop_settings"] = self.settings
        pages.install_languages(app, self.org)  # the customer pages in the customer's language
        install_rate_limit(app, rate=self.settings.rate_limit, storage=self.settings.rate_limit_storage)
        rest.register_blueprint(api.blp)
        app.register_blueprint(pages.bp)
        app.register_blueprint(followup.bp)
        return app

    def consumer(self) -> ConsumerLoop:
        """Learns ticket state from ``ticket.events`` for the status page."""
        return ConsumerLoop(
            bootstrap=self.settings.common.kafka_bootstrap, group="intake", topics=[topics.TICKET_EVENTS],
            handlers={t: status.on_ticket_event for t in status.TICKET_EVENT_TYPES},
            session_factory=self.sessions, processed_model=ProcessedEvent,
        )

    def mail_server(self) -> mail.MailServer:
        """The ``mail`` role's SMTP listener: customers' answers to ``reply+<token>@<INTAKE_MAIL_DOMAIN>``."""
        return mail.build(self.settings, self.sessions, self.store, host=self.settings.host)

    def parts(self) -> ServiceParts:
        """Everything the runner may start, by role."""
        return ServiceParts(
            name="intake", port=self.settings.port, host=self.settings.host, app_factory=self.create_app,
            consume=[self.consumer().run, self.relay.run],
            web_background=[self.relay.run],
            # customers' answers by email; ``all`` runs it only when INTAKE_MAIL_PORT is set
            extra_roles={"mail": [self.mail_server().run, self.relay.run]} if self.settings.mail_port else {},
            workers=self.settings.common.web_workers, threads=self.settings.common.web_threads,
        )


def create_app(settings: IntakeSettings | None = None) -> Any:
    """App factory (used by tests and WSGI servers)."""
    return Intake(settings or load_settings()).create_app()
