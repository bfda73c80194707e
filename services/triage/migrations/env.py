"""Alembic environment for the triage database."""

from services.triage.database import Base, load_models
from shared.alembic_env import run_migrations

load_models()  # every domain's tables and indexes
run_migrations(Base.metadata)
