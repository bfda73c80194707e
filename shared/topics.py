"""Kafka topic names, the one place they are spelled, and creating them where nobody else does."""

from __future__ import annotations

import structlog

FEEDBACK_RECEIVED = "feedback.received"
TICKET_EVENTS = "ticket.events"
ALL_TOPICS = (FEEDBACK_RECEIVED, TICKET_EVENTS)
DEFAULT_PARTITIONS = 4

log = structlog.get_logger(__name__)


def dlq(topic: str) -> str:
    """Return the dead-letter topic for ``topic``."""
    return f"{topic}.dlq"


def ensure_topics(bootstrap: str, partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """Create every Closeloop topic and its DLQ if missing; return the names created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    wanted = [t for topic in ALL_TOPICS for t in (topic, dlq(topic))]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="closeloop-admin")
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            try:
                admin.create_topics(
                    [NewTopic(name=t, num_partitions=partitions, replication_factor=1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
            log.info("topics_created", topics=missing)
        return missing
    finally:
        admin.close()
