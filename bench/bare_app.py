"""The baseline for intake: a bare Flask JSON endpoint, served exactly as intake's ``web`` role is.

``python -m bench.bare_app PORT`` runs it under gunicorn (gthread, same workers and threads as
:mod:`shared.runner` gives the services), so the ratio intake ÷ bare isolates what intake does
per request (validation, the database transaction, the outbox) from the server and the framework.
"""

from __future__ import annotations

import sys
import uuid
from typing import Any

from flask import Flask, jsonify, request


def create_app() -> Flask:
    """A JSON endpoint that parses the body and answers 202 with an id, nothing more."""
    app = Flask(__name__)

    @app.post("/api/v1/feedback")
    def accept() -> Any:
        body = request.get_json()
        return jsonify(id=str(uuid.uuid4()), status="received", fields=len(body)), 202

    return app


def main(argv: list[str]) -> int:
    from gunicorn.app.base import BaseApplication

    port, workers, threads = int(argv[0]), int(argv[1]), int(argv[2])

    class _App(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("keepalive", 5)
            self.cfg.set("reuse_port", True)  # as shared.runner serves the services
            self.cfg.set("accesslog", None)

        def load(self) -> Any:
            return create_app()

    _App().run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
