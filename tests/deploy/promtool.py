"""Running ``promtool`` from tests, or skipping with the reason when this machine lacks it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def promtool() -> str:
    """The promtool binary, or a skip saying it is missing."""
    path = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if path is None:
        pytest.skip("needs promtool (Debian package 'prometheus'), which this machine lacks")
    return path


def check_metrics(text: str) -> str:
    """Run ``promtool check metrics`` on an exposition; fail with its complaints, return its output."""
    result = subprocess.run([promtool(), "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0 and not output.strip(), f"promtool check metrics rejected it:\n{output}"
    return output
