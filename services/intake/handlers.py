"""Intake's use cases: accept feedback, one at a time or in batches, whatever the entry point.

:class:`FeedbackStore` is the one way feedback is stored (API, batch, form, follow-up link,
status page, mail, import): it builds the rows, writes them through the database's writer (on
SQLite, concurrent submissions share a commit) and hands each committed event to the outbox
relay. The functions below it take the transaction they are given and never commit; they raise
domain errors that the HTTP edge translates.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Table, bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from services.intake.batch import ItemError
from services.intake.models import Feedback, Outbox
from services.intake.schemas import FeedbackIn
from shared import events, topics
from shared.db import Writer, Writes
from shared.language import language_of
from shared.outbox import outbox_row

FEEDBACK_TABLE: Table = Feedback.__table__  # type: ignore[assignment]
OUTBOX_TABLE: Table = Outbox.__table__  # type: ignore[assignment]
# attribute name → column name (``extra`` is stored as ``metadata``)
FEEDBACK_COLUMNS = {attr.key: attr.columns[0].name for attr in sa_inspect(Feedback).column_attrs}


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the answer to a new submission needs of its feedback, without an ORM instance."""

    id: str
    status_token: str
    source: str


@dataclass(frozen=True)
class Accepted:
    feedback: Receipt  # what the answer needs of the stored (or repeated) feedback
    duplicate: bool
    duplicate_kind: str | None = None  # "idempotency_key" or "external_id" when a repeat


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one batch item: stored (or found as a repeat), or its errors."""

    index: int
    accepted: Accepted | None = None
    errors: dict[str, Any] | None = None


def request_fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of the validated body, to compare repeats of an Idempotency-Key."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_RECEIPT_COLUMNS = (FEEDBACK_TABLE.c.id, FEEDBACK_TABLE.c.status_token, FEEDBACK_TABLE.c.source,
                    FEEDBACK_TABLE.c.request_hash)
_BY_KEY = select(*_RECEIPT_COLUMNS).where(FEEDBACK_TABLE.c.idempotency_key == bindparam("key"))
_BY_EXTERNAL_ID = select(*_RECEIPT_COLUMNS).where(FEEDBACK_TABLE.c.source == bindparam("source"),
                                                  FEEDBACK_TABLE.c.external_id == bindparam("external_id"))


def find_duplicate(writes: Writes, data: dict[str, Any], idempotency_key: str | None) -> Accepted | None:
    """The earlier feedback this request repeats, or ``None``; raise on a reused key with a new body."""
    if not idempotency_key and not data.get("external_id"):
        return None
    writes.flush()  # an earlier write of the same batch may be the one repeated
    connection = writes.connection
    if idempotency_key:
        earlier = connection.execute(_BY_KEY, {"key": idempotency_key}).first()
        if earlier is not None:
            if earlier.request_hash != request_fingerprint(data):
                raise IdempotencyConflict(idempotency_key)
            return Accepted(Receipt(earlier.id, earlier.status_token, earlier.source), duplicate=True,
                            duplicate_kind="idempotency_key")
    if data.get("external_id"):
        earlier = connection.execute(_BY_EXTERNAL_ID, {"source": data["source"],
                                                       "external_id": data["external_id"]}).first()
        if earlier is not None:
            return Accepted(Receipt(earlier.id, earlier.status_token, earlier.source), duplicate=True,
                            duplicate_kind="external_id")
    return None


@dataclass(frozen=True)
class Prepared:
    """A new feedback's rows, built before its transaction: the feedback row, its answer object, its outbox row."""

    row: dict[str, Any]
    feedback: Receipt
    outbox: dict[str, Any]


def prepare_feedback(data: dict[str, Any], *, idempotency_key: str | None, now: datetime) -> Prepared:
    """Build the rows that store validated feedback and its ``feedback.received`` event.

    This is most of a submission's work (ids, status token, the event and its encoding) and needs
    no database, so the web API does it in the request's own thread, before the shared SQLite
    transaction (:class:`shared.sqlite.GroupCommitter`) that only checks for a repeat and inserts.
    """
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    feedback_id = str(uuid.uuid4())
    row = {
        "id": feedback_id,
        "status_token": secrets.token_urlsafe(24),
        "received_at": now,
        "source": data["source"],
        "metric": survey.get("metric"),
        "score": survey.get("score"),
        "rating": data.get("rating"),
        "comment": data.get("comment"),
        "customer_id": customer.get("id"),
        "customer_email": customer.get("email"),
        "customer_name": customer.get("name"),
        "touchpoint": data.get("touchpoint"),
        "product": data.get("product"),
        "locale": data.get("locale"),
        "language": language_of(data["comment"], data.get("locale")) if data.get("comment") else None,
        "external_id": data.get("external_id"),
        "submitted_at": data.get("submitted_at"),
        "extra": data.get("metadata"),
        "in_reply_to": data.get("in_reply_to"),
        "idempotency_key": idempotency_key,
        "request_hash": request_fingerprint(data) if idempotency_key else None,
    }
    event = events.make_event(type=events.FEEDBACK_RECEIVED, source="/intake", subject=feedback_id,
                              data=event_data(row), now=now)
    table_row = {FEEDBACK_COLUMNS[k]: v for k, v in row.items()} | {"event_id": event["id"]}
    return Prepared(table_row, Receipt(feedback_id, row["status_token"], row["source"]),
                    outbox_row(topic=topics.FEEDBACK_RECEIVED, event=event, now=now))


