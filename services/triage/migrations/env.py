"""Alembic environment for the triage database."""

from services.triage import report_models  # noqa: F401  (the summary's indexes)
from services.triage.models import Base
from shared.alembic_env import run_migrations

run_migrations(Base.metadata)
