"""feedback knows its team (the team its ticket belongs to, or the team routing names for praise), so
the dashboard's scores follow ``?team=``; ``feedback_hourly`` is kept per team

The feedback triggers of 0005 are replaced by ones that carry the team; the hourly feedback rows
are rebuilt from ``feedback`` after the backfill (each feedback's team from its ticket, where it
has one; feedback from before with no ticket has no team and counts for "all teams" only).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = ("received_at", "metric", "score", "rating", "touchpoint", "kind", "in_reply_to", "team")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _hour(column: str) -> str:
    if _postgresql():
        return f"date_trunc('hour', {column})"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def _insert(t: str, sign: str, source: str = "", *, team: bool = True) -> str:
    with_team = ", team" if team else ""
    team_value = f", {t}.team" if team else ""
    return (f"INSERT INTO feedback_hourly (hour, metric, score, rating, touchpoint, kind{with_team}, n) "
            f"SELECT {_hour(f'{t}.received_at')}, {t}.metric, {t}.score, {t}.rating, {t}.touchpoint, {t}.kind"
            f"{team_value}, {sign} {source}WHERE {t}.in_reply_to IS NULL")


def _drop_triggers() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS feedback_aggregates ON feedback")
        op.execute("DROP FUNCTION IF EXISTS closeloop_feedback_aggregates()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS feedback_aggregates_{name}")


def _create_triggers(columns: tuple[str, ...], *, team: bool) -> None:
    add, remove = _insert("NEW", "1", team=team), _insert("OLD", "-1", team=team)
    if _postgresql():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        op.execute(f"""
CREATE FUNCTION closeloop_feedback_aggregates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND ({changed})) THEN
        {remove};
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND ({changed})) THEN
        {add};
    END IF;
    RETURN NULL;
END $$""")
        op.execute("CREATE TRIGGER feedback_aggregates AFTER INSERT OR UPDATE OR DELETE ON feedback "
                   "FOR EACH ROW EXECUTE FUNCTION closeloop_feedback_aggregates()")
        return
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    op.execute(f"CREATE TRIGGER feedback_aggregates_insert AFTER INSERT ON feedback BEGIN {add}; END")
    op.execute(f"CREATE TRIGGER feedback_aggregates_delete AFTER DELETE ON feedback BEGIN {remove}; END")
    op.execute(f"CREATE TRIGGER feedback_aggregates_update AFTER UPDATE ON feedback "
               f"WHEN {changed} BEGIN {remove}; {add}; END")


def upgrade() -> None:
    # plain ADD COLUMNs (SQLite has them): a batch rebuild of the tables would drop their triggers
    op.add_column('feedback', sa.Column('team', sa.String(length=100), nullable=True))
    op.add_column('feedback_hourly', sa.Column('team', sa.String(length=100), nullable=True))
    _drop_triggers()
    op.execute("UPDATE feedback SET team = (SELECT t.team FROM tickets t WHERE t.feedback_id = feedback.id) "
               "WHERE EXISTS (SELECT 1 FROM tickets t WHERE t.feedback_id = feedback.id)")
    op.execute("DELETE FROM feedback_hourly")
    op.execute(_insert("t", "1", "FROM feedback t "))
    _create_triggers(COLUMNS, team=True)


def downgrade() -> None:
    _drop_triggers()
    op.execute("DELETE FROM feedback_hourly")
    op.drop_column('feedback_hourly', 'team')
    op.drop_column('feedback', 'team')
    op.execute(_insert("t", "1", "FROM feedback t ", team=False))
    _create_triggers(COLUMNS[:-1], team=False)
