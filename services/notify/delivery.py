"""The delivery worker: sends what the consumer recorded, retrying with backoff, never twice.

Each round it claims due rows with a lease (an ``UPDATE`` guarded by status and lease, so two
workers or a restarted one never hold the same row), at most one lane of rows per channel, and
sends each lane on its own thread: a slow or broken channel ties up only its own lane. Within a
lane, up to the channel type's ``concurrency`` rows are in flight at once (mail to many people
goes out side by side; one person's mails, and a chat channel's posts, keep their order).
Leases are short and the worker renews them while it holds them, so the deliveries of a killed
worker are taken over within a lease (``NOTIFY_DELIVERY_LEASE_SECONDS``), and a live worker's
slow send is never taken from it.

Every row is marked (sent, or failed with the error and its next attempt) right after its own
send, so a restart resends nothing already delivered; a row whose send was cut off by a crash
is sent again, as the same mail (its ``Message-ID`` comes from the delivery). After
``max_attempts`` or a permanent refusal a row is ``failed`` for good; ``GET /api/v1/deliveries``
shows it.
"""

from __future__ import annotations

import threading
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from tenacity import RetryCallState, Retrying, wait_exponential, wait_random

from services.notify.channels import Channels, DeliveryFailed, Outgoing, concurrency
from services.notify.messages import Message
from services.notify.models import FAILED, PENDING, SENT, Delivery
from shared.db import Writes, among, make_writer

log = structlog.get_logger(__name__)
DELIVERIES = Counter("closeloop_notify_deliveries_total", "Delivery attempts, by channel type and outcome",
                     ["channel_type", "outcome"])
MAX_CONCURRENCY = 8


