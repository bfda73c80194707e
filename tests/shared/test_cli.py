"""A service on a database that was never migrated: production roles say what to run, `all` migrates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT


def test_a_production_role_on_an_unmigrated_database_exits_with_one_line_naming_the_command(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TRIAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", "CLOSELOOP_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-m", "services.triage", "consume"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "not migrated" in lines[0] and "python -m shared.migrations_cli triage upgrade" in lines[0]
    assert "Traceback" not in done.stdout + done.stderr


def test_the_all_role_migrates_a_fresh_database_at_start(tmp_path: Path) -> None:
    from shared.cli import migrate, schema_problem

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert schema_problem("triage", url) is not None
    migrate("triage", url)  # what `all` does before it builds the service
    assert schema_problem("triage", url) is None