def accept_feedback(writes: Writes, data: dict[str, Any], *, idempotency_key: str | None,
                    now: datetime, prepared: Prepared | None = None) -> Accepted:
    """Store validated feedback and queue ``feedback.received`` in the same transaction.

    The rows are queued on ``writes`` and go in at its next flush (before commit, or before a
    query that looks for a repeat); the answer is a :class:`Receipt` built in memory.
    ``prepared`` (from :func:`prepare_feedback` with the same arguments) saves building the rows here.
    """
    duplicate = find_duplicate(writes, data, idempotency_key)
    if duplicate is not None:
        return duplicate
    if prepared is None:
        prepared = prepare_feedback(data, idempotency_key=idempotency_key, now=now)
    writes.insert(FEEDBACK_TABLE, prepared.row)
    writes.insert(OUTBOX_TABLE, prepared.outbox)
    return Accepted(prepared.feedback, duplicate=False)


def store_written(writes: Writes, data: dict[str, Any], *, idempotency_key: str | None,
                  now: datetime, prepared: Prepared | None = None) -> Accepted:
    """:func:`accept_feedback` inside a savepoint, flushed: either the whole feedback and its event
    are kept, or nothing is; a concurrent writer of the same key or external id makes it a repeat."""
    try:
        with writes.connection.begin_nested():
            accepted = accept_feedback(writes, data, idempotency_key=idempotency_key, now=now, prepared=prepared)
            writes.flush()
            return accepted
    except IntegrityError:
        found = find_duplicate(writes, data, idempotency_key)
        if found is None:
            raise
        return found


class FeedbackStore:
    """Stores feedback and publishes its ``feedback.received``: the one path of every entry point.

    ``hand_off`` (the outbox relay's :meth:`~shared.outbox.OutboxRelay.hand_off`) gets each new
    feedback's outbox row once it is committed; without one (an import writing straight into the
    database) the running relays' sweep publishes the rows.
    """

    def __init__(self, writer: Writer, hand_off: Callable[[dict[str, Any]], None] | None = None):
        self.writer = writer
        self.hand_off = hand_off

    def store(self, data: dict[str, Any], *, idempotency_key: str | None, now: datetime) -> Accepted:
        """Store validated feedback (or find the one it repeats); return once it is committed.

        Raises :class:`IdempotencyConflict` when the key was used with another body.
        """
        # built in the caller's thread, in parallel with other requests, not in the shared transaction
        prepared = prepare_feedback(data, idempotency_key=idempotency_key, now=now)
        accepted = self.writer.run(
            lambda writes: accept_feedback(writes, data, idempotency_key=idempotency_key, now=now,
                                           prepared=prepared),
            alone=lambda writes: store_written(writes, data, idempotency_key=idempotency_key, now=now,
                                               prepared=prepared))
        if not accepted.duplicate and self.hand_off is not None:
            self.hand_off(prepared.outbox)
        return accepted

    def store_batch(self, items: Sequence[Any], *, now: datetime) -> list[ItemOutcome]:
        """Validate and store each item on its own, in one transaction: good items are kept whatever
        the others hold, and no item is half-stored."""
        schema = FeedbackIn()
        outcomes: list[ItemOutcome] = []
        valid: list[tuple[int, dict[str, Any], Prepared]] = []
        for index, item in enumerate(items):
            if isinstance(item, ItemError):
                outcomes.append(ItemOutcome(index, errors=item.errors))
                continue
            try:
                data = schema.load(item)
            except ValidationError as exc:
                outcomes.append(ItemOutcome(index, errors=_as_dict(exc.normalized_messages())))
                continue
            valid.append((index, data, prepare_feedback(data, idempotency_key=None, now=now)))

        def write(writes: Writes) -> list[Accepted]:
            return [store_written(writes, data, idempotency_key=None, now=now, prepared=prepared)
                    for _, data, prepared in valid]

        stored = self.writer.run(write) if valid else []
        for (index, _, prepared), accepted in zip(valid, stored, strict=True):
            outcomes.append(ItemOutcome(index, accepted=accepted))
            if not accepted.duplicate and self.hand_off is not None:
                self.hand_off(prepared.outbox)
        outcomes.sort(key=lambda outcome: outcome.index)
        return outcomes


def _as_dict(messages: Any) -> dict[str, Any]:
    return messages if isinstance(messages, dict) else {"_schema": messages}


def event_data(row: dict[str, Any]) -> dict[str, Any]:
    """The ``feedback.received`` data for a feedback's row (attribute names, as :func:`prepare_feedback` builds it)."""
    customer = {k: v for k, v in (("id", row["customer_id"]), ("email", row["customer_email"]),
                                  ("name", row["customer_name"])) if v is not None}
    return {
        "id": row["id"],
        "received_at": row["received_at"],
        "source": row["source"],
        "survey": {"metric": row["metric"], "score": row["score"]} if row["metric"] else None,
        "rating": row["rating"],
        "comment": row["comment"],
        "customer": customer or None,
        "touchpoint": row["touchpoint"],
        "product": row["product"],
        "locale": row["locale"],
        "external_id": row["external_id"],
        "submitted_at": row["submitted_at"],
        "metadata": row["extra"],
        "in_reply_to": row["in_reply_to"],
        # the customer's status page link (notify puts it in the customer's mails)
        "status_token": row["status_token"],
    }