@dataclass
class DeliveryWorker:
    sessions: sessionmaker[Session]
    channels: Channels
    max_attempts: int = 8
    backoff_seconds: float = 5.0
    max_backoff_seconds: float = 1800.0
    send_timeout: float = 10.0
    poll_seconds: float = 0.5
    lease_seconds: float = 30.0
    lanes: int = 8
    lane_size: int = 20
    """Rows a lane claims per strand it sends on (a lane of a channel type of concurrency 8 claims 160)."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self._wait = wait_exponential(multiplier=self.backoff_seconds, max=self.max_backoff_seconds) + wait_random(
            0, self.backoff_seconds / 2)
        self._held: set[str] = set()  # claim tokens whose leases this worker renews
        self._held_lock = threading.Lock()
        # marks made at the same moment by the lanes' threads share a transaction (on SQLite, one commit)
        self._marks = make_writer(self.sessions.kw["bind"])

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure (exponential, capped, with jitter)."""
        state = RetryCallState(Retrying(), None, (), {})
        state.attempt_number = attempts
        return float(self._wait(state))

    def run(self, stop: threading.Event) -> None:
        """Claim and send due deliveries until ``stop`` is set."""
        busy: dict[str, Future[None]] = {}
        log.info("delivery_worker_started", lanes=self.lanes, lease_seconds=self.lease_seconds)
        keeper = threading.Thread(target=self._keep_leases, args=(stop,), name="delivery-leases", daemon=True)
        keeper.start()
        with ThreadPoolExecutor(self.lanes, thread_name_prefix="delivery") as lanes, \
                ThreadPoolExecutor(self.lanes * (MAX_CONCURRENCY - 1), thread_name_prefix="delivery-send") as sends:
            while not stop.is_set():
                for channel, future in list(busy.items()):
                    if future.done():
                        del busy[channel]
                        future.result()  # a lane that crashed takes the process down, loudly
                claimed = self.claim(exclude=set(busy), lanes=self.lanes - len(busy)) if len(busy) < self.lanes \
                    else {}
                for channel, (token, rows) in claimed.items():
                    busy[channel] = lanes.submit(self.send_lane, token, rows, sends)
                stop.wait(0.01 if claimed else self.poll_seconds)
        keeper.join(timeout=5)
        log.info("delivery_worker_stopped")

    def claim(self, *, exclude: set[str] | None = None, lanes: int = 8) -> dict[str, tuple[str, list[Delivery]]]:
        """Lease due rows, at most a lane's worth per channel and ``lanes`` channels, skipping busy channels."""
        now = self.clock()
        due = (Delivery.status == PENDING) & (Delivery.next_attempt_at <= now) & or_(
            Delivery.lease_until.is_(None), Delivery.lease_until < now)
        query = select(Delivery.id, Delivery.channel, Delivery.channel_type).where(due)
        if exclude:
            query = query.where(Delivery.channel.not_in(exclude))
        picked: dict[str, list[int]] = {}
        claimed: dict[str, tuple[str, list[Delivery]]] = {}
        with self.sessions() as session, session.begin():
            for row_id, channel, channel_type in session.execute(query.order_by(
                    Delivery.next_attempt_at, Delivery.id).limit(lanes * self.lane_size * MAX_CONCURRENCY)):
                if channel in picked or len(picked) < lanes:
                    ids = picked.setdefault(channel, [])
                    # a lane sends up to its type's concurrency at once: it takes as many rows per strand
                    if len(ids) < self.lane_size * min(concurrency(channel_type), MAX_CONCURRENCY):
                        ids.append(row_id)
            for channel, ids in picked.items():
                token = uuid.uuid4().hex
                session.execute(update(Delivery).where(among(session, Delivery.id, ids), due).values(
                    lease_until=now + timedelta(seconds=self.lease_seconds), claimed_by=token))
                rows = list(session.scalars(select(Delivery).where(Delivery.claimed_by == token).order_by(
                    Delivery.id)))
                if rows:
                    claimed[channel] = (token, rows)
        with self._held_lock:
            self._held.update(token for token, _ in claimed.values())
        return claimed

    def _keep_leases(self, stop: threading.Event) -> None:
        """Renew the leases of every claim this worker still holds, every third of a lease."""
        while not stop.wait(self.lease_seconds / 3):
            try:
                self.renew_leases()
            except Exception:  # a database hiccup: the next round tries again, well within the lease
                log.exception("delivery_lease_renewal_failed")

    def renew_leases(self) -> int:
        """Push the leases of the rows this worker holds (and has not marked yet) one lease ahead."""
        with self._held_lock:
            tokens = list(self._held)
        if not tokens:
            return 0
        with self.sessions() as session, session.begin():
            result = session.execute(update(Delivery).where(
                Delivery.claimed_by.in_(tokens), Delivery.status == PENDING, Delivery.lease_until.is_not(None)).values(
                lease_until=self.clock() + timedelta(seconds=self.lease_seconds)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def send_lane(self, token: str, rows: list[Delivery], pool: ThreadPoolExecutor | None = None) -> None:
        """Send one channel's claimed rows, up to its type's concurrency at once, each marked after its send."""
        try:
            width = min(concurrency(rows[0].channel_type), MAX_CONCURRENCY, len(rows)) if pool is not None else 1
            if width <= 1:
                for row in rows:
                    self.send_one(token, row)
                return
            # one recipient's mails stay in order (a reply, then the resolution): same address, same strand
            strands: list[list[Delivery]] = [[] for _ in range(width)]
            for row in rows:
                strands[zlib.crc32(row.address.encode()) % width if row.address else row.id % width].append(row)
            strands = [strand for strand in strands if strand]
            others = [pool.submit(self._send_all, token, strand) for strand in strands[1:]]  # type: ignore[union-attr]
            self._send_all(token, strands[0])
            for future in others:
                future.result()
        finally:
            with self._held_lock:
                self._held.discard(token)

    def _send_all(self, token: str, rows: list[Delivery]) -> None:
        for row in rows:
            self.send_one(token, row)

    def send_one(self, token: str, row: Delivery) -> str:
        """Attempt one delivery and record the outcome; return the new status."""
        error: str | None = None
        permanent = False
        try:
            sender = self.channels.sender_for(row.channel, row.channel_type)
            sender.send(Outgoing(delivery_id=row.id, event_id=row.event_id, event_type=row.event_type,
                                 address=row.address, message=Message.from_json(row.message)))
        except DeliveryFailed as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # a rendering bug must fail this delivery visibly, not stop all the others
            log.exception("delivery_crashed", delivery=row.id, channel=row.channel)
            error = f"{exc.__class__.__name__}: {exc}"
        now = self.clock()
        attempts = row.attempts + 1
        if error is None:
            values: dict[str, object] = {"status": SENT, "sent_at": now, "last_error": None}
        elif permanent or attempts >= self.max_attempts:
            values = {"status": FAILED, "last_error": error[:2000]}
        else:
            values = {"status": PENDING, "last_error": error[:2000],
                      "next_attempt_at": now + timedelta(seconds=self.retry_delay(attempts))}
        mark = update(Delivery).where(Delivery.id == row.id, Delivery.claimed_by == token).values(
            attempts=attempts, lease_until=None, **values)
        marked = self._marks.run(lambda writes: _rowcount(writes, mark))
        status = str(values["status"])
        outcome = "sent" if error is None else ("gave_up" if status == FAILED else "retrying")
        DELIVERIES.labels(row.channel_type, outcome).inc()
        if marked == 0:
            log.warning("delivery_lease_lost", delivery=row.id, channel=row.channel)
        elif error is not None:
            log.warning("delivery_failed", delivery=row.id, channel=row.channel, attempts=attempts, status=status,
                        error=error[:300])
        return status


def _rowcount(writes: Writes, statement: Any) -> int:
    return int(writes.connection.execute(statement).rowcount)
