"""What triage's use cases need besides the unit of work: the org, SLA settings, the cause classifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from services.triage.rootcause.classifier import NaiveBayes
from services.triage.routing.names import NameIndex
from services.triage.sla.calendar import WALL_CLOCK, Calendar
from shared.org import Org, User

if TYPE_CHECKING:
    from services.triage.tickets.models import Ticket

DEFAULT_SLA_SECONDS = 86400


@dataclass(frozen=True)
class Context:
    """What ticket handlers need besides the unit of work: the org, SLA settings, the cause classifier."""

    org: Org
    sla_seconds: int | None
    warning_ratio: float
    escalation_seconds: int
    keywords: dict[str, tuple[str, ...]]
    classifier: NaiveBayes | None = None
    calendars: dict[str, Calendar] = field(default_factory=dict)
    waiting_pauses_clock: bool = False
    spike_threshold: int = 5
    spike_window_seconds: int = 4 * 3600

    @cached_property
    def names(self) -> NameIndex:
        """The org's people by name: whom a comment names (built once)."""
        return NameIndex(self.org.users.values())

    def seconds_for(self, priority: str) -> int:
        """SLA length: the org file's per-priority override, else TRIAGE_SLA_SECONDS, else the org default."""
        override = self.org.sla_by_priority.get(priority)
        if override is not None:
            return override
        return self.sla_seconds or self.org.sla_default_seconds or DEFAULT_SLA_SECONDS

    def calendar_for(self, team: str) -> Calendar:
        """The team's business hours, or the wall clock."""
        return self.calendars.get(team, WALL_CLOCK)

    def chain_for(self, ticket: Ticket) -> list[User]:
        """Who a breach of ``ticket`` escalates to, in order."""
        return self.chain_of(ticket.owner_id, ticket.team)

    def chain_of(self, owner_id: str, team_id: str) -> list[User]:
        """The owner's managers, nearest first; the team lead (and theirs) if the owner has none."""
        chain = self.org.chain(owner_id)
        if not chain:
            team = self.org.teams.get(team_id)
            lead = self.org.users.get(team.lead) if team and team.lead else None
            if lead is not None and lead.id != owner_id:
                chain = [lead, *self.org.chain(lead.id)]
        return chain
