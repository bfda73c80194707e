"""``python -m shared.migrations_cli <service> upgrade|revision -m MSG|check``: Alembic per service.

A service is any package under ``services/`` with a ``migrations`` folder (its Alembic scripts)
and a ``config.load_settings()`` whose ``database_url`` names its database: adding a service
needs no change here.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

SERVICE_PACKAGE = "services"


def migrations_folder(service: str) -> Path:
    """The Alembic scripts of ``service``; raise ``LookupError`` if it has none."""
    spec = importlib.util.find_spec(f"{SERVICE_PACKAGE}.{service}")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"no service {service!r}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "migrations"
    if not folder.is_dir():
        raise LookupError(f"service {service!r} has no migrations folder")
    return folder


def services() -> tuple[str, ...]:
    """Every service that has migrations, by name."""
    package = importlib.import_module(SERVICE_PACKAGE)
    return tuple(sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                        if info.ispkg and _has_migrations(info.name)))


def _has_migrations(service: str) -> bool:
    try:
        migrations_folder(service)
    except LookupError:
        return False
    return True


def alembic_config(service: str, url: str) -> Config:
    """An Alembic config for ``service``'s migrations against ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_folder(service)))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def database_url(service: str) -> str:
    """The service's configured database URL."""
    module = importlib.import_module(f"{SERVICE_PACKAGE}.{service}.config")
    return str(module.load_settings().database_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply or create a service's database migrations.")
    parser.add_argument("service", choices=services())
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
