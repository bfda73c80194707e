"""``python -m shared.migrations_cli <service> upgrade|revision -m MSG|check``: Alembic per service."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

SERVICES = ("intake", "triage", "notify")


def alembic_config(service: str, url: str) -> Config:
    """An Alembic config for ``service``'s migrations against ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "services" / service
                                               / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def database_url(service: str) -> str:
    """The service's configured database URL."""
    module = importlib.import_module(f"services.{service}.config")
    return module.load_settings().database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply or create a service's database migrations.")
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("action", choices=("upgrade", "revision", "check"))
    parser.add_argument("-m", "--message", default="change")
    parser.add_argument("--url", help="database URL (default: the service's configured one)")
    args = parser.parse_args(argv)
    cfg = alembic_config(args.service, args.url or database_url(args.service))
    if args.action == "upgrade":
        command.upgrade(cfg, "head")
    elif args.action == "revision":
        command.revision(cfg, message=args.message, autogenerate=True)
    else:
        command.check(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
