"""The ``python -m services.<name> <role>`` entry point, the same for every service."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from shared.logs import configure_logging
from shared.org import OrgConfigError
from shared.runner import ROLES, ServiceParts, prepare_web_metrics, run
from shared.settings import ConfigError


def main(name: str, load_settings: Callable[[], Any], build: str | Callable[[Any], ServiceParts],
         argv: list[str] | None = None) -> int:
    """Parse the role, read settings (failing fast and naming the variable), and run.

    ``build`` makes the service's parts from its settings: a function, or ``"module:Service"``
    naming a class whose instances (built from the settings) have ``parts()``. Given as a name,
    the service's modules are imported only once the role is known, so that the ``web`` role's
    metrics are set up for several workers before ``prometheus_client`` is first imported.
    """
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}", description=f"Run Closeloop {name}.")
    parser.add_argument("role", help=f"{', '.join(ROLES[:-1])}, a role of this service's own, or all of "
                                     "them in one process")
    args = parser.parse_args(argv)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client switches to multiprocess files when the variable exists at all: set but
        # empty, it would write them into the working directory
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.common.log_level, service=name)
    if args.role == "web":
        prepare_web_metrics()
    try:
        parts = _built(build, settings)
    except OrgConfigError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    return run(parts, args.role, metrics_port=settings.common.metrics_port)


def _built(build: str | Callable[[Any], ServiceParts], settings: Any) -> ServiceParts:
    if callable(build):
        return build(settings)
    module, _, service = build.partition(":")
    parts: ServiceParts = getattr(importlib.import_module(module), service)(settings).parts()
    return parts
