"""The ``python -m services.<name> <role>`` entry point, the same for every service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from shared.logs import configure_logging
from shared.org import OrgConfigError
from shared.runner import ROLES, ServiceParts, run
from shared.settings import ConfigError


def main(name: str, load_settings: Callable[[], Any], build: Callable[[Any], ServiceParts],
         argv: list[str] | None = None) -> int:
    """Parse the role, read settings (failing fast and naming the variable), and run."""
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}", description=f"Run Closeloop {name}.")
    parser.add_argument("role", help=f"{', '.join(ROLES[:-1])}, a role of this service's own, or all of "
                                     "them in one process")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.common.log_level, service=name)
    try:
        parts = build(settings)
    except OrgConfigError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    return run(parts, args.role, metrics_port=settings.common.metrics_port)
