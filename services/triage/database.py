"""Triage's database: the declarative base every domain's models share, the outbox and idempotency tables.

Each domain folder keeps its own tables in its ``models.py``; :func:`load_models` imports them all
(Alembic and the app need the whole schema).
"""

from __future__ import annotations

import importlib

from sqlalchemy.orm import DeclarativeBase

from shared.db import ProcessedEventMixin
from shared.outbox import OutboxMixin

MODEL_MODULES = ("tickets", "routing", "rootcause", "reports", "conversation")


class Base(DeclarativeBase):
    pass


class Outbox(OutboxMixin, Base):
    __table_args__ = (OutboxMixin.pending_index(),)


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


def load_models() -> None:
    """Import every domain's tables (and indexes) into ``Base.metadata``."""
    for name in MODEL_MODULES:
        importlib.import_module(f"services.triage.{name}.models")
