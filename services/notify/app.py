"""Notify's composition root: the Flask app and the processes' parts, built from settings."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Flask

from services.notify import api, handlers, jobs, pages
from services.notify.batch import ConsumerBatches
from services.notify.channels import Channels, Tools
from services.notify.config import NotifySettings, load_settings
from services.notify.delivery import DeliveryWorker
from services.notify.mail import Mailer, SmtpConfig
from services.notify.models import ProcessedEvent
from shared import events, topics
from shared.db import make_engine, make_session_factory
from shared.kafka import ConsumerLoop
from shared.org import load_org
from shared.runner import ServiceParts
from shared.web import create_base_app


class Notify:
    """The wired-up service: settings, org, database, handler context, channels."""

    def __init__(self, settings: NotifySettings):
        self.settings = settings
        self.org = load_org(settings.common.org_config)
        # synced commits: a consumer commits its Kafka offset after its transaction, so a transaction lost
        # to a power cut after that would be a message lost for good
        self.engine = make_engine(settings.database_url, durable_commits=True)
        self.sessions = make_session_factory(self.engine)
        self.ctx = handlers.Context(org=self.org, link_secret=settings.common.link_secret,
                                    intake_url=settings.intake_public_url, triage_url=settings.triage_public_url,
                                    notify_url=settings.notify_public_url, mail_domain=settings.mail_domain)
        self.mailer = Mailer(SmtpConfig.from_url(settings.smtp_url, sender=settings.mail_from),
                             timeout=settings.delivery_timeout_seconds, domain=settings.mail_domain)
        # a channel of a type notify has no module for, or with bad options, stops it here, named
        tools = Tools(mailer=self.mailer, timeout=settings.delivery_timeout_seconds)
        self.channels = Channels(self.org.channels, tools, where=f"org file {self.org.path}")

    def create_app(self) -> Flask:
        """The web app."""
        app, rest = create_base_app(
            import_name=__name__, service="notify", org=self.org, engine=self.engine,
            secret_key=self.settings.common.secret_key, config={"HOME_PAGE": "/feed"},
        )
        app.extensions["closeloop_sessions"] = self.sessions
        app.extensions["closeloop_triage_url"] = self.ctx.triage_url
        rest.register_blueprint(api.blp)
        app.register_blueprint(pages.bp)
        return app

    def consumer(self) -> ConsumerLoop:
        """Records feed entries and the deliveries that feedback and ticket events call for."""
        batches = ConsumerBatches()
        on_ticket = batches.handler(partial(handlers.on_ticket_event, ctx=self.ctx))
        return ConsumerLoop(
            bootstrap=self.settings.common.kafka_bootstrap, group="notify",
            topics=[topics.FEEDBACK_RECEIVED, topics.TICKET_EVENTS],
            handlers={events.FEEDBACK_RECEIVED: batches.handler(partial(handlers.on_feedback_received, ctx=self.ctx)),
                      **{t: on_ticket for t in events.TICKET_TYPES}},
            session_factory=self.sessions, processed_model=ProcessedEvent, batch_hook=batches.hook,
        )

    def delivery_worker(self) -> DeliveryWorker:
        """Sends recorded deliveries with retries, beside the consumer."""
        s = self.settings
        return DeliveryWorker(sessions=self.sessions, channels=self.channels, max_attempts=s.delivery_max_attempts,
                              backoff_seconds=s.delivery_backoff_seconds,
                              max_backoff_seconds=s.delivery_max_backoff_seconds,
                              send_timeout=s.delivery_timeout_seconds, poll_seconds=s.delivery_poll_seconds,
                              lease_seconds=s.delivery_lease_seconds)

    def parts(self) -> ServiceParts:
        """Everything the runner may start, by role."""
        return ServiceParts(
            name="notify", port=self.settings.port, host=self.settings.host, app_factory=self.create_app,
            consume=[self.consumer().run, self.delivery_worker().run],
            schedule=[jobs.scheduler_loop(self.sessions, self.ctx)],
            workers=self.settings.common.web_workers, threads=self.settings.common.web_threads,
        )


def create_app(settings: NotifySettings | None = None) -> Any:
    """App factory (used by tests and WSGI servers)."""
    return Notify(settings or load_settings()).create_app()
