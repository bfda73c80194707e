"""aggregate tables for the SLA summary, kept by triggers on tickets and feedback; index for at-risk lists

Each write to ``tickets`` or ``feedback`` inserts signed delta rows (``-1`` for what the old row
contributed, ``+1`` for the new row) into the aggregate tables described in
``services/triage/report_models.py``; existing rows are folded in once here. The expressions
(UTC hour, seconds, whole minutes, the time-to-resolve buckets, detractor) are the ones
``services.triage.aggregates`` uses for the partial hours at a window's edges, and a test checks
that both agree on every figure.

On SQLite, ``batch_alter_table`` on ``tickets`` or ``feedback`` rebuilds the table and drops
its triggers: a later migration that does so must create them again (``create_triggers``).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

import shared.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

DELTA_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = "('open', 'acknowledged', 'waiting')"  # not resolved: waiting on the customer is still open
BUCKET_HOURS = (1, 4, 8, 16, 24, 48, 72)
OPEN_KEYS = ("team", "owner_id", "touchpoint", "priority", "root_cause", "sla_state")
RESOLVED_KEYS = ("team", "owner_id", "touchpoint", "priority", "root_cause")
OPEN_COLUMNS = ("status", *OPEN_KEYS)
RESOLVED_COLUMNS = ("resolved_at", "received_at", "due_at", "feedback_id", "customer_answer", *RESOLVED_KEYS)
ACK_COLUMNS = ("acknowledged_at", "received_at", "team")
FEEDBACK_COLUMNS = ("received_at", "metric", "score", "rating", "touchpoint", "kind", "in_reply_to")


def upgrade() -> None:
    op.create_table('sla_open_counts',
        sa.Column('id', DELTA_ID, autoincrement=True, nullable=False),
        sa.Column('team', sa.String(length=100), nullable=False),
        sa.Column('owner_id', sa.String(length=100), nullable=False),
        sa.Column('touchpoint', sa.String(length=100), nullable=True),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('root_cause', sa.String(length=50), nullable=True),
        sa.Column('sla_state', sa.String(length=20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('sla_resolved_hourly',
        sa.Column('id', DELTA_ID, autoincrement=True, nullable=False),
        sa.Column('hour', shared.db.UTCDateTime(), nullable=False),
        sa.Column('team', sa.String(length=100), nullable=False),
        sa.Column('owner_id', sa.String(length=100), nullable=False),
        sa.Column('touchpoint', sa.String(length=100), nullable=True),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('root_cause', sa.String(length=50), nullable=True),
        sa.Column('bucket', sa.SmallInteger(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('within_sla', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('detractors', sa.Integer(), nullable=False),
        sa.Column('detractors_answered', sa.Integer(), nullable=False),
        sa.Column('detractors_fixed', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_sla_resolved_hourly_hour', 'sla_resolved_hourly', ['hour'], unique=False)
    op.create_table('sla_time_hourly',
        sa.Column('id', DELTA_ID, autoincrement=True, nullable=False),
        sa.Column('measure', sa.String(length=8), nullable=False),
        sa.Column('hour', shared.db.UTCDateTime(), nullable=False),
        sa.Column('team', sa.String(length=100), nullable=False),
        sa.Column('minute', sa.Integer(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_sla_time_hourly_measure_hour', 'sla_time_hourly', ['measure', 'hour'], unique=False)
    op.create_table('feedback_hourly',
        sa.Column('id', DELTA_ID, autoincrement=True, nullable=False),
        sa.Column('hour', shared.db.UTCDateTime(), nullable=False),
        sa.Column('metric', sa.String(length=10), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('touchpoint', sa.String(length=100), nullable=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_feedback_hourly_hour', 'feedback_hourly', ['hour'], unique=False)
    op.create_index('ix_tickets_sla_state_due', 'tickets', ['sla_state', 'due_at'], unique=False)
    backfill()
    create_triggers()
    if _postgresql():  # compaction deletes most rows every minute: vacuum by row count, not table share
        for table in ("sla_open_counts", "sla_resolved_hourly", "sla_time_hourly", "feedback_hourly"):
            op.execute(f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0, "
                       "autovacuum_vacuum_threshold = 5000, autovacuum_analyze_scale_factor = 0, "
                       "autovacuum_analyze_threshold = 5000)")


def downgrade() -> None:
    drop_triggers()
    op.drop_index('ix_tickets_sla_state_due', table_name='tickets')
    op.drop_index('ix_feedback_hourly_hour', table_name='feedback_hourly')
    op.drop_table('feedback_hourly')
    op.drop_index('ix_sla_time_hourly_measure_hour', table_name='sla_time_hourly')
    op.drop_table('sla_time_hourly')
    op.drop_index('ix_sla_resolved_hourly_hour', table_name='sla_resolved_hourly')
    op.drop_table('sla_resolved_hourly')
    op.drop_table('sla_open_counts')


# --- the expressions, per dialect ---------------------------------------------------------------

def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _seconds(start: str, end: str) -> str:
    if _postgresql():
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


def _minute(seconds: str) -> str:
    if _postgresql():
        return f"(round({seconds})::bigint / 60)"
    return f"(CAST(round({seconds}) AS INTEGER) / 60)"


def _hour(column: str) -> str:
    """The UTC hour a time falls in, stored as SQLAlchemy stores a timestamp on each database."""
    if _postgresql():
        return f"date_trunc('hour', {column})"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def _bucket(seconds: str) -> str:
    whens = " ".join(f"WHEN {seconds} < {hours * 3600} THEN {i}" for i, hours in enumerate(BUCKET_HOURS))
    return f"CASE {whens} ELSE {len(BUCKET_HOURS)} END"


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _detractor(t: str) -> str:
    flag = _flag("f.metric = 'nps' AND f.score <= 6")
    return f"COALESCE((SELECT {flag} FROM feedback f WHERE f.id = {t}.feedback_id), 0)"


# --- one SELECT per aggregate: what the ticket/feedback row ``t`` adds, times ``sign`` -----------

def _open_select(t: str, sign: str, source: str = "") -> str:
    keys = ", ".join(f"{t}.{k}" for k in OPEN_KEYS)
    return f"SELECT {keys}, {sign} {source}WHERE {t}.status IN {ACTIVE}"


def _resolved_select(t: str, sign: str, source: str = "") -> str:
    secs = _seconds(f"{t}.received_at", f"{t}.resolved_at")
    det = _detractor(t)
    fixed = _flag(f"{t}.customer_answer = 'fixed'")
    keys = ", ".join(f"{t}.{k}" for k in RESOLVED_KEYS)
    return (f"SELECT {_hour(f'{t}.resolved_at')}, {keys}, {_bucket(secs)}, {sign}, "
            f"{sign} * {_flag(f'{t}.resolved_at <= {t}.due_at')}, {sign} * {secs}, {sign} * {det}, "
            f"{sign} * {det} * {_flag(f'{t}.customer_answer IS NOT NULL')}, "
            f"{sign} * {det} * {fixed} "
            f"{source}WHERE {t}.resolved_at IS NOT NULL")


def _time_select(t: str, sign: str, measure: str, column: str, source: str = "") -> str:
    secs = _seconds(f"{t}.received_at", f"{t}.{column}")
    return (f"SELECT '{measure}', {_hour(f'{t}.{column}')}, {t}.team, {_minute(secs)}, {sign}, {sign} * {secs} "
            f"{source}WHERE {t}.{column} IS NOT NULL")


def _feedback_select(t: str, sign: str, source: str = "") -> str:
    return (f"SELECT {_hour(f'{t}.received_at')}, {t}.metric, {t}.score, {t}.rating, {t}.touchpoint, {t}.kind, "
            f"{sign} {source}WHERE {t}.in_reply_to IS NULL")


OPEN_INSERT = f"INSERT INTO sla_open_counts ({', '.join(OPEN_KEYS)}, n) "
RESOLVED_INSERT = (f"INSERT INTO sla_resolved_hourly (hour, {', '.join(RESOLVED_KEYS)}, bucket, n, within_sla, seconds, "
                   "detractors, detractors_answered, detractors_fixed) ")
TIME_INSERT = "INSERT INTO sla_time_hourly (measure, hour, team, minute, n, seconds) "
FEEDBACK_INSERT = "INSERT INTO feedback_hourly (hour, metric, score, rating, touchpoint, kind, n) "


def _tickets_parts(t: str, sign: str, source: str = "") -> dict[str, list[str]]:
    return {
        "open": [OPEN_INSERT + _open_select(t, sign, source)],
        "resolved": [RESOLVED_INSERT + _resolved_select(t, sign, source),
                     TIME_INSERT + _time_select(t, sign, "resolve", "resolved_at", source)],
        "ack": [TIME_INSERT + _time_select(t, sign, "ack", "acknowledged_at", source)],
    }


PART_COLUMNS = {"open": OPEN_COLUMNS, "resolved": RESOLVED_COLUMNS, "ack": ACK_COLUMNS}


def backfill() -> None:
    """Fold the rows already there into the new tables (open counts summed; the rest one row each)."""
    op.execute(f"INSERT INTO sla_open_counts ({', '.join(OPEN_KEYS)}, n) "
               f"SELECT {', '.join(OPEN_KEYS)}, count(*) FROM tickets WHERE status IN {ACTIVE} "
               f"GROUP BY {', '.join(OPEN_KEYS)}")
    parts = _tickets_parts("t", "1", "FROM tickets t ")
    for insert in parts["resolved"] + parts["ack"]:
        op.execute(insert)
    op.execute(FEEDBACK_INSERT + _feedback_select("t", "1", "FROM feedback t "))


def create_triggers() -> None:
    """Keep the aggregates in step with every INSERT, UPDATE and DELETE on tickets and feedback."""
    if _postgresql():
        _create_postgresql_triggers()
    else:
        _create_sqlite_triggers()


def drop_triggers() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS tickets_aggregates ON tickets")
        op.execute("DROP TRIGGER IF EXISTS feedback_aggregates ON feedback")
        op.execute("DROP FUNCTION IF EXISTS closeloop_tickets_aggregates()")
        op.execute("DROP FUNCTION IF EXISTS closeloop_feedback_aggregates()")
        return
    for name in _sqlite_trigger_names():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def _changed(columns: tuple[str, ...], distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


def _sqlite_trigger_names() -> list[str]:
    names = [f"tickets_aggregates_{op_}" for op_ in ("insert", "delete")]
    names += [f"tickets_aggregates_update_{part}" for part in PART_COLUMNS]
    return names + [f"feedback_aggregates_{op_}" for op_ in ("insert", "delete", "update")]


def _create_sqlite_triggers() -> None:
    def body(statements: list[str]) -> str:
        return " ".join(f"{s};" for s in statements)

    def every(t: str, sign: str) -> list[str]:
        return [s for part in _tickets_parts(t, sign).values() for s in part]

    op.execute(f"CREATE TRIGGER tickets_aggregates_insert AFTER INSERT ON tickets BEGIN {body(every('NEW', '1'))} END")
    op.execute(f"CREATE TRIGGER tickets_aggregates_delete AFTER DELETE ON tickets BEGIN {body(every('OLD', '-1'))} END")
    for part, columns in PART_COLUMNS.items():
        statements = _tickets_parts("OLD", "-1")[part] + _tickets_parts("NEW", "1")[part]
        op.execute(f"CREATE TRIGGER tickets_aggregates_update_{part} AFTER UPDATE ON tickets "
                   f"WHEN {_changed(columns, 'IS NOT')} BEGIN {body(statements)} END")
    add, remove = FEEDBACK_INSERT + _feedback_select("NEW", "1"), FEEDBACK_INSERT + _feedback_select("OLD", "-1")
    op.execute(f"CREATE TRIGGER feedback_aggregates_insert AFTER INSERT ON feedback BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER feedback_aggregates_delete AFTER DELETE ON feedback BEGIN {remove}; END")
    op.execute(f"CREATE TRIGGER feedback_aggregates_update AFTER UPDATE ON feedback "
               f"WHEN {_changed(FEEDBACK_COLUMNS, 'IS NOT')} BEGIN {remove}; {add}; END")


def _create_postgresql_triggers() -> None:
    def block(part: str, old: bool) -> str:
        t, sign = ("OLD", "-1") if old else ("NEW", "1")
        return " ".join(f"{s};" for s in _tickets_parts(t, sign)[part])

    removes = "\n".join(
        f"    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ({_changed(cols, 'IS DISTINCT FROM')})) THEN "
        f"{block(part, True)} END IF;" for part, cols in PART_COLUMNS.items())
    adds = "\n".join(
        f"    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ({_changed(cols, 'IS DISTINCT FROM')})) THEN "
        f"{block(part, False)} END IF;" for part, cols in PART_COLUMNS.items())
    op.execute(f"""
CREATE FUNCTION closeloop_tickets_aggregates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{removes}
{adds}
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER tickets_aggregates AFTER INSERT OR UPDATE OR DELETE ON tickets "
               "FOR EACH ROW EXECUTE FUNCTION closeloop_tickets_aggregates()")
    changed = _changed(FEEDBACK_COLUMNS, "IS DISTINCT FROM")
    op.execute(f"""
CREATE FUNCTION closeloop_feedback_aggregates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ({changed})) THEN
        {FEEDBACK_INSERT}{_feedback_select("OLD", "-1")};
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ({changed})) THEN
        {FEEDBACK_INSERT}{_feedback_select("NEW", "1")};
    END IF;
    RETURN NULL;
END $$""")
    op.execute("CREATE TRIGGER feedback_aggregates AFTER INSERT OR UPDATE OR DELETE ON feedback "
               "FOR EACH ROW EXECUTE FUNCTION closeloop_feedback_aggregates()")
