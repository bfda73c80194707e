"""Indexes that keep leadership's summary fast on a long history (see ``reports``).

They live apart from ``models.py`` but on the same tables and ``Base`` metadata; importing this
module attaches them, and triage's Alembic ``env.py`` imports it so migrations and models agree.
"""

from __future__ import annotations

from sqlalchemy import Index

from services.triage.models import Ticket, TimelineEntry

RESOLVED_AT = Index("ix_tickets_resolved_at", Ticket.resolved_at)
ACKNOWLEDGED_AT = Index("ix_tickets_acknowledged_at", Ticket.acknowledged_at)
TIMELINE_TYPE = Index("ix_ticket_timeline_type", TimelineEntry.type)
