"""The body of every service's Alembic ``env.py``: online migrations, batch mode for SQLite."""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData, pool

from shared.db import make_engine


def run_migrations(target_metadata: MetaData) -> None:
    """Run migrations for ``target_metadata`` against the URL in the Alembic config."""
    url = context.config.get_main_option("sqlalchemy.url") or ""
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, render_as_batch=True,
                          literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
