"""Reads for notify's API, page and digests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services.notify.messages import score_text
from services.notify.models import Delivery, FeedEntry
from shared.org import Org


def feed(session: Session, *, kind: str | None = None, team: str | None = None, touchpoint: str | None = None,
         before: int | None = None, after: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest feed entries first, filtered; ``before`` pages back by entry id, ``after`` gives newer ones."""
    query = _equal(select(FeedEntry), FeedEntry, kind=kind, team=team, touchpoint=touchpoint)
    if before:
        query = query.where(FeedEntry.id < before)
    if after:
        query = query.where(FeedEntry.id > after)
    rows = session.scalars(query.order_by(FeedEntry.id.desc()).limit(limit))
    return [entry_view(e) for e in rows]


def _equal(query: Select[Any], model: Any, **filters: Any) -> Select[Any]:
    """``query`` narrowed to rows whose column equals each filter given (empty filters are left out)."""
    for column, value in filters.items():
        if value:
            query = query.where(getattr(model, column) == value)
    return query


def touchpoints(session: Session) -> list[str]:
    """Every touchpoint seen so far, for the feed page's filter."""
    return sorted(t for t in session.scalars(select(FeedEntry.touchpoint).distinct()) if t)


def entry_view(entry: FeedEntry) -> dict[str, Any]:
    """A feed entry as the organisation sees it (no customer contact details)."""
    return {
        "id": entry.id, "feedback_id": entry.feedback_id, "received_at": entry.received_at, "kind": entry.kind,
        "source": entry.source,
        "survey": {"metric": entry.metric, "score": entry.score} if entry.metric else None,
        "rating": entry.rating, "comment": entry.comment, "touchpoint": entry.touchpoint,
        "product": entry.product, "team": entry.team, "ticket_id": entry.ticket_id,
        "ticket_status": entry.ticket_status, "owner_name": entry.owner_name, "sla_state": entry.sla_state,
        "root_cause": entry.root_cause, "in_reply_to": entry.in_reply_to, "answer": entry.answer,
    }


def deliveries(session: Session, *, status: str | None = None, channel: str | None = None,
               event_id: str | None = None, before: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Deliveries newest first: channel, event, attempts, status, last error."""
    query = _equal(select(Delivery), Delivery, status=status, channel=channel, event_id=event_id)
    if before:
        query = query.where(Delivery.id < before)
    return [{
        "id": d.id, "channel": d.channel, "channel_type": d.channel_type,
        # the customer's address is personal data; staff see that the customer was written to
        "recipient": d.recipient if d.channel == "customer" else (d.recipient or d.address or None),
        "event_id": d.event_id, "event_type": d.event_type, "subject": d.subject, "status": d.status,
        "attempts": d.attempts, "last_error": d.last_error, "created_at": d.created_at,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None, "sent_at": d.sent_at,
    } for d in session.scalars(query.order_by(Delivery.id.desc()).limit(limit))]


def _digest_item(entry: FeedEntry) -> dict[str, Any]:
    return {"feedback_id": entry.feedback_id, "score": score_text(entry), "touchpoint": entry.touchpoint,
            "comment": entry.comment}


def digest_stats(session: Session, *, start: datetime, end: datetime, org: Org, top: int = 3) -> dict[str, Any]:
    """Counts, NPS, best praise, worst complaints, SLA breaches and top root causes in ``[start, end)``."""
    # a customer's answer to a ticket (``in_reply_to``) answers our message rather than rating a
    # touchpoint: it is not praise, a complaint or neutral here, as on triage's dashboard
    in_window = (FeedEntry.received_at >= start) & (FeedEntry.received_at < end) & FeedEntry.in_reply_to.is_(None)
    counts = {"total": 0, "praise": 0, "complaint": 0, "neutral": 0}
    for kind, n in session.execute(select(FeedEntry.kind, func.count()).where(in_window).group_by(FeedEntry.kind)):
        counts[kind] = n
        counts["total"] += n
    scores = [s for s in session.scalars(select(FeedEntry.score).where(in_window, FeedEntry.metric == "nps"))
              if s is not None]
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    nps = {"score": round(100 * (promoters - detractors) / len(scores)) if scores else None,
           "responses": len(scores), "promoters": promoters, "detractors": detractors}
    commented = in_window & FeedEntry.comment.is_not(None) & (FeedEntry.comment != "")
    best = session.scalars(select(FeedEntry).where(commented, FeedEntry.kind == "praise").order_by(
        func.coalesce(FeedEntry.comment_score, 0).desc(), FeedEntry.id).limit(top))
    worst = session.scalars(select(FeedEntry).where(commented, FeedEntry.kind == "complaint").order_by(
        func.coalesce(FeedEntry.comment_score, 0), FeedEntry.id).limit(top))
    breached = list(session.scalars(select(FeedEntry).where(
        FeedEntry.breached_at >= start, FeedEntry.breached_at < end).order_by(FeedEntry.breached_at)))
    resolved = (FeedEntry.resolved_at >= start) & (FeedEntry.resolved_at < end)
    causes = session.execute(select(FeedEntry.root_cause, func.count().label("n")).where(
        resolved, FeedEntry.root_cause.is_not(None)).group_by(FeedEntry.root_cause).order_by(
        func.count().desc(), FeedEntry.root_cause).limit(5))
    return {
        "counts": counts, "nps": nps,
        "best_praise": [_digest_item(e) for e in best], "worst_complaints": [_digest_item(e) for e in worst],
        "breach_count": len(breached),
        "breaches": [{"ticket_id": e.ticket_id or "", "team": org.teams[e.team].name if e.team in org.teams
                      else (e.team or "?"), "touchpoint": e.touchpoint} for e in breached[:10]],
        "resolved": session.scalar(select(func.count()).select_from(FeedEntry).where(resolved)) or 0,
        "root_causes": [{"code": code, "count": n,
                         "label": org.root_causes[code].label if code in org.root_causes else code}
                        for code, n in causes],
    }
