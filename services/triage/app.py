"""Triage's composition root: the Flask app and the processes' parts, built from settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from flask import Flask
from sqlalchemy.exc import IntegrityError

from services.triage.config import TriageSettings, load_settings
from services.triage.context import Context
from services.triage.database import Outbox, ProcessedEvent, load_models
from services.triage.jobs import Sweeper
from services.triage.reports import views as reports_views
from services.triage.rootcause import service as rootcause
from services.triage.rootcause import views as rootcause_views
from services.triage.routing import service as routing
from services.triage.routing import views as routing_views
from services.triage.sla.calendar import business_hours
from services.triage.tickets import pages
from services.triage.tickets import views as tickets_views
from services.triage.tickets.handlers import FeedbackConsumer
from shared import events, topics
from shared.db import make_engine, make_session_factory
from shared.kafka import ConsumerLoop
from shared.org import load_org
from shared.outbox import OutboxRelay
from shared.runner import ServiceParts
from shared.web import create_base_app

log = structlog.get_logger(__name__)
load_models()  # the whole schema is mapped before the first query


class Triage:
    """The wired-up service: settings, org, database, outbox relay, handler context."""

    def __init__(self, settings: TriageSettings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.settings = settings
        self.clock = clock  # what "now" is for requests and sweeps (tests move it)
        self.org = load_org(settings.common.org_config)
        # synced commits: a consumer commits its Kafka offset after its transaction, so a transaction lost
        # to a power cut after that would be a message lost for good
        self.engine = make_engine(settings.database_url, durable_commits=True)
        self.sessions = make_session_factory(self.engine)
        self.relay = OutboxRelay(session_factory=self.sessions, model=Outbox,
                                 bootstrap=settings.common.kafka_bootstrap, service="triage")
        self.ctx = Context(org=self.org, sla_seconds=settings.sla_seconds,
                           warning_ratio=settings.sla_warning_ratio,
                           escalation_seconds=settings.escalation_seconds,
                           keywords=rootcause.keywords_for(self.org),
                           classifier=rootcause.new_classifier(self.org),
                           calendars={team: business_hours(spec) for team, spec in settings.business_hours.items()},
                           waiting_pauses_clock=settings.waiting_pauses_clock,
                           spike_threshold=settings.spike_threshold,
                           spike_window_seconds=settings.spike_window_seconds)
        self.sweeper = Sweeper(session_factory=self.sessions, ctx=self.ctx, interval=settings.sweep_seconds,
                              clock=lambda: self.clock())

    def sync(self) -> None:
        """Bring the assignee table in step with the org file.

        Every process of the service does this as it starts, and replicas start together: on
        PostgreSQL two of them could both find a member missing and both insert the row. The
        one that loses gets a unique violation; it then reads again and finds the row there.
        """
        for attempt in (1, 2):
            try:
                with self.sessions() as session, session.begin():
                    routing.sync_assignees(session, self.org)
                return
            except IntegrityError as exc:
                if attempt == 2:
                    raise
                log.info("assignees_synced_by_another_process", error=exc.orig.__class__.__name__)

    def create_app(self) -> Flask:
        """The web app."""
        app, rest = create_base_app(
            import_name=__name__, service="triage", org=self.org, engine=self.engine,
            secret_key=self.settings.common.secret_key, config={"HOME_PAGE": "/inbox"},
        )
        app.extensions["closeloop_sessions"] = self.sessions
        app.extensions["closeloop_triage"] = self
        rest.register_blueprint(tickets_views.blp)
        rest.register_blueprint(reports_views.blp)
        rest.register_blueprint(routing_views.blp)
        rest.register_blueprint(rootcause_views.blp)
        app.register_blueprint(pages.bp)
        return app

    def consumer(self) -> ConsumerLoop:
        """Turns ``feedback.received`` into tickets."""
        feedback = FeedbackConsumer(self.ctx)
        return ConsumerLoop(
            bootstrap=self.settings.common.kafka_bootstrap, group="triage", topics=[topics.FEEDBACK_RECEIVED],
            handlers={events.FEEDBACK_RECEIVED: feedback.handle},
            session_factory=self.sessions, processed_model=ProcessedEvent, batch_hook=feedback.batch,
        )

    def parts(self) -> ServiceParts:
        """Everything the runner may start, by role."""
        self.sync()
        return ServiceParts(
            name="triage", port=self.settings.port, host=self.settings.host, app_factory=self.create_app,
            consume=[self.consumer().run, self.relay.run],
            schedule=[self.sweeper.run, self.relay.run],
            web_background=[self.relay.run],
            workers=self.settings.common.web_workers, threads=self.settings.common.web_threads,
        )


def create_app(settings: TriageSettings | None = None) -> Any:
    """App factory (used by tests and WSGI servers)."""
    return Triage(settings or load_settings()).create_app()
