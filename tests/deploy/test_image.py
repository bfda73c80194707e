"""What the Dockerfile ships: the project installed as a wheel, outside the source tree.

There is no container engine on the test machine, so this checks the part of the image that is
ours: the image's second stage holds only ``pip install --no-deps .`` of the project, so every
file the services read at run time (templates, migrations, Alembic's script template, static
assets) must be inside the wheel, and the Dockerfile must copy the sources that wheel is built
from and the org file its ``ORG_CONFIG`` points at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support import ROOT

RUNTIME_FILES = ("*.html", "*.txt", "*.mako", "*.css", "*.js", "*.ini", "versions/*.py")


def test_the_wheel_holds_every_file_the_services_read_at_run_time(tmp_path: Path) -> None:
    source = tmp_path / "src"  # what the Dockerfile's build stage copies, and nothing left from a local build
    source.mkdir()
    for name in ("requirements.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, source / name)
    for package in ("shared", "services"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path),
                    str(source)], check=True, timeout=300)
    (wheel,) = tmp_path.glob("closeloop-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    needed = {str(path.relative_to(ROOT)) for package in ("shared", "services") for pattern in RUNTIME_FILES
              for path in (ROOT / package).rglob(pattern) if "__pycache__" not in path.parts}
    assert any(name.endswith("0001_initial_schema.py") for name in needed)  # the patterns do find things
    assert any(name.endswith("templates/dashboard.html") for name in needed)
    assert sorted(needed - shipped) == []


def test_the_dockerfile_copies_what_the_wheel_and_the_roles_need() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = {src for line in re.findall(r"^COPY (?!--from)(.+)$", dockerfile, re.MULTILINE)
              for src in line.split()[:-1]}
    assert {"requirements.txt", "pyproject.toml", "shared", "services"} <= copied
    org = re.search(r"^COPY (\S+) /etc/closeloop/org.yaml$", dockerfile, re.MULTILINE)
    assert org is not None and (ROOT / org.group(1)).is_file()
    assert "ORG_CONFIG=/etc/closeloop/org.yaml" in dockerfile
    assert re.search(r"^USER \d+:\d+$", dockerfile, re.MULTILINE), "the image must not run as root"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert not {"shared", "services", "config", "requirements.txt", "pyproject.toml"} & set(ignored)
